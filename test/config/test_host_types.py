"""Per-domain settings: static hosts, host types and dynamic domains (Config.host_type_of)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from .helpers import parse

TEXT = """
[general]
  hosts = ["a.com"]
  host_types = ["type1", "type2"]
  default_server_domain = "a.com"

[auth]
  methods = ["internal"]
  sasl_mechanisms = ["plain", "scram_sha256"]

[acl]
  admin = [{user = "root"}]

[access]
  c2s = [{acl = "all", value = "allow"}]

[s2s]
  default_policy = "allow"

[[host_config]]
  host_type = "type1"
  [host_config.auth]
    methods = ["internal"]
    sasl_mechanisms = ["scram_sha256"]
  [host_config.acl]
    blocked = [{user = "mallory"}]
  [host_config.access]
    c2s = [{acl = "blocked", value = "deny"}]
  [host_config.s2s]
    default_policy = "deny"
  [host_config.general]
    replaced_wait_timeout = 3000

[[host_config]]
  host = "a.com"
  [host_config.acl]
    blocked = [{user = "trudy"}]
  [host_config.access]
    c2s = [{acl = "blocked", value = "deny"}]
"""

#: The node's domain table as the config sees it.
DYNAMIC = {"one.example": "type1", "two.example": "type2", "gone.example": "type3"}


class HostTypeOfTests(SynchronousTestCase):
    """Which host type's settings a domain takes."""

    def setUp(self):
        self.static = parse(TEXT)
        self.config = self.static.with_dynamic_domains(DYNAMIC.get)

    def test_static_hosts_and_host_types_are_their_own(self):
        """A static host and a host type name themselves."""
        self.assertEqual(self.config.host_type_of("a.com"), "a.com")
        self.assertEqual(self.config.host_type_of("type2"), "type2")

    def test_dynamic_domains_take_their_host_type(self):
        """A dynamic domain resolves to the host type it was added with."""
        self.assertEqual(self.config.host_type_of("one.example"), "type1")
        self.assertEqual(self.config.host_type_of("two.example"), "type2")

    def test_unknown_domains(self):
        """Unknown domains, and a host type no longer configured, resolve to None."""
        self.assertIsNone(self.config.host_type_of("other.org"))
        self.assertIsNone(self.config.host_type_of("gone.example"))
        self.assertIsNone(self.static.host_type_of("one.example"))
        self.assertRaises(KeyError, self.config.auth_for, "gone.example")

    def test_lookup_does_not_change_equality(self):
        """The lookup is not part of the value: both configs compare equal."""
        self.assertEqual(self.config, self.static)


class DomainSettingsTests(SynchronousTestCase):
    """A dynamic domain gets its host type's host_config, a static host its own."""

    def setUp(self):
        self.config = parse(TEXT).with_dynamic_domains(DYNAMIC.get)

    def test_auth(self):
        """host_config.auth of the host type replaces [auth] for its domains only."""
        self.assertEqual(self.config.auth_for("one.example").sasl_mechanisms, ("scram_sha256",))
        self.assertEqual(self.config.auth_for("two.example").sasl_mechanisms,
                         ("plain", "scram_sha256"))
        self.assertEqual(self.config.auth_for("a.com").sasl_mechanisms,
                         ("plain", "scram_sha256"))

    def test_acl_and_access(self):
        """The host type's classes and clauses join the top-level ones."""
        users = [p.user for p in self.config.acl_for("one.example").blocked]
        self.assertEqual(users, ["mallory"])
        self.assertEqual([p.user for p in self.config.acl_for("a.com").blocked], ["trudy"])
        self.assertNotIn("blocked", self.config.acl_for("two.example"))
        c2s = [(c.acl, c.value) for c in self.config.access_for("one.example").c2s]
        self.assertEqual(c2s, [("blocked", "deny"), ("all", "allow")])

    def test_s2s_and_general(self):
        """host_config.s2s and host_config.general follow the host type too."""
        self.assertEqual(self.config.s2s_for("one.example").default_policy, "deny")
        self.assertEqual(self.config.s2s_for("two.example").default_policy, "allow")
        self.assertEqual(self.config.s2s_for("a.com").default_policy, "allow")
        self.assertEqual(self.config.general_for("one.example").replaced_wait_timeout, 3000)
        self.assertNotEqual(self.config.general_for("a.com").replaced_wait_timeout, 3000)


class ShaperTests(SynchronousTestCase):
    """A c2s listener's shaper takes the host_config.shaper of a dynamic domain's host type."""

    def test_shaper_rate_follows_the_host_type(self):
        """type1 redefines the ``normal`` shaper for its domains only."""
        from mongoose.acl import AccessRules
        from mongoose.c2s.shaper import ShaperResolver

        text = TEXT + (
            "[shaper.normal]\n  max_rate = 1000\n"
            '[[host_config]]\n  host_type = "type2"\n'
            "  [host_config.shaper.normal]\n    max_rate = 50\n"
        )
        config = parse(text).with_dynamic_domains(DYNAMIC.get)
        resolver = ShaperResolver("normal", config, AccessRules(config))
        self.assertEqual(resolver.rate("two.example"), 50)
        self.assertEqual(resolver.rate("one.example"), 1000)
        self.assertEqual(resolver.rate("a.com"), 1000)
        self.assertEqual(resolver.rate("other.org"), 1000)


class S2SManagerSettingsTests(SynchronousTestCase):
    """The s2s manager caches settings per host type, not per domain."""

    def test_domain_readded_with_another_type(self):
        """A dynamic domain that changes host type gets the new type's s2s settings at once."""
        from twisted.internet.task import Clock

        from mongoose.s2s.manager import S2SManager

        table = dict(DYNAMIC)
        config = parse(TEXT).with_dynamic_domains(table.get)
        manager = S2SManager(config, router=None, clock=Clock(), serves_domain=lambda d: True)
        self.assertEqual(manager.settings_for("one.example").default_policy, "deny")
        table["one.example"] = "type2"  # removed, then added again as type2
        self.assertEqual(manager.settings_for("one.example").default_policy, "allow")

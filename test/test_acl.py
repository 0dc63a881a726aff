"""Tests for mongoose.acl: MongooseIM access classes and access rules."""

from twisted.trial.unittest import SynchronousTestCase

from mongoose.acl import AccessRules
from mongoose.config.loader import parse_config
from mongoose.xmpp.jid import JID
from test.config.test_host_types import DYNAMIC, TEXT

BASE = """
[general]
  hosts = ["localhost", "example.net"]
  default_server_domain = "localhost"
"""


def rules(text: str) -> AccessRules:
    """AccessRules for BASE plus ``text``."""
    return AccessRules(parse_config(BASE + text))


def jid(text: str) -> JID:
    """Parse a JID."""
    return JID.parse(text)


class RuleTests(SynchronousTestCase):
    """Rules: clauses in order, built-in rules, defaults and values."""

    def test_builtin_rules(self):
        """'all' allows and 'none' denies without any definition."""
        access = rules("")
        self.assertEqual(access.match("all", "localhost", jid("a@localhost")), "allow")
        self.assertEqual(access.match("none", "localhost", jid("a@localhost")), "deny")
        self.assertTrue(access.allowed("all", "localhost", None))

    def test_undefined_rule_gives_default(self):
        """An undefined rule answers the default: deny unless another is given."""
        access = rules("")
        self.assertEqual(access.match("c2s", "localhost", jid("a@localhost")), "deny")
        self.assertIsNone(access.match("max_user_sessions", "localhost", None, default=None))
        self.assertFalse(access.allowed("c2s", "localhost", jid("a@localhost")))

    def test_first_matching_clause_wins(self):
        """Clauses are tried in order; a later catch-all does not override an earlier match."""
        access = rules(
            """
            [acl]
              blocked = [{user = "mallory"}]
            [access]
              c2s = [{acl = "blocked", value = "deny"}, {acl = "all", value = "allow"}]
            """
        )
        self.assertFalse(access.allowed("c2s", "localhost", jid("mallory@localhost")))
        self.assertTrue(access.allowed("c2s", "localhost", jid("alice@localhost")))

    def test_no_clause_matches(self):
        """When no clause holds the user the rule answers the default."""
        access = rules(
            """
            [acl]
              admin = [{user = "root"}]
            [access]
              shaper = [{acl = "admin", value = "fast"}]
            """
        )
        self.assertEqual(access.match("shaper", "localhost", jid("root@localhost")), "fast")
        self.assertEqual(
            access.match("shaper", "localhost", jid("bob@localhost"), default="none"), "none"
        )

    def test_numeric_values(self):
        """A rule may answer a number (e.g. max_user_sessions)."""
        access = rules(
            """
            [acl]
              admin = [{user = "root"}]
            [access]
              max_user_sessions = [{acl = "admin", value = 100}, {acl = "all", value = 10}]
            """
        )
        self.assertEqual(access.match("max_user_sessions", "localhost", jid("root@localhost")), 100)
        self.assertEqual(access.match("max_user_sessions", "localhost", jid("bob@localhost")), 10)

    def test_ip_is_accepted_and_ignored(self):
        """The ip argument changes nothing: MongooseIM has no IP patterns."""
        access = rules('[access]\n  c2s = [{acl = "all", value = "allow"}]\n')
        self.assertTrue(access.allowed("c2s", "localhost", jid("a@localhost"), ip="10.0.0.1"))
        self.assertEqual(access.match("c2s", "localhost", None, ip="::1"), "allow")


class PatternTests(SynchronousTestCase):
    """Access class patterns as described in MongooseIM's "Options: Acl"."""

    def classes(self, patterns: str) -> AccessRules:
        """Rules with one class 'x' made of ``patterns`` (a TOML array)."""
        return rules(f"[acl]\n  x = {patterns}\n")

    def test_empty_pattern_is_current_domain(self):
        """{} holds the users of the checked domain only."""
        access = self.classes("[{}]")
        self.assertTrue(access.acl_matches("x", "localhost", jid("alice@localhost")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("alice@example.net")))
        self.assertTrue(access.acl_matches("x", "example.net", jid("alice@example.net")))

    def test_any_hosted_domain(self):
        """any_hosted_domain holds users of every local domain, not remote ones."""
        access = self.classes('[{match = "any_hosted_domain"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("alice@example.net")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("alice@remote.org")))

    def test_match_all_and_none(self):
        """match = all holds remote users too; match = none holds nobody."""
        access = rules('[acl]\n  everyone = [{match = "all"}]\n  nobody = [{match = "none"}]\n')
        self.assertTrue(access.acl_matches("everyone", "localhost", jid("x@remote.org")))
        self.assertTrue(access.acl_matches("everyone", "localhost", None))
        self.assertFalse(access.acl_matches("nobody", "localhost", jid("x@localhost")))

    def test_builtin_and_undefined_classes(self):
        """'all' and 'none' need no definition; an undefined class holds nobody."""
        access = rules("")
        self.assertTrue(access.acl_matches("all", "localhost", jid("x@remote.org")))
        self.assertFalse(access.acl_matches("none", "localhost", jid("x@localhost")))
        self.assertFalse(access.acl_matches("admin", "localhost", jid("x@localhost")))

    def test_user_literal_is_prepared(self):
        """user = "Alice" holds alice: literals are compared in their prepared form."""
        access = self.classes('[{user = "Alice"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("alice@localhost")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("alicia@localhost")))

    def test_user_and_server(self):
        """user and server together must both hold (with match = all for other domains)."""
        access = self.classes('[{user = "admin", server = "example.net", match = "all"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("admin@example.net")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("admin@localhost")))

    def test_server_with_current_domain(self):
        """server narrows the default current_domain, so another domain never matches."""
        access = self.classes('[{server = "example.net"}]')
        self.assertFalse(access.acl_matches("x", "localhost", jid("a@example.net")))
        self.assertTrue(access.acl_matches("x", "example.net", jid("a@example.net")))

    def test_resource(self):
        """resource holds full JIDs with that resource only."""
        access = self.classes('[{resource = "mobile"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("a@localhost/mobile")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("a@localhost/home")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("a@localhost")))

    def test_regexp_searches(self):
        """A regexp is searched anywhere in the part, as Erlang's re:run does."""
        access = self.classes('[{user_regexp = "^ad"}, {user_regexp = "bot$"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("admin@localhost")))
        self.assertTrue(access.acl_matches("x", "localhost", jid("chatbot@localhost")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("pad@localhost")))
        loose = self.classes('[{user_regexp = "min"}]')
        self.assertTrue(loose.acl_matches("x", "localhost", jid("admin@localhost")))

    def test_regexp_alias_spelling(self):
        """user_regex (MongooseIM's other spelling) works like user_regexp."""
        access = self.classes('[{user_regex = "^ad"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("admin@localhost")))

    def test_glob_matches_whole_part(self):
        """A glob must cover the whole part."""
        access = self.classes('[{user_glob = "ad*"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("admin@localhost")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("badmin@localhost")))
        server = self.classes('[{server_glob = "*.net", match = "all"}]')
        self.assertTrue(server.acl_matches("x", "localhost", jid("a@example.net")))
        self.assertFalse(server.acl_matches("x", "localhost", jid("a@example.net.org")))

    def test_resource_regexp(self):
        """resource_regexp narrows by resource."""
        access = self.classes('[{resource_regexp = "^phone-"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("a@localhost/phone-1")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("a@localhost/desk")))

    def test_union_of_patterns(self):
        """A class holds whoever any of its patterns holds."""
        access = self.classes('[{user = "alice"}, {user = "bob"}]')
        self.assertTrue(access.acl_matches("x", "localhost", jid("alice@localhost")))
        self.assertTrue(access.acl_matches("x", "localhost", jid("bob@localhost")))
        self.assertFalse(access.acl_matches("x", "localhost", jid("carol@localhost")))

    def test_no_jid(self):
        """Without a JID only condition-free match = all patterns hold."""
        access = self.classes('[{}, {user = "a"}]')
        self.assertFalse(access.acl_matches("x", "localhost", None))

    def test_bad_regexp_matches_nobody(self):
        """A regexp that does not compile matches nobody instead of failing."""
        access = self.classes('[{user_regexp = "(unclosed"}]')
        self.assertFalse(access.acl_matches("x", "localhost", jid("unclosed@localhost")))


class HostConfigTests(SynchronousTestCase):
    """host_config adds classes and clauses for its host only."""

    def setUp(self):
        self.access = rules(
            """
            [acl]
              admin = [{user = "root"}]
            [access]
              c2s = [{acl = "all", value = "allow"}]
            [[host_config]]
              host = "example.net"
              [host_config.acl]
                admin = [{user = "boss"}]
                blocked = [{user = "mallory"}]
              [host_config.access]
                c2s = [{acl = "blocked", value = "deny"}]
            """
        )

    def test_host_clause_before_catch_all(self):
        """The host's deny clause runs before the top-level catch-all allow."""
        self.assertFalse(self.access.allowed("c2s", "example.net", jid("mallory@example.net")))
        self.assertTrue(self.access.allowed("c2s", "example.net", jid("alice@example.net")))
        self.assertTrue(self.access.allowed("c2s", "localhost", jid("mallory@localhost")))

    def test_host_patterns_join_global_ones(self):
        """A class defined at both levels holds the users of both on that host."""
        self.assertTrue(self.access.acl_matches("admin", "example.net", jid("boss@example.net")))
        self.assertTrue(self.access.acl_matches("admin", "example.net", jid("root@example.net")))
        self.assertFalse(self.access.acl_matches("admin", "localhost", jid("boss@localhost")))

    def test_unknown_host_uses_global_section(self):
        """A domain that is not configured sees only the top-level definitions."""
        self.assertTrue(self.access.acl_matches("admin", "other.org", jid("root@other.org")))
        self.assertTrue(self.access.allowed("c2s", "other.org", jid("mallory@other.org")))


class DynamicDomainTests(SynchronousTestCase):
    """Dynamic domains take the ACL and access rules of their host type."""

    def setUp(self):
        self.domains = dict(DYNAMIC)
        config = parse_config(TEXT).with_dynamic_domains(self.domains.get)
        served = {"a.com", "one.example", "two.example"}
        self.access = AccessRules(config, hosted=served.__contains__)

    def test_rules_follow_the_host_type(self):
        """mallory is denied on a type1 domain only, trudy on the static host only."""
        def allowed(user, domain):
            return self.access.allowed("c2s", domain, JID.from_parts(user, domain))

        self.assertFalse(allowed("mallory", "one.example"))
        self.assertTrue(allowed("mallory", "two.example"))
        self.assertTrue(allowed("mallory", "a.com"))
        self.assertFalse(allowed("trudy", "a.com"))
        self.assertTrue(allowed("trudy", "one.example"))

    def test_domain_added_again_with_another_type(self):
        """Settings are cached per host type, so a domain's new type applies at once."""
        mallory = JID.from_parts("mallory", "one.example")
        self.assertFalse(self.access.allowed("c2s", "one.example", mallory))
        self.domains["one.example"] = "type2"
        self.assertTrue(self.access.allowed("c2s", "one.example", mallory))

    def test_any_hosted_domain_covers_dynamic_domains(self):
        """``any_hosted_domain`` holds users of every served domain, dynamic ones included."""
        text = TEXT.replace('admin = [{user = "root"}]',
                            'admin = [{user = "root"}]\n  local = [{match = "any_hosted_domain"}]')
        config = parse_config(text).with_dynamic_domains(self.domains.get)
        access = AccessRules(config, hosted={"a.com", "one.example"}.__contains__)
        self.assertTrue(access.acl_matches("local", "a.com", JID.parse("u@one.example")))
        self.assertFalse(access.acl_matches("local", "a.com", JID.parse("u@two.example")))
        self.assertFalse(access.acl_matches("local", "a.com", JID.parse("u@other.org")))
        # Without the node's check, only general.hosts count.
        static = AccessRules(config)
        self.assertTrue(static.acl_matches("local", "a.com", JID.parse("u@a.com")))
        self.assertFalse(static.acl_matches("local", "a.com", JID.parse("u@one.example")))

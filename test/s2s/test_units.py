"""Dialback keys, settings from config, stanza namespaces and SRV resolution."""

from __future__ import annotations

from twisted.internet import defer
from twisted.names import dns, error
from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.config.loader import parse_config
from mongoose.s2s.dialback import dialback_key, key_matches
from mongoose.s2s.resolver import Target, resolve
from mongoose.s2s.settings import incoming_tls, settings_from_options
from mongoose.s2s.stanzas import from_server, to_server
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.namespaces import NS_CLIENT, NS_SERVER
from mongoose.xmpp.serialize import element_to_str

_BASE = """
[general]
  hosts = ["a.test"]
  default_server_domain = "a.test"
[auth]
  methods = ["internal"]
[auth.internal]
"""


def _s2s(toml: str):
    return parse_config(_BASE + toml).options["s2s"]


class DialbackKeyTests(SynchronousTestCase):
    """XEP-0185 keys."""

    def test_xep_0185_inputs(self):
        """The XEP-0185 example inputs give the key computed with the openssl command line.

        ``openssl dgst -sha256 -hmac $(sha256 hex of the secret)`` over
        ``"domain2.tld domain1.tld D60000229F"``.
        """
        self.assertEqual(
            dialback_key("s3cr3tf0rd14lb4ck", "domain2.tld", "domain1.tld", "D60000229F"),
            "5e598fae34b90be084fb6a4a8a543ceb33549140bac9d829ef8d734d900616e4",
        )

    def test_key_matches(self):
        """A key checks out only for the same secret, domains and stream id."""
        key = dialback_key("s", "b.test", "a.test", "id1")
        self.assertTrue(key_matches("s", "b.test", "a.test", "id1", key))
        self.assertFalse(key_matches("other", "b.test", "a.test", "id1", key))
        self.assertFalse(key_matches("s", "b.test", "a.test", "id2", key))
        self.assertFalse(key_matches("s", "c.test", "a.test", "id1", key))


class SettingsTests(SynchronousTestCase):
    """[s2s] options become per-domain settings."""

    def test_defaults(self):
        """Without options: allow all, port 5269, no TLS, the start-up secret."""
        settings = settings_from_options(_s2s(""), "random")
        self.assertEqual(settings.shared, "random")
        self.assertTrue(settings.allows("anything.example"))
        self.assertEqual(settings.port, 5269)
        self.assertEqual(settings.tls.mode, "none")
        self.assertEqual(settings.stream_timeout, 600.0)

    def test_policy_and_addresses(self):
        """host_policy overrides default_policy; address entries keep their port."""
        settings = settings_from_options(
            _s2s(
                """
[s2s]
  default_policy = "deny"
  shared = "k"
  host_policy = [{host = "friend.test", policy = "allow"}]
  outgoing.port = 5999
  [[s2s.outgoing.address]]
    host = "friend.test"
    ip_address = "10.0.0.1"
  [[s2s.outgoing.address]]
    host = "friend.test"
    ip_address = "10.0.0.2"
    port = 6000
"""
            ),
            "random",
        )
        self.assertEqual(settings.shared, "k")
        self.assertTrue(settings.allows("friend.test"))
        self.assertFalse(settings.allows("stranger.test"))
        self.assertEqual(
            settings.addresses["friend.test"], [("10.0.0.1", 5999, False), ("10.0.0.2", 6000, False)]
        )

    def test_legacy_use_starttls(self):
        """use_starttls maps onto outgoing TLS modes; required_trusted verifies the peer."""
        cases = {
            "false": ("none", "none"),
            "optional": ("starttls", "none"),
            "required": ("starttls_required", "none"),
            "required_trusted": ("starttls_required", "peer"),
        }
        for value, (mode, verify) in cases.items():
            tls = settings_from_options(
                _s2s(f'[s2s]\n  use_starttls = "{value}"\n'), "x"
            ).tls
            self.assertEqual((tls.mode, tls.options.get("verify_mode")), (mode, verify))

    def test_outgoing_tls_table_wins(self):
        """s2s.outgoing.tls takes precedence over use_starttls."""
        tls = settings_from_options(
            _s2s('[s2s]\n  use_starttls = "false"\n  outgoing.tls.mode = "tls"\n'), "x"
        ).tls
        self.assertEqual(tls.mode, "tls")

    def test_incoming_tls_legacy_needs_certfile(self):
        """The legacy spelling offers TLS on the listener only with s2s.certfile."""
        self.assertEqual(incoming_tls({}, {"use_starttls": "required"}).mode, "none")
        tls = incoming_tls({}, {"use_starttls": "required", "certfile": "/x.pem"})
        self.assertEqual((tls.mode, tls.options["certfile"]), ("starttls_required", "/x.pem"))
        self.assertEqual(incoming_tls({"tls": {"mode": "tls"}}, {}).options["verify_mode"], "none")

    def test_incoming_tls_asks_for_certificates(self):
        """verify_mode is kept (peer certificates enable SASL EXTERNAL); failures never disconnect."""
        listener = parse_config(
            _BASE + '[[listen.s2s]]\n  port = 5269\n  tls.certfile = "/c.pem"\n'
        ).options["listen"]["s2s"][0]
        tls = incoming_tls(listener, {})
        self.assertEqual(tls.options["verify_mode"], "peer")
        self.assertIs(tls.options["disconnect_on_failure"], False)
        legacy = incoming_tls({}, {"use_starttls": "required_trusted", "certfile": "/x.pem"})
        self.assertEqual(legacy.options["verify_mode"], "peer")
        self.assertEqual(
            incoming_tls({}, {"use_starttls": "optional", "certfile": "/x.pem"})
            .options["verify_mode"],
            "none",
        )

    def test_retry_and_ip_versions(self):
        """max_retry_delay (both spellings) and ip_versions reach the settings."""
        settings = settings_from_options(
            _s2s("[s2s]\n  outgoing.max_retry_delay = 30\n  outgoing.ip_versions = [6]\n"), "x"
        )
        self.assertEqual((settings.max_retry_delay, settings.ip_versions), (30.0, (6,)))
        legacy = settings_from_options(_s2s("[s2s]\n  max_retry_delay = 7\n"), "x")
        self.assertEqual(legacy.max_retry_delay, 7.0)
        self.assertEqual(settings_from_options(_s2s(""), "x").max_retry_delay, 300.0)


class StanzaNamespaceTests(SynchronousTestCase):
    """jabber:client inside, jabber:server on the wire."""

    def test_round_trip(self):
        """A stanza is written in jabber:server, payloads untouched, and read back."""
        stanza = parse_element(
            "<message to='b@b.test' from='a@a.test'><body>x</body>"
            "<x xmlns='urn:example'/></message>",
            default_namespace=NS_CLIENT,
        )
        wire = element_to_str(to_server(stanza), default_uri=NS_SERVER)
        self.assertNotIn("jabber:client", wire)
        self.assertIn("urn:example", wire)
        self.assertEqual(stanza.uri, NS_CLIENT)
        read = from_server(parse_element(wire, default_namespace=NS_SERVER))
        self.assertEqual(read.uri, NS_CLIENT)
        self.assertEqual(next(read.elements()).uri, NS_CLIENT)


class _FakeResolver:
    def __init__(self, result):
        self.result = result
        self.asked = []

    def lookupService(self, name, timeout=None):
        self.asked.append(name)
        if isinstance(self.result, Exception):
            return defer.fail(self.result)
        answers = [
            dns.RRHeader(name, dns.SRV, payload=dns.Record_SRV(prio, weight, port, target))
            for prio, weight, port, target in self.result
        ]
        return defer.succeed((answers, [], []))


class ResolverTests(TestCase):
    """Overrides, SRV records, fall-back to the domain."""

    settings = settings_from_options(
        _s2s('[s2s]\n  [[s2s.outgoing.address]]\n    host = "fixed.test"\n'
             '    ip_address = "127.0.0.1"\n    port = 7000\n'),
        "x",
    )

    async def test_override(self):
        """An address override is used without DNS."""
        resolver = _FakeResolver([])
        targets = await resolve("fixed.test", self.settings, resolver)
        self.assertEqual(targets, [Target("127.0.0.1", 7000)])
        self.assertEqual(resolver.asked, [])

    async def test_srv_order(self):
        """SRV targets come by priority, then by weight."""
        resolver = _FakeResolver(
            [(20, 0, 5270, "backup.example"), (10, 5, 5269, "light.example"),
             (10, 50, 5269, "heavy.example")]
        )
        targets = await resolve("example", self.settings, resolver)
        self.assertEqual(resolver.asked, ["_xmpp-server._tcp.example"])
        self.assertEqual(
            [t.host for t in targets], ["heavy.example", "light.example", "backup.example"]
        )

    async def test_no_srv_falls_back(self):
        """Without SRV records (NXDOMAIN) the domain itself on port 5269 is tried."""
        targets = await resolve("plain.test", self.settings, _FakeResolver(error.DNSNameError()))
        self.assertEqual(targets, [Target("plain.test", 5269)])

    async def test_dot_target(self):
        """A single SRV record with target '.' means no XMPP service."""
        targets = await resolve("none.test", self.settings, _FakeResolver([(0, 0, 0, b"")]))
        self.assertEqual(targets, [])

"""Tests for mongoose.xmpp.sasl.mechanisms and wire: what is offered and its XML."""

from __future__ import annotations

from twisted.internet.defer import succeed
from twisted.trial.unittest import SynchronousTestCase
from twisted.words.xish.domish import Element
from zope.interface.verify import verifyObject

from mongoose.xmpp.framing import element_to_str, parse_element
from mongoose.xmpp.namespaces import NS_SASL
from mongoose.xmpp.sasl.core import Challenge, Failure, ISASLMechanism, Success
from mongoose.xmpp.sasl.mechanisms import (
    DEFAULT_SASL_MECHANISMS,
    SASLContext,
    create_mechanism,
    mechanism_names,
)
from mongoose.xmpp.sasl.wire import (
    PayloadError,
    channel_binding_element,
    encode_payload,
    failure_element,
    mechanisms_element,
    outcome_element,
    read_payload,
)

ALL_SCRAM_PLUS_INTERLEAVED = [
    "SCRAM-SHA-512-PLUS",
    "SCRAM-SHA-512",
    "SCRAM-SHA-384-PLUS",
    "SCRAM-SHA-384",
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-224-PLUS",
    "SCRAM-SHA-224",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-1",
]


class MechanismNamesTests(SynchronousTestCase):
    """mechanism_names follows auth.sasl_mechanisms and the connection's state."""

    def test_default_with_channel_binding(self):
        """The default list is MongooseIM's order, X-OAUTH left out."""
        self.assertEqual(
            mechanism_names(None, True, True, True),
            ALL_SCRAM_PLUS_INTERLEAVED + ["PLAIN", "ANONYMOUS"],
        )
        self.assertEqual(DEFAULT_SASL_MECHANISMS[-1], "oauth")

    def test_default_without_tls(self):
        """Without TLS (or without binding data) no -PLUS variant is offered."""
        plain_scram = [n for n in ALL_SCRAM_PLUS_INTERLEAVED if not n.endswith("-PLUS")]
        self.assertEqual(mechanism_names([], False, True, False), plain_scram + ["PLAIN"])
        self.assertEqual(mechanism_names(None, True, False, False), plain_scram + ["PLAIN"])

    def test_configured_order(self):
        """The configured order is the advertised order."""
        self.assertEqual(
            mechanism_names(["plain", "scram_sha1", "scram_sha256_plus"], True, True, False),
            ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS"],
        )

    def test_legacy_prefix_and_case(self):
        """The cyrsasl_ prefix of older releases is accepted."""
        self.assertEqual(
            mechanism_names(["cyrsasl_plain", "CYRSASL_SCRAM_SHA256"], False, False, False),
            ["PLAIN", "SCRAM-SHA-256"],
        )

    def test_unknown_name(self):
        """An unknown name is refused with the allowed ones listed."""
        with self.assertRaises(ValueError) as caught:
            mechanism_names(["scram_md5"], False, False, False)
        self.assertIn("scram_sha512_plus", str(caught.exception))

    def test_anonymous_and_external(self):
        """ANONYMOUS needs the anonymous method, EXTERNAL TLS and a usable certificate."""
        names = ["anonymous", "external", "plain"]
        self.assertEqual(mechanism_names(names, True, False, False), ["PLAIN"])
        self.assertEqual(
            mechanism_names(names, True, False, True, external_available=True),
            ["ANONYMOUS", "EXTERNAL", "PLAIN"],
        )
        self.assertEqual(
            mechanism_names(names, False, False, True, external_available=True),
            ["ANONYMOUS", "PLAIN"],
        )

    def test_password_format_filters(self):
        """SCRAM variants follow the stored hashes; no password method leaves none."""
        self.assertEqual(
            mechanism_names(None, True, True, False, scram_hashes=["sha256"]),
            ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"],
        )
        self.assertEqual(
            mechanism_names(None, True, True, True, password_enabled=False), ["ANONYMOUS"]
        )

    def test_not_implemented_not_offered(self):
        """digest and oauth are accepted but not offered."""
        self.assertEqual(
            mechanism_names(["digest", "oauth", "plain"], False, False, False), ["PLAIN"]
        )


class CreateMechanismTests(SynchronousTestCase):
    """create_mechanism builds a working mechanism for each advertised name."""

    def context(self, **kwargs):
        return SASLContext(
            domain="localhost",
            check_password=lambda u, p: succeed(True),
            get_scram=lambda u, h: succeed(None),
            server_secret=b"k",
            channel_bindings={"tls-exporter": b"e" * 32},
            plus_advertised=True,
            verify_external=lambda authzid: "alice",
            **kwargs,
        )

    def test_every_advertised_name(self):
        """Each name offered with TLS builds a mechanism of that name."""
        for name in mechanism_names(
            ["external"] + list(DEFAULT_SASL_MECHANISMS), True, True, True, external_available=True
        ):
            mech = create_mechanism(name, self.context())
            verifyObject(ISASLMechanism, mech)
            self.assertEqual(mech.name, name)

    def test_missing_callbacks(self):
        """A mechanism whose backend callback is missing cannot be created."""
        bare = SASLContext(domain="localhost")
        for name in ("PLAIN", "SCRAM-SHA-1", "EXTERNAL", "DIGEST-MD5", "X-OAUTH"):
            self.assertRaises(ValueError, create_mechanism, name, bare)
        self.assertEqual(create_mechanism("ANONYMOUS", bare).name, "ANONYMOUS")

    def test_context_used(self):
        """The PLAIN mechanism built from a context uses its domain and checker."""
        mech = create_mechanism("PLAIN", self.context())
        result = self.successResultOf(mech.step(b"alice@localhost\0alice\0pw"))
        self.assertEqual(result, Success(None, "alice", "alice@localhost"))


class WireTests(SynchronousTestCase):
    """The XML of SASL negotiation."""

    def test_read_payload(self):
        """Empty means no data, '=' empty data; whitespace is ignored."""
        self.assertIsNone(
            read_payload(
                parse_element(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'/>")
            )
        )
        self.assertEqual(read_payload(parse_element(b"<response>=</response>")), b"")
        self.assertEqual(
            read_payload(parse_element(b"<response> AGFs\naWNl\nAHB3 </response>")), b"\0alice\0pw"
        )
        for bad in (b"<r>!!!</r>", b"<r>AGFsaWNl=</r>", b"<r>\xc3\xa9</r>"):
            self.assertRaises(PayloadError, read_payload, parse_element(bad))

    def test_encode_payload(self):
        """Data is base64; empty data is '='."""
        self.assertEqual(encode_payload(b"\0a"), "AGE=")
        self.assertEqual(encode_payload(b""), "=")
        self.assertEqual(encode_payload(None), "")

    def test_mechanisms_element(self):
        """<mechanisms/> lists names in order."""
        self.assertEqual(
            element_to_str(mechanisms_element(["SCRAM-SHA-256", "PLAIN"])),
            "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256</mechanism>"
            "<mechanism>PLAIN</mechanism></mechanisms>",
        )

    def test_channel_binding_element(self):
        """The XEP-0440 feature lists the supported types."""
        self.assertEqual(
            element_to_str(channel_binding_element(["tls-exporter", "tls-server-end-point"])),
            "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/>"
            "<channel-binding type='tls-server-end-point'/></sasl-channel-binding>",
        )

    def test_outcomes(self):
        """Challenges, successes and failures have RFC 6120 section 6.4 shapes."""
        cases = [
            (Challenge(b""), "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
            (
                Challenge(b"r=x"),
                "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj14</challenge>",
            ),
            (Success(None, "a"), "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
            (Success(b"", "a"), "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>=</success>"),
            (
                Success(b"v=x", "a"),
                "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>dj14</success>",
            ),
            (
                Failure("not-authorized", "bad"),
                "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>bad</text></failure>",
            ),
        ]
        for outcome, xml in cases:
            self.assertEqual(element_to_str(outcome_element(outcome)), xml)
        self.assertRaises(TypeError, outcome_element, Element((NS_SASL, "x")))

    def test_failure_conditions(self):
        """Only RFC 6120 section 6.5 conditions are allowed."""
        for condition in (
            "aborted",
            "incorrect-encoding",
            "invalid-authzid",
            "invalid-mechanism",
            "malformed-request",
            "not-authorized",
            "temporary-auth-failure",
        ):
            failure_element(condition)
            Failure(condition)
        self.assertRaises(ValueError, failure_element, "nope")
        self.assertRaises(ValueError, Failure, "nope")
        lang = failure_element("aborted", "stopped", "en")
        self.assertIn("xml:lang='en'", element_to_str(lang))

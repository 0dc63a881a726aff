"""Tests for mongoose.xmpp.errors: stream errors and stanza errors (RFC 6120)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from twisted.words.xish.domish import Element

from mongoose.xmpp.errors import (
    STANZA_ERROR_CONDITIONS,
    STANZA_ERROR_TYPES,
    STREAM_ERROR_CONDITIONS,
    StanzaError,
    StreamError,
    error_reply,
    stanza_error_element,
    stream_error_element,
)
from mongoose.xmpp.framing import element_to_str, parse_element
from mongoose.xmpp.namespaces import NS_CLIENT, NS_STANZAS, NS_STREAMS, NS_XML, NS_XMPP_STREAMS

#: RFC 6120 section 4.9.3 lists 25 stream error conditions.
RFC_STREAM_CONDITIONS = """bad-format bad-namespace-prefix conflict connection-timeout host-gone
host-unknown improper-addressing internal-server-error invalid-from invalid-namespace
invalid-xml not-authorized not-well-formed policy-violation remote-connection-failed reset
resource-constraint restricted-xml see-other-host system-shutdown undefined-condition
unsupported-encoding unsupported-feature unsupported-stanza-type unsupported-version""".split()


class StreamErrorTests(SynchronousTestCase):
    """Stream errors have the shape of RFC 6120 section 4.9.2."""

    def test_all_conditions(self):
        """Every RFC 6120 condition is known and builds the same element shape."""
        self.assertEqual(STREAM_ERROR_CONDITIONS, frozenset(RFC_STREAM_CONDITIONS))
        for condition in RFC_STREAM_CONDITIONS:
            el = stream_error_element(condition)
            self.assertEqual(
                element_to_str(el),
                f"<stream:error><{condition} xmlns='{NS_XMPP_STREAMS}'/></stream:error>",
            )

    def test_text_and_lang(self):
        """Text goes in a <text/> child with xml:lang."""
        el = StreamError("host-unknown", "no such host", lang="en").to_element()
        self.assertEqual(
            element_to_str(el),
            "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>no such host</text>"
            "</stream:error>",
        )

    def test_see_other_host(self):
        """see-other-host carries the new host as character data."""
        el = stream_error_element("see-other-host", other_host="[2001:db8::1]:5222")
        self.assertEqual(str(el.firstChildElement()), "[2001:db8::1]:5222")

    def test_unknown_condition(self):
        """An unknown condition is a programming error."""
        self.assertRaises(ValueError, StreamError, "no-such-condition")
        self.assertRaises(ValueError, stream_error_element, "no-such-condition")

    def test_read_back(self):
        """A received stream error is read into condition, text, language and extras."""
        app = Element(("urn:example:app", "too-many"))
        sent = StreamError("policy-violation", "slow down", lang="en", app_condition=app)
        received = StreamError.from_element(
            parse_element(element_to_str(sent.to_element(), prefixes={}))
        )
        self.assertEqual(
            (received.condition, received.text, received.lang),
            ("policy-violation", "slow down", "en"),
        )
        self.assertEqual(received.app_condition.name, "too-many")
        self.assertEqual(str(received), "policy-violation: slow down")

    def test_read_unknown(self):
        """An unknown condition reads as undefined-condition."""
        el = Element((NS_STREAMS, "error"))
        el.addElement((NS_XMPP_STREAMS, "made-up"))
        self.assertEqual(StreamError.from_element(el).condition, "undefined-condition")


class StanzaErrorTests(SynchronousTestCase):
    """Stanza errors have the shape of RFC 6120 section 8.3.2."""

    def test_default_types(self):
        """Each of the 22 conditions has its RFC 6120 default type."""
        self.assertEqual(len(STANZA_ERROR_CONDITIONS), 22)
        expected = {
            "bad-request": "modify",
            "conflict": "cancel",
            "forbidden": "auth",
            "not-authorized": "auth",
            "recipient-unavailable": "wait",
            "remote-server-timeout": "wait",
            "resource-constraint": "wait",
            "service-unavailable": "cancel",
            "item-not-found": "cancel",
            "jid-malformed": "modify",
        }
        for condition, type_ in expected.items():
            self.assertEqual(STANZA_ERROR_TYPES[condition], type_)
        for condition in STANZA_ERROR_CONDITIONS:
            el = stanza_error_element(condition)
            self.assertEqual(el["type"], STANZA_ERROR_TYPES[condition])
            cond = el.firstChildElement()
            self.assertEqual((cond.uri, cond.name), (NS_STANZAS, condition))

    def test_shape(self):
        """Type, by, condition, text and application condition, in order."""
        app = Element(("urn:example", "quota"))
        el = stanza_error_element(
            "resource-constraint",
            "wait",
            "try later",
            lang="en",
            by="example.com",
            app_condition=app,
        )
        self.assertEqual(
            element_to_str(el),
            "<error type='wait' by='example.com'>"
            "<resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>try later</text>"
            "<quota xmlns='urn:example'/></error>",
        )

    def test_bad_values(self):
        """Unknown conditions and types are refused."""
        self.assertRaises(ValueError, StanzaError, "made-up")
        self.assertRaises(ValueError, StanzaError, "conflict", "sometimes")

    def test_gone_address(self):
        """gone and redirect carry the new address."""
        el = StanzaError("gone", address="xmpp:romeo@example.net").to_element()
        self.assertEqual(str(el.firstChildElement()), "xmpp:romeo@example.net")


class ErrorReplyTests(SynchronousTestCase):
    """error_reply answers a stanza as RFC 6120 section 8.3.1 says."""

    def stanza(self):
        return parse_element(
            b"<iq xmlns='jabber:client' type='get' id='q1' from='juliet@example.com/balcony'"
            b" to='romeo@example.net' xml:lang='en'><query xmlns='jabber:iq:roster'/></iq>"
        )

    def test_reply(self):
        """from/to are swapped, the id kept, the payload copied, the error added."""
        original = self.stanza()
        before = element_to_str(original)
        reply = error_reply(original, "service-unavailable")
        self.assertEqual(
            element_to_str(reply),
            "<iq type='error' id='q1' xml:lang='en' to='juliet@example.com/balcony'"
            " from='romeo@example.net'><query xmlns='jabber:iq:roster'/>"
            "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "</error></iq>",
        )
        self.assertEqual(element_to_str(original), before)
        self.assertEqual((reply.uri, reply.error.uri), (NS_CLIENT, NS_CLIENT))

    def test_reply_without_payload(self):
        """The payload can be left out."""
        reply = error_reply(self.stanza(), "bad-request", text="no", include_payload=False)
        self.assertEqual([c.name for c in reply.elements()], ["error"])
        self.assertEqual(reply.error["type"], "modify")

    def test_reply_to_stanza_without_addresses(self):
        """A stanza without from/to (fresh from a client) gets a reply without them."""
        stanza = parse_element(b"<message xmlns='jabber:client' id='m'/>")
        reply = error_reply(stanza, "not-acceptable", "modify")
        self.assertNotIn("from", reply.attributes)
        self.assertNotIn("to", reply.attributes)

    def test_no_error_for_error(self):
        """An error stanza is never answered with an error."""
        reply = error_reply(self.stanza(), "item-not-found")
        self.assertRaises(ValueError, error_reply, reply, "bad-request")

    def test_exception_reply_and_read_back(self):
        """StanzaError.reply_to builds the reply and from_element reads it back."""
        error = StanzaError("forbidden", text="not yours", lang="en", by="example.net")
        reply = error.reply_to(self.stanza())
        again = StanzaError.from_element(parse_element(element_to_str(reply, default_uri=None)))
        self.assertEqual(
            (again.condition, again.type, again.text, again.lang, again.by),
            ("forbidden", "auth", "not yours", "en", "example.net"),
        )
        self.assertEqual(reply.getAttribute((NS_XML, "lang")), "en")

"""Tests for mongoose.xmpp.jid: RFC 7622 addresses."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from twisted.words.protocols.jabber import jid as twisted_jid

from mongoose.xmpp.jid import JID, InvalidJID, prep_domainpart, prep_localpart

# RFC 7622 section 3.5: examples of valid JIDs (with their prepared forms).
VALID = {
    "juliet@example.com": "juliet@example.com",
    "juliet@example.com/foo": "juliet@example.com/foo",
    "juliet@example.com/foo bar": "juliet@example.com/foo bar",
    "juliet@example.com/foo@bar": "juliet@example.com/foo@bar",
    "foo\\20bar@example.com": "foo\\20bar@example.com",
    "fussball@example.com": "fussball@example.com",
    "fu\u00dfball@example.com": "fu\u00dfball@example.com",
    "\u03c0@example.com": "\u03c0@example.com",
    "\u03a3@example.com/foo": "\u03c3@example.com/foo",
    "\u03c3@example.com/foo": "\u03c3@example.com/foo",
    "\u03c2@example.com/foo": "\u03c2@example.com/foo",
    "king@example.com/\u265a": "king@example.com/\u265a",
    "example.com": "example.com",
    "example.com/foobar": "example.com/foobar",
    "a.example.com/b@example.net": "a.example.com/b@example.net",
}

# RFC 7622 section 3.5: examples of invalid JIDs.
INVALID = [
    '"juliet"@example.com',
    "foo bar@example.com",
    "@example.com/",
    "henry\u2163@example.com",
    "\u265a@example.com",
    "juliet@",
    "/foobar",
]


class ParseTests(SynchronousTestCase):
    """JID.parse prepares valid JIDs and refuses invalid ones with a reason."""

    def test_rfc7622_valid_examples(self):
        """Every valid example of RFC 7622 parses to its prepared form."""
        for text, prepared in VALID.items():
            self.assertEqual(str(JID.parse(text)), prepared, text)

    def test_rfc7622_invalid_examples(self):
        """Every invalid example of RFC 7622 is refused with a reason."""
        for text in INVALID:
            with self.assertRaises(InvalidJID, msg=text) as caught:
                JID.parse(text)
            self.assertTrue(caught.exception.reason)
            self.assertIn(repr(text), str(caught.exception))

    def test_resource_spaces(self):
        """OpaqueString keeps spaces and maps other space characters to U+0020.

        RFC 7622 lists "juliet@example.com/ foo" among invalid JIDs, but the
        OpaqueString profile it points to accepts a leading space (the
        example contradicts the profile); we follow the profile.
        """
        self.assertEqual(JID.parse("juliet@example.com/ foo").resource, " foo")
        self.assertEqual(JID.parse("juliet@example.com/a\u1680b").resource, "a b")
        self.assertRaises(InvalidJID, JID.parse, "juliet@example.com/a\x00b")

    def test_case_mapping(self):
        """Localpart and domainpart are case-folded, the resource is not."""
        jid = JID.parse("JuLiEt@ExAmPlE.CoM/BalCony")
        self.assertEqual((jid.user, jid.host, jid.resource), ("juliet", "example.com", "BalCony"))

    def test_domain_forms(self):
        """Dots, trailing dots, A-labels, full-width letters and IP literals."""
        self.assertEqual(prep_domainpart("example.com."), "example.com")
        self.assertEqual(prep_domainpart("xn--bcher-kva.example"), "b\u00fccher.example")
        self.assertEqual(prep_domainpart("B\u00dcCHER.example"), "b\u00fccher.example")
        self.assertEqual(prep_domainpart("\uff45\uff58\u3002com"), "ex.com")
        self.assertEqual(prep_domainpart("192.0.2.1"), "192.0.2.1")
        self.assertEqual(prep_domainpart("[2001:DB8:0::1]"), "[2001:db8::1]")
        for bad in ("exa mple.com", "a..b", "[::1", "[nope]", "ex@mple", ".", "a/b"):
            self.assertRaises(InvalidJID, prep_domainpart, bad)

    def test_forbidden_localpart_characters(self):
        """The characters RFC 7622 section 3.3.1 forbids are refused."""
        for char in "\"&'/:<>@":
            self.assertRaises(InvalidJID, prep_localpart, f"a{char}b")

    def test_length_limits(self):
        """Each part may hold 1023 bytes of UTF-8, not 1024."""
        JID.parse("a" * 1023 + "@example.com/" + "r" * 1023)
        self.assertRaises(InvalidJID, JID.parse, "a" * 1024 + "@example.com")
        self.assertRaises(InvalidJID, JID.parse, "a@example.com/" + "r" * 1024)
        # 512 two-byte characters are 1024 bytes.
        self.assertRaises(InvalidJID, JID.parse, "\u00e9" * 512 + "@example.com")
        JID.parse("\u00e9" * 511 + "@example.com")
        label = "a" * 63
        long_domain = ".".join([label] * 16)
        self.assertRaises(InvalidJID, JID.parse, long_domain + ".com")
        self.assertRaises(InvalidJID, JID.parse, "x" * 100000)

    def test_empty_parts(self):
        """Empty localpart, domainpart or resourcepart are refused."""
        for text in ("", "@a", "a@", "a@b/", "/r", "a@/r"):
            self.assertRaises(InvalidJID, JID.parse, text)

    def test_cached(self):
        """Parsing the same string twice returns the same object."""
        self.assertIs(
            JID.parse("romeo@example.net/orchard"), JID.parse("romeo@example.net/orchard")
        )


class JIDValueTests(SynchronousTestCase):
    """JID values are immutable, hashable and convertible."""

    def test_parts_and_forms(self):
        """bare(), full(), userhost and the RFC part names."""
        jid = JID.parse("romeo@example.net/orchard")
        self.assertEqual(jid.bare(), JID("romeo", "example.net"))
        self.assertEqual(jid.full(), "romeo@example.net/orchard")
        self.assertEqual(jid.userhost, "romeo@example.net")
        self.assertEqual(
            (jid.localpart, jid.domainpart, jid.resourcepart), ("romeo", "example.net", "orchard")
        )
        self.assertFalse(jid.is_bare)
        self.assertTrue(jid.bare().is_bare)
        self.assertEqual(JID.parse("example.net").userhost, "example.net")
        self.assertEqual(str(jid.bare().with_resource("\u265a")), "romeo@example.net/\u265a")

    def test_equality_and_hash(self):
        """JIDs that prepare the same are equal and hash the same."""
        a = JID.parse("Romeo@EXAMPLE.net/x")
        b = JID.from_parts("romeo", "example.net.", "x")
        self.assertEqual(a, b)
        self.assertEqual(len({a, b, a.bare()}), 2)
        self.assertNotEqual(a, JID.parse("romeo@example.net/X"))

    def test_immutable(self):
        """A JID cannot be changed."""
        jid = JID.parse("a@b")
        self.assertRaises(AttributeError, setattr, jid, "user", "c")

    def test_from_parts_validates(self):
        """from_parts prepares and checks each part."""
        self.assertRaises(InvalidJID, JID.from_parts, "a b", "example.com")
        self.assertRaises(InvalidJID, JID.from_parts, None, "")
        self.assertEqual(JID.from_parts(None, "Example.com").full(), "example.com")

    def test_twisted_conversion(self):
        """Conversion to and from Twisted's JID keeps every part."""
        jid = JID.parse("juliet@example.com/balcony")
        tj = jid.to_twisted()
        self.assertIsInstance(tj, twisted_jid.JID)
        self.assertEqual(tj.full(), "juliet@example.com/balcony")
        self.assertEqual(JID.from_twisted(tj), jid)
        self.assertEqual(JID.from_twisted(twisted_jid.JID("Example.COM")), JID(None, "example.com"))

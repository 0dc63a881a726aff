"""Tests for mongoose.xmpp.serialize: writing stream headers and stanzas."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from twisted.words.xish.domish import Element

from mongoose.xmpp.framing import XMLStreamParser, parse_element
from mongoose.xmpp.namespaces import NS_CLIENT, NS_STARTTLS, NS_STREAMS, NS_XML
from mongoose.xmpp.serialize import (
    STREAM_FOOTER,
    copy_element,
    element_to_bytes,
    element_to_str,
    escape_attribute,
    escape_text,
    stream_header,
)

NASTY = "a\"b'c<d>e&f\ng\th\ri]]>j"


class EscapingTests(SynchronousTestCase):
    """Attribute values and text survive a round trip through a parser."""

    def test_escape_attribute(self):
        """Quotes, markup characters and whitespace controls are escaped."""
        self.assertEqual(
            escape_attribute(NASTY),
            "a&quot;b&apos;c&lt;d&gt;e&amp;f&#10;g&#9;h&#13;i]]&gt;j",
        )

    def test_escape_text(self):
        """Markup characters and carriage return are escaped in text."""
        self.assertEqual(escape_text("<a>&]]>\r\n"), "&lt;a&gt;&amp;]]&gt;&#13;\n")

    def test_invalid_characters_replaced(self):
        """Characters XML cannot carry become U+FFFD instead of breaking the stream."""
        el = Element((NS_CLIENT, "message"), attribs={"id": "x\x00y"})
        el.addElement("body", content="bell\x07 surrogate\ud800 ok\U0001f600")
        text = element_to_str(el)
        self.assertEqual(
            text,
            "<message id='x\ufffdy'><body>bell\ufffd surrogate\ufffd ok\U0001f600</body></message>",
        )
        parse_element(text.encode("utf-8"))

    def test_round_trip(self):
        """Any attribute value and text comes back unchanged after parsing."""
        el = Element((NS_CLIENT, "message"), attribs={"to": NASTY, (NS_XML, "lang"): "en"})
        el.addElement("body", content=NASTY)
        back = parse_element(element_to_bytes(el), default_namespace=NS_CLIENT)
        self.assertEqual(back["to"], NASTY)
        self.assertEqual(str(back.body), NASTY)
        self.assertEqual(back.getAttribute((NS_XML, "lang")), "en")

    def test_twisted_toxml_loses_newlines(self):
        """domish toXml escapes quotes and markup but not newlines in attributes.

        This is why element_to_bytes has its own writer: after parsing, the
        newline written by toXml reads back as a space.
        """
        el = Element((NS_CLIENT, "message"), attribs={"to": "a\"'<>&\nb"})
        xml = el.toXml()
        self.assertIn("a&quot;&apos;&lt;&gt;&amp;\nb", xml)
        self.assertEqual(parse_element(xml)["to"], "a\"'<>& b")
        self.assertEqual(parse_element(element_to_bytes(el))["to"], "a\"'<>&\nb")


class NamespaceTests(SynchronousTestCase):
    """Namespaces are declared only where the reader needs them."""

    def test_stanza_in_stream_namespace(self):
        """A jabber:client stanza inside a client stream carries no xmlns."""
        el = Element((NS_CLIENT, "iq"), attribs={"type": "get"})
        el.addElement(("jabber:iq:roster", "query"))
        self.assertEqual(
            element_to_str(el), "<iq type='get'><query xmlns='jabber:iq:roster'/></iq>"
        )

    def test_other_default(self):
        """With another stream namespace the stanza declares its own."""
        el = Element((NS_CLIENT, "presence"))
        self.assertEqual(
            element_to_str(el, default_uri="jabber:server"), "<presence xmlns='jabber:client'/>"
        )

    def test_inherit_none(self):
        """Elements built with uri None inherit the namespace in force."""
        el = Element((None, "message"))
        el.addElement("body", content="hi")
        self.assertEqual(element_to_str(el), "<message><body>hi</body></message>")

    def test_empty_namespace(self):
        """An element in no namespace under a namespaced parent gets xmlns=''."""
        el = Element(("urn:x", "x"))
        el.addElement(("", "y"))
        self.assertEqual(element_to_str(el), "<x xmlns='urn:x'><y xmlns=''/></x>")

    def test_stream_prefix(self):
        """Stream-level elements use the stream: prefix declared by the header."""
        features = Element((NS_STREAMS, "features"))
        features.addElement((NS_STARTTLS, "starttls")).addElement("required")
        self.assertEqual(
            element_to_str(features),
            "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
            "<required/></starttls></stream:features>",
        )

    def test_stream_prefix_declared_when_out_of_scope(self):
        """Without the header's prefixes in scope the namespace is declared."""
        error = Element((NS_STREAMS, "error"))
        text = element_to_str(error, prefixes={})
        self.assertEqual(parse_element(text).uri, NS_STREAMS)

    def test_namespaced_attribute(self):
        """Attributes in other namespaces get a declared prefix and read back."""
        el = Element((NS_CLIENT, "message"), attribs={("urn:attr", "flag"): "1"})
        text = element_to_str(el)
        back = parse_element(text.encode(), default_namespace=NS_CLIENT)
        self.assertEqual(back.getAttribute(("urn:attr", "flag")), "1")

    def test_parsed_stanza_round_trip(self):
        """A parsed stanza serialises back to equivalent XML."""
        data = (
            b"<message xmlns='jabber:client' to='a@b' xmlns:x='urn:p'><x:thing a='1'/>"
            b"<body xml:lang='en'>hi</body><html xmlns='http://jabber.org/protocol/xhtml-im'>"
            b"<body xmlns='http://www.w3.org/1999/xhtml'><p>hi</p></body></html></message>"
        )
        first = parse_element(data)
        again = parse_element(element_to_bytes(first), default_namespace=NS_CLIENT)
        self.assertEqual(element_to_str(again), element_to_str(first))
        self.assertEqual(again.firstChildElement().uri, "urn:p")


class HeaderTests(SynchronousTestCase):
    """stream_header produces a header our parser accepts."""

    def test_header(self):
        """All attributes are written and read back."""
        header = stream_header("example.com", "juliet@example.com", "s1d", lang="en")
        self.assertTrue(header.startswith(b"<?xml version='1.0'?><stream:stream "))
        got = []
        parser = XMLStreamParser(got.append, None, None, self.fail)
        parser.feed(header)
        self.assertEqual(
            got,
            [
                {
                    "id": "s1d",
                    "from": "example.com",
                    "to": "juliet@example.com",
                    "version": "1.0",
                    "xml:lang": "en",
                    "xmlns": NS_CLIENT,
                    "xmlns:stream": NS_STREAMS,
                }
            ],
        )

    def test_header_escaping_and_options(self):
        """Values are escaped; version and the declaration can be left out."""
        header = stream_header(
            to="a'b",
            version=None,
            xml_declaration=False,
            xmlns="jabber:server",
            extra_prefixes={"db": "jabber:server:dialback"},
        )
        self.assertEqual(
            header,
            b"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'"
            b" xmlns:db='jabber:server:dialback' to='a&apos;b'>",
        )
        self.assertEqual(STREAM_FOOTER, b"</stream:stream>")


class CopyTests(SynchronousTestCase):
    """copy_element makes independent copies."""

    def test_copy(self):
        """Changing the copy leaves the original untouched."""
        original = parse_element(b"<a xmlns='x' k='v'><b><c>t</c></b></a>")
        copy = copy_element(original)
        copy["k"] = "changed"
        copy.b.c.addContent("more")
        self.assertEqual(element_to_str(original), "<a xmlns='x' k='v'><b><c>t</c></b></a>")
        self.assertIs(copy.b.parent, copy)
        self.assertEqual(element_to_str(copy), "<a xmlns='x' k='changed'><b><c>tmore</c></b></a>")

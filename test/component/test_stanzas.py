"""Tests for mongoose.component.stanzas: namespaces on component streams and check_from."""

from twisted.trial.unittest import SynchronousTestCase

from mongoose.component.stanzas import from_component, owns, to_component
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.namespaces import NS_CLIENT, NS_COMPONENT_ACCEPT
from mongoose.xmpp.serialize import element_to_str


class NamespaceTests(SynchronousTestCase):
    """Stanzas move between jabber:client and jabber:component:accept."""

    def test_from_component(self):
        """A parsed component stanza and its body become jabber:client; payloads keep theirs."""
        el = parse_element(
            "<message xmlns='jabber:component:accept' to='a@localhost' from='c.test'>"
            "<body>hi</body><x xmlns='urn:example'><y/></x></message>"
        )
        from_component(el)
        self.assertEqual(el.uri, NS_CLIENT)
        body, x = list(el.elements())
        self.assertEqual(body.uri, NS_CLIENT)
        self.assertEqual(x.uri, "urn:example")
        self.assertEqual(next(x.elements()).uri, "urn:example")
        self.assertEqual(
            element_to_str(el),
            "<message to='a@localhost' from='c.test'><body>hi</body>"
            "<x xmlns='urn:example'><y/></x></message>",
        )

    def test_to_component_copies(self):
        """An internal stanza is written in jabber:component:accept; the original is unchanged."""
        el = parse_element(
            "<message to='c.test' from='a@localhost/r'><body>hi</body>"
            "<error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
            "</message>",
            default_namespace=NS_CLIENT,
        )
        copy = to_component(el)
        self.assertEqual(el.uri, NS_CLIENT)
        self.assertEqual(next(el.elements()).uri, NS_CLIENT)
        self.assertEqual(
            element_to_str(copy, default_uri=NS_COMPONENT_ACCEPT),
            "<message to='c.test' from='a@localhost/r'><body>hi</body><error type='cancel'>"
            "<gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
        )


class OwnsTests(SynchronousTestCase):
    """check_from: a component's domains and their subdomains."""

    def test_own_domain_and_subdomains(self):
        """The domain itself, a user at it and deeper subdomains are owned."""
        self.assertTrue(owns(("c.test",), "c.test"))
        self.assertTrue(owns(("c.test",), "room.c.test"))
        self.assertTrue(owns(("x.one", "c.test"), "a.b.c.test"))

    def test_other_domains(self):
        """Parent domains, look-alike suffixes and other domains are not."""
        self.assertFalse(owns(("c.test",), "test"))
        self.assertFalse(owns(("c.test",), "evilc.test"))
        self.assertFalse(owns(("c.test",), "localhost"))
        self.assertFalse(owns((), "c.test"))

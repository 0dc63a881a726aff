"""Tests for mongoose.component.stream: one XEP-0114 stream over a StringTransport."""

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from mongoose.component.handshake import handshake_digest
from mongoose.component.registry import ComponentRegistry
from mongoose.component.stream import (
    CLOSE_GRACE,
    ComponentEnvironment,
    ComponentSettings,
    ComponentStream,
)
from mongoose.listeners.shaper import Shaper
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import XMLStreamParser, parse_element
from mongoose.xmpp.namespaces import NS_CLIENT, NS_COMPONENT_ACCEPT, NS_STREAMS

OPEN = (
    "<stream:stream xmlns='jabber:component:accept' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='{to}'>"
)


class FakeRouter:
    """Records what a stream routes and bounces."""

    def __init__(self):
        self.routes = {}
        self.routed = []
        self.bounced = []

    def add_route(self, domain, sink):
        self.routes[domain] = sink

    def remove_route(self, domain, sink):
        if self.routes.get(domain) is sink:
            del self.routes[domain]

    def route(self, stanza, from_jid=None, to_jid=None):
        self.routed.append((stanza, from_jid))

    def bounce(self, stanza, condition, text=None):
        self.bounced.append((stanza, condition))


class Output:
    """Parses what the server wrote."""

    def __init__(self, data: bytes):
        self.header = None
        self.elements = []
        self.ended = False
        parser = XMLStreamParser(
            self._start, self.elements.append, self._end, self._error,
            content_namespaces=(NS_COMPONENT_ACCEPT,),
        )
        parser.feed(data)

    def _start(self, header):
        self.header = header

    def _end(self):
        self.ended = True

    def _error(self, error):
        raise AssertionError(f"bad output: {error}")

    def stream_error(self):
        """The condition of the stream error written, or None."""
        for el in self.elements:
            if (el.uri, el.name) == (NS_STREAMS, "error"):
                return next(el.elements()).name
        return None


def message(to, sender="a@localhost/r", body="hi"):
    """An internal (jabber:client) message."""
    return parse_element(
        f"<message to='{to}' from='{sender}'><body>{body}</body></message>",
        default_namespace=NS_CLIENT,
    )


class StreamTestCase(SynchronousTestCase):
    """Builds a stream on a StringTransport with a Clock."""

    def make(self, **settings):
        self.clock = Clock()
        self.router = FakeRouter()
        self.registry = ComponentRegistry(self.router, lambda d: d == "localhost")
        shaper = settings.pop("shaper", None)
        access = settings.pop("access", lambda sender: True)
        self.env = ComponentEnvironment(
            router=self.router,
            registry=self.registry,
            hosts=lambda: ("localhost", "other.test"),
            clock=self.clock,
            may_receive_from=access,
            shaper_for=(lambda domain: shaper) if shaper else (lambda domain: None),
        )
        settings.setdefault("password", "pw")
        self.stream = ComponentStream(self.env, ComponentSettings(**settings))
        self.transport = StringTransport()
        self.header_bytes = b""
        self.stream.makeConnection(self.transport)
        return self.stream

    def feed(self, text):
        self.stream.dataReceived(text.encode())

    def output(self):
        return Output(self.header_bytes + self.transport.value())

    def authenticate(self, to="c.test", **settings):
        self.make(**settings)
        self.feed(OPEN.format(to=to))
        header = self.output().header
        self.feed(f"<handshake>{handshake_digest(header['id'], 'pw')}</handshake>")
        self.assertEqual(self.stream.state, "open")
        self.header_bytes = OPEN.format(to=to).encode()
        self.transport.clear()


class HandshakeStateTests(StreamTestCase):
    """Before the handshake."""

    def test_header_reply(self):
        """The server answers with from=the domain, an id and no version or features."""
        self.make()
        self.feed(OPEN.format(to="C.Test"))
        out = self.output()
        self.assertEqual(out.header["from"], "c.test")
        self.assertEqual(out.header["xmlns"], NS_COMPONENT_ACCEPT)
        self.assertEqual(len(out.header["id"]), 32)
        self.assertNotIn("version", out.header)
        self.assertEqual(out.elements, [])

    def test_good_handshake(self):
        """A right digest is answered with an empty handshake and routes the domain."""
        self.make()
        self.feed(OPEN.format(to="c.test"))
        header = self.output().header
        self.transport.clear()
        self.feed(f"<handshake>{handshake_digest(header['id'], 'pw')}</handshake>")
        self.assertEqual(self.transport.value(), b"<handshake/>")
        self.assertIs(self.router.routes["c.test"], self.stream)

    def test_stanza_before_handshake(self):
        """Anything but a handshake first is not-authorized."""
        self.make()
        self.feed(OPEN.format(to="c.test") + "<message from='c.test' to='a@localhost'/>")
        self.assertEqual(self.output().stream_error(), "not-authorized")
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.router.routes, {})

    def test_missing_to(self):
        """A header without 'to' is host-unknown, after a server header."""
        self.make()
        self.feed(OPEN.replace(" to='{to}'", ""))
        out = self.output()
        self.assertIsNotNone(out.header)
        self.assertEqual(out.stream_error(), "host-unknown")
        self.assertTrue(out.ended)

    def test_bad_domain(self):
        """A 'to' that is not a domain name is host-unknown."""
        self.make()
        self.feed(OPEN.format(to="user@c.test"))
        self.assertEqual(self.output().stream_error(), "host-unknown")

    def test_client_namespace(self):
        """A jabber:client stream on the component port is invalid-namespace."""
        self.make()
        self.feed(OPEN.format(to="c.test").replace(NS_COMPONENT_ACCEPT, NS_CLIENT))
        self.assertEqual(self.output().stream_error(), "invalid-namespace")

    def test_timeout(self):
        """No handshake within state_timeout: connection-timeout."""
        self.make(state_timeout=2.0)
        self.feed(OPEN.format(to="c.test"))
        self.clock.advance(1.9)
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(0.2)
        self.assertEqual(self.output().stream_error(), "connection-timeout")

    def test_no_timeout_once_open(self):
        """The timer stops once authenticated."""
        self.authenticate(state_timeout=2.0)
        self.clock.advance(10)
        self.assertFalse(self.transport.disconnecting)

    def test_refused_connection(self):
        """A connection the listener refuses gets the stream error at once."""
        self.clock = Clock()
        self.router = FakeRouter()
        env = ComponentEnvironment(
            self.router, ComponentRegistry(self.router, lambda d: False), lambda: (), self.clock
        )
        stream = ComponentStream(env, ComponentSettings("pw"))
        stream.refuse_with = StreamError("resource-constraint", "too many")
        transport = StringTransport()
        stream.makeConnection(transport)
        self.assertEqual(Output(transport.value()).stream_error(), "resource-constraint")
        self.assertTrue(transport.disconnecting)

    def test_abort_after_grace(self):
        """A closed stream whose peer does not read is aborted after the grace time."""
        self.make()
        self.feed("<nonsense/>")
        self.assertTrue(self.transport.disconnecting)
        self.clock.advance(CLOSE_GRACE)
        self.assertTrue(self.transport.disconnected)


class OpenStreamTests(StreamTestCase):
    """After the handshake."""

    def test_stanza_routed_in_client_namespace(self):
        """A message from the component reaches the router in jabber:client."""
        self.authenticate()
        self.feed("<message from='bot@c.test' to='a@localhost'><body>yo</body></message>")
        [(stanza, sender)] = self.router.routed
        self.assertEqual((stanza.uri, str(sender)), (NS_CLIENT, "bot@c.test"))
        self.assertEqual(next(stanza.elements()).uri, NS_CLIENT)

    def test_invalid_from(self):
        """With check_from, a 'from' outside the component's domain is invalid-from."""
        self.authenticate()
        self.feed("<message from='someone@localhost' to='a@localhost'/>")
        self.assertEqual(self.output().stream_error(), "invalid-from")
        self.assertEqual(self.router.routed, [])
        self.assertEqual(self.router.routes, {})

    def test_missing_from_checked(self):
        """With check_from, a stanza without 'from' is invalid-from."""
        self.authenticate()
        self.feed("<presence to='a@localhost'/>")
        self.assertEqual(self.output().stream_error(), "invalid-from")

    def test_unchecked_from(self):
        """Without check_from, any 'from' is routed; a missing one is improper-addressing."""
        self.authenticate(check_from=False)
        self.feed("<message from='x@elsewhere.test' to='a@localhost'/>")
        self.assertEqual(len(self.router.routed), 1)
        self.feed("<message to='a@localhost'/>")
        self.assertEqual(self.output().stream_error(), "improper-addressing")

    def test_malformed_from(self):
        """A 'from' that is not a JID is improper-addressing."""
        self.authenticate()
        self.feed("<message from='a@b@c.test' to='a@localhost'/>")
        self.assertEqual(self.output().stream_error(), "improper-addressing")

    def test_missing_to(self):
        """A stanza without 'to' is improper-addressing."""
        self.authenticate()
        self.feed("<iq type='get' id='1' from='c.test'><ping xmlns='urn:xmpp:ping'/></iq>")
        self.assertEqual(self.output().stream_error(), "improper-addressing")

    def test_not_a_stanza(self):
        """A first-level element that is not a stanza is unsupported-stanza-type."""
        self.authenticate()
        self.feed("<handshake>again</handshake>")
        self.assertEqual(self.output().stream_error(), "unsupported-stanza-type")

    def test_stream_end(self):
        """The component closing its stream is answered with the footer; the route goes."""
        self.authenticate()
        self.feed("</stream:stream>")
        self.assertEqual(self.transport.value(), b"</stream:stream>")
        self.assertTrue(self.transport.disconnecting)
        self.assertEqual(self.router.routes, {})

    def test_send_written_in_component_namespace(self):
        """A routed stanza is written in jabber:component:accept."""
        self.authenticate()
        self.stream.send(message("c.test"))
        self.assertEqual(
            self.transport.value(),
            b"<message to='c.test' from='a@localhost/r'><body>hi</body></message>",
        )

    def test_access_denied(self):
        """A sender the access rule denies gets not-allowed; nothing is written."""
        self.authenticate(access=lambda sender: sender.user != "mallory")
        self.stream.send(message("c.test", sender="mallory@localhost/r"))
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual(self.router.bounced[0][1], "not-allowed")

    def test_access_with_malformed_sender(self):
        """A stanza whose sender cannot be parsed is checked as from nobody."""
        seen = []
        self.authenticate(access=lambda sender: seen.append(sender) or False)
        self.stream.send(message("c.test", sender="@bad"))
        self.assertEqual(seen, [None])
        self.assertEqual(self.router.bounced[0][1], "not-allowed")

    def test_send_after_close_bounces(self):
        """A stanza for a closed stream is bounced with service-unavailable."""
        self.authenticate()
        self.stream.close("system-shutdown")
        self.stream.send(message("c.test"))
        self.assertEqual(self.router.bounced[0][1], "service-unavailable")

    def test_slow_reader_queue_flushes(self):
        """While the transport is full stanzas wait, and are written in order when it drains."""
        self.authenticate(max_queue=5)
        self.transport.producer.pauseProducing()
        for n in range(3):
            self.stream.send(message("c.test", body=str(n)))
        self.assertEqual(self.transport.value(), b"")
        self.transport.producer.resumeProducing()
        bodies = [str(next(el.elements())) for el in self.output().elements]
        self.assertEqual(bodies, ["0", "1", "2"])

    def test_slow_reader_overflow(self):
        """Past max_fsm_queue the stream is closed with policy-violation; waiting stanzas bounce."""
        self.authenticate(max_queue=2)
        self.transport.producer.pauseProducing()
        for n in range(3):
            self.stream.send(message("c.test", body=str(n)))
        self.assertEqual(self.output().stream_error(), "policy-violation")
        self.assertEqual([c for _, c in self.router.bounced], ["service-unavailable"] * 3)
        self.assertEqual(self.router.routes, {})

    def test_byte_cap(self):
        """Without max_fsm_queue the byte cap still closes a stream that never reads."""
        self.authenticate(max_queued_bytes=1000)
        self.transport.producer.pauseProducing()
        for _ in range(20):
            self.stream.send(message("c.test", body="x" * 100))
            if self.stream.state == "closed":
                break
        self.assertEqual(self.stream.state, "closed")
        self.assertEqual(self.output().stream_error(), "policy-violation")

    def test_oversized_stanza(self):
        """A stanza over max_stanza_size is policy-violation."""
        self.authenticate(max_stanza_size=200)
        self.feed("<message from='c.test' to='a@localhost'><body>" + "x" * 300)
        self.assertEqual(self.output().stream_error(), "policy-violation")

    def test_shaper_pauses_reading(self):
        """Past the shaper's rate the transport stops reading until the pause is over."""
        self.make()
        self.env.shaper_for = lambda domain: Shaper(300, self.clock.seconds)
        self.feed(OPEN.format(to="c.test"))
        self.assertEqual(self.transport.producerState, "producing")
        self.feed("<message from='c.test' to='a@localhost'><body>" + "x" * 300)
        self.assertEqual(self.transport.producerState, "paused")
        self.clock.advance(2.0)
        self.assertEqual(self.transport.producerState, "producing")

"""Tests for mongoose.services.service_traffic: the c2s traffic tap and its service."""

from __future__ import annotations

from twisted.internet import task
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from mongoose.c2s.interfaces import IStreamFilter
from mongoose.commands.errors import CommandError
from mongoose.config.loader import ConfigErrors
from mongoose.services.service_traffic import (
    IN,
    OUT,
    ITrafficTap,
    TrafficFilter,
    TrafficService,
    TrafficTap,
    find_tap,
)
from mongoose.xmpp.jid import JID
from test.modules.nodes import RecordingSession, login, start_node, xml


class FakeClientSession:
    """The part of a C2SSession the tap uses: a filter chain and a transport list."""

    def __init__(self, jid: str):
        self.jid = JID.parse(jid)
        self.info: dict = {}
        self.priority = None
        self.presence = None
        self.roster_requested = False
        self.filters: tuple = ()
        self.written: list = []

    def add_filter(self, stream_filter):
        self.filters = tuple(sorted((*self.filters, stream_filter), key=lambda f: f.order))

    def remove_filter(self, stream_filter):
        self.filters = tuple(f for f in self.filters if f is not stream_filter)

    def forward(self, stream_filter, stanza):
        """Like C2SSession.forward: the next filter, else (also when gone) the client."""
        filters = self.filters
        if stream_filter in filters:
            index = filters.index(stream_filter)
            if index + 1 < len(filters):
                filters[index + 1].outgoing(stanza)
                return
        self.written.append(stanza)

    def send_out(self, stanza):
        """What C2SSession.deliver does: through the filters, else straight out."""
        if self.filters:
            self.filters[0].outgoing(stanza)
        else:
            self.written.append(stanza)

    def deliver(self, stanza):
        """ISession.deliver."""
        self.send_out(stanza)

    def close(self, condition, text=None):
        """ISession.close."""

    def receive(self, stanza):
        """What C2SSession.element_received does for a stanza."""
        for stream_filter in self.filters:
            stream_filter.incoming(stanza)


class FakeSessions:
    """A session manager holding a list of sessions."""

    def __init__(self, *sessions):
        self.sessions = list(sessions)

    def all_sessions(self, host=None):
        return iter(list(self.sessions))


MESSAGE = "<message to='bob@localhost' id='m1'><body>hi</body></message>"


class TapTests(SynchronousTestCase):
    """TrafficTap with fake sessions and a fake clock."""

    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(1700000000)
        self.alice = FakeClientSession("alice@localhost/phone")
        self.sessions = FakeSessions(self.alice)
        self.tap = TrafficTap(self.sessions, self.clock, max_subscribers=2)
        self.traces: list = []
        self.ended: list = []

    def subscribe(self, limit=None, on_trace=None):
        return self.tap.subscribe(on_trace or self.traces.append, self.ended.append, limit)

    def test_provides_interfaces(self):
        """The tap is an ITrafficTap, its filter an IStreamFilter."""
        self.assertTrue(verifyObject(ITrafficTap, self.tap))
        self.assertTrue(verifyObject(IStreamFilter, TrafficFilter(self.tap, self.alice)))

    def test_no_subscriber_no_filter(self):
        """Without a subscriber sessions carry no filter, so stanzas cost nothing extra."""
        bob = FakeClientSession("bob@localhost/pc")
        self.tap.session_bound(bob)
        self.assertEqual((self.alice.filters, bob.filters), ((), ()))
        self.alice.send_out(xml(MESSAGE))
        self.assertEqual(len(self.alice.written), 1)
        self.assertEqual(self.tap.tapped_count(), 0)

    def test_traces_both_directions(self):
        """A subscriber sees stanzas in and out, with session, JID, time and XML."""
        self.subscribe()
        self.assertEqual(len(self.alice.filters), 1)
        self.alice.receive(xml(MESSAGE))
        self.alice.send_out(xml("<message from='bob@localhost/pc' id='m2'/>"))
        self.assertEqual(len(self.alice.written), 1, "out stanzas still reach the client")
        self.assertEqual([t.dir for t in self.traces], [IN, OUT])
        first = self.traces[0].to_json()
        self.assertEqual(first["jid"], "alice@localhost/phone")
        self.assertEqual(first["timestamp"], "2023-11-14T22:13:20Z")
        self.assertIn("<body>hi</body>", first["stanza"])
        self.assertEqual(first["pid"], self.traces[1].pid)
        self.assertIn("m2", self.traces[1].stanza)

    def test_new_sessions_are_tapped_while_watched(self):
        """Sessions bound while a subscriber is open are tapped too; others are not."""
        subscriber = self.subscribe()
        bob = FakeClientSession("bob@localhost/pc")
        self.tap.session_bound(bob)
        bob.receive(xml(MESSAGE))
        self.assertEqual([t.jid for t in self.traces], ["bob@localhost/pc"])
        self.assertNotEqual(self.traces[0].pid, TrafficFilter(self.tap, self.alice).pid)
        subscriber.cancel()
        self.assertEqual((self.alice.filters, bob.filters), ((), ()))
        self.tap.session_bound(FakeClientSession("carol@localhost/x"))
        self.assertEqual(self.tap.tapped_count(), 0)

    def test_non_client_sessions_are_skipped(self):
        """A session without a filter chain (e.g. a GraphQL subscriber) is left alone."""
        self.subscribe()
        self.tap.session_bound(RecordingSession())
        self.assertEqual(self.tap.tapped_count(), 1)

    def test_limit_ends_the_subscription(self):
        """After ``limit`` traces the subscriber ends with reason 'limit' and is untapped."""
        self.subscribe(limit=2)
        for n in range(4):
            self.alice.receive(xml(f"<message id='{n}'/>"))
        self.assertEqual(len(self.traces), 2)
        self.assertEqual(self.ended, ["limit"])
        self.assertEqual(self.alice.filters, ())
        self.assertEqual(self.tap.subscriber_count(), 0)

    def test_dropped_traces_do_not_count(self):
        """A subscriber that drops a trace (returns False) keeps its budget."""
        seen = []

        def every_other(trace):
            seen.append(trace)
            return len(seen) % 2 == 0

        self.subscribe(limit=2, on_trace=every_other)
        for n in range(3):
            self.alice.receive(xml(f"<message id='{n}'/>"))
        self.assertEqual(self.ended, [])
        self.alice.receive(xml("<message id='3'/>"))
        self.assertEqual(self.ended, ["limit"])

    def test_limits_are_per_subscriber(self):
        """Two subscribers each get their own count; the tap stays while one is open."""
        self.subscribe(limit=1)
        other: list = []
        self.tap.subscribe(other.append, lambda reason: None)
        self.alice.receive(xml("<message id='1'/>"))
        self.alice.receive(xml("<message id='2'/>"))
        self.assertEqual((len(self.traces), len(other)), (1, 2))
        self.assertEqual(len(self.alice.filters), 1)

    def test_bad_limit_and_too_many_subscribers(self):
        """A limit below 1 is bad_request; past max_subscribers is not_allowed."""
        for limit in (0, -3):
            with self.assertRaises(CommandError) as caught:
                self.subscribe(limit=limit)
            self.assertEqual((caught.exception.code, caught.exception.arg), ("bad_request", "limit"))
        self.subscribe()
        self.subscribe()
        with self.assertRaises(CommandError) as caught:
            self.subscribe()
        self.assertEqual(caught.exception.code, "not_allowed")
        self.assertIn("max_subscribers", caught.exception.message)

    def test_failing_subscriber_is_dropped_not_the_session(self):
        """A subscriber that raises is ended; the stanza still reaches the client."""

        def broken(_trace):
            raise RuntimeError("boom")

        self.subscribe(on_trace=broken)
        self.alice.send_out(xml(MESSAGE))
        self.assertEqual(len(self.alice.written), 1)
        self.assertEqual(self.tap.subscriber_count(), 0)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_end_all_and_forget(self):
        """end_all tells every subscriber; a forgotten session loses its filter."""
        self.subscribe()
        self.tap.forget(self.alice)
        self.assertEqual((self.tap.tapped_count(), self.alice.filters), (0, ()))
        self.tap.end_all()
        self.assertEqual(self.ended, ["stopped"])

    def test_rebound_session_is_tapped_once(self):
        """A session unbound and bound again (e.g. resumed) carries one filter, not two."""
        self.subscribe()
        self.tap.forget(self.alice)
        self.tap.session_bound(self.alice)
        self.assertEqual(len(self.alice.filters), 1)
        self.alice.receive(xml(MESSAGE))
        self.assertEqual(len(self.traces), 1)

    def test_cancel_is_idempotent(self):
        """Cancelling twice is harmless and does not call on_end."""
        subscriber = self.subscribe()
        subscriber.cancel()
        subscriber.cancel()
        self.assertEqual((self.ended, self.tap.subscriber_count()), ([], 0))


class ServiceTests(TestCase):
    """The service on a started node: config, lookup, hooks and stop."""

    async def test_found_and_taps_bound_sessions(self):
        """[services.service_traffic] gives an ITrafficTap; it follows session binding."""
        node = await start_node(self, "[services.service_traffic]\nmax_subscribers = 3\n")
        tap = find_tap(node.modules.service)
        self.assertIsNotNone(tap)
        self.assertTrue(verifyObject(ITrafficTap, tap))
        self.assertEqual(tap.max_subscribers, 3)
        traces: list = []
        subscriber = tap.subscribe(traces.append, lambda reason: None)
        session = FakeClientSession("alice@localhost/phone")
        node.sessions.bind(session, "alice", "localhost", "phone")
        self.assertEqual(len(session.filters), 1)
        node.sessions.unbind(session)
        self.assertEqual(node.modules.service("service_traffic").tap.tapped_count(), 0)
        # A recording (non-c2s) session is bound without a filter.
        await login(node, "bob")
        subscriber.cancel()
        self.assertEqual(tap.subscriber_count(), 0)

    async def test_absent(self):
        """Without the service find_tap gives None."""
        node = await start_node(self, "")
        self.assertIsNone(find_tap(node.modules.service))
        self.assertIsNone(find_tap(None))

    async def test_stop_ends_subscriptions(self):
        """Stopping the node ends open subscriptions with reason 'stopped'."""
        node = await start_node(self, "[services.service_traffic]\n")
        ended: list = []
        find_tap(node.modules.service).subscribe(lambda t: None, ended.append)
        await node.stopService()
        self.assertEqual(ended, ["stopped"])

    async def test_config_errors_name_the_option(self):
        """Bad options fail the config with their path."""
        for bad, option in (("max_subscribers = 0", "max_subscribers"), ("size = 3", "size")):
            with self.assertRaises(ConfigErrors) as caught:
                await start_node(self, f"[services.service_traffic]\n{bad}\n")
            self.assertIn(f"services.service_traffic.{option}", str(caught.exception))

    def test_stopped_service_refuses(self):
        """Subscribing before start is a clear 'unavailable' error."""
        with self.assertRaises(CommandError) as caught:
            TrafficService().subscribe(lambda t: None, lambda r: None)
        self.assertEqual(caught.exception.code, "unavailable")
        self.assertEqual(TrafficService().subscriber_count(), 0)

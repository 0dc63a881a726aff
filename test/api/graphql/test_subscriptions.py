"""Tests for mongoose.api.graphql.subscriptions: the SSE streams, with a fake request."""

from __future__ import annotations

import json

from twisted.internet import defer, task
from twisted.internet.interfaces import IPushProducer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from mongoose.api.graphql.subscriptions import TrafficStream
from mongoose.services.service_traffic import Trace, TrafficTap


class FakeRequest:
    """The part of twisted.web's Request an SSE stream uses."""

    def __init__(self):
        self.code = None
        self.headers: dict[bytes, bytes] = {}
        self.written: list[bytes] = []
        self.finished = False
        self.producer = None
        self._finish = defer.Deferred()

    def setResponseCode(self, code):
        self.code = code

    def setHeader(self, name, value):
        self.headers[name] = value

    def notifyFinish(self):
        return self._finish

    def write(self, data):
        assert not self.finished
        self.written.append(data)

    def finish(self):
        assert self.producer is None, "unregister the producer before finishing"
        self.finished = True

    def registerProducer(self, producer, streaming):
        assert streaming and self.producer is None
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None

    def lose(self):
        """The client went away."""
        self._finish.errback(ConnectionError("gone"))

    def events(self):
        """The ``next`` payloads and whether ``complete`` was sent."""
        text = b"".join(self.written).decode()
        nexts = [json.loads(block.split("data: ", 1)[1]) for block in text.split("\n\n")
                 if block.startswith("event: next")]
        return nexts, "event: complete" in text


class FakeSubscription:
    """A TrafficSubscription that renders the payload unchanged."""

    def __init__(self, tap, limit=None):
        self.tap = tap
        self.limit = limit

    def render(self, payload):
        return payload


class FakeSessions:
    def all_sessions(self, host=None):
        return iter(())


def trace(n: int) -> Trace:
    """A trace numbered ``n``."""
    return Trace(f"c2s-{n}", "alice@localhost/res", 0.0, "in", f"<message id='{n}'/>")


class TrafficStreamTests(SynchronousTestCase):
    """TrafficStream: events, limit, back-pressure and the end of the stream."""

    def setUp(self):
        self.clock = task.Clock()
        self.tap = TrafficTap(FakeSessions(), self.clock)
        self.request = FakeRequest()

    def start(self, limit=None, idle=1000):
        stream = TrafficStream(self.request, FakeSubscription(self.tap, limit), self.clock, idle)
        stream.start()
        return stream

    def emit(self, *numbers):
        """Hand traces to every open subscriber, as the tap does."""
        for n in numbers:
            for subscriber in list(self.tap._subscribers):
                subscriber._deliver(trace(n))

    def test_is_a_push_producer_of_the_response(self):
        """The stream registers itself as the response's streaming producer."""
        stream = self.start()
        self.assertTrue(verifyObject(IPushProducer, stream))
        self.assertIs(self.request.producer, stream)
        self.assertEqual(self.request.headers[b"content-type"],
                         b"text/event-stream; charset=utf-8")

    def test_limit_then_complete(self):
        """With limit 2 the third trace is not sent; 'complete' ends the response."""
        self.start(limit=2)
        self.emit(1, 2, 3)
        nexts, complete = self.request.events()
        self.assertEqual([e["pid"] for e in nexts], ["c2s-1", "c2s-2"])
        self.assertTrue(complete)
        self.assertTrue(self.request.finished)
        self.assertIsNone(self.request.producer)
        self.assertEqual(self.tap.subscriber_count(), 0)

    def test_paused_drops_without_counting(self):
        """While paused traces are dropped, counted, and not charged to the limit."""
        stream = self.start(limit=2)
        stream.pauseProducing()
        self.emit(1, 2, 3)
        self.assertEqual(stream.dropped, 3)
        stream.resumeProducing()
        self.emit(4)
        nexts, complete = self.request.events()
        self.assertEqual(([e["pid"] for e in nexts], complete), (["c2s-4"], False))
        self.emit(5)
        self.assertTrue(self.request.events()[1])

    def test_idle_timeout(self):
        """No trace for the idle timeout: 'complete' and the subscriber is gone."""
        self.start(idle=500)
        self.clock.advance(0.4)
        self.emit(1)
        self.clock.advance(0.4)
        self.assertFalse(self.request.finished)
        self.clock.advance(0.2)
        self.assertTrue(self.request.finished)
        self.assertEqual(self.tap.subscriber_count(), 0)

    def test_client_gone(self):
        """The client leaving cancels the subscription; nothing more is written."""
        stream = self.start()
        self.request.lose()
        self.assertEqual(self.tap.subscriber_count(), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        stream.stopProducing()
        self.assertFalse(self.request.finished)

    def test_service_stopping_ends_the_stream(self):
        """When the tap ends every subscription, the stream completes."""
        self.start()
        self.tap.end_all()
        self.assertTrue(self.request.events()[1])
        self.assertTrue(self.request.finished)

"""mod_time (XEP-0202) over real client sockets, and its XEP-0082 formatting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from twisted.trial.unittest import SynchronousTestCase, TestCase

from mongoose.modules.mod_time import format_offset, format_utc
from test.c2s.support import logged_in, start_node
from test.modules.test_mod_version import child_text


class FormatTests(SynchronousTestCase):
    """Offsets and times are written as XEP-0082 requires."""

    def test_offsets(self):
        """Positive, negative, zero and half-hour offsets use a sign and two-digit fields."""
        self.assertEqual(format_offset(timedelta(hours=2)), "+02:00")
        self.assertEqual(format_offset(timedelta(hours=-5, minutes=-30)), "-05:30")
        self.assertEqual(format_offset(timedelta(0)), "+00:00")
        self.assertEqual(format_offset(None), "+00:00")

    def test_utc(self):
        """A time in any zone is written in UTC with milliseconds and Z."""
        moment = datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=UTC).astimezone(
            timezone(timedelta(hours=2)))
        self.assertEqual(format_utc(moment), "2024-05-01T14:00:00.123Z")


class TimeTests(TestCase):
    """The server tells its time (XEP-0202)."""

    async def test_time(self):
        """A get returns the UTC offset and a UTC time close to now."""
        node = await start_node(self, extra="[modules.mod_time]\n")
        client, _ = await logged_in(self, node.c2s_port)
        client.send("<iq type='get' id='t1' to='localhost'><time xmlns='urn:xmpp:time'/></iq>")
        reply = await client.element()
        self.assertEqual((reply["type"], reply["id"]), ("result", "t1"))
        time = reply.firstChildElement()
        self.assertEqual((time.uri, time.name), ("urn:xmpp:time", "time"))
        self.assertRegex(child_text(time, "tzo"), r"^[+-]\d\d:\d\d$")
        utc = child_text(time, "utc")
        self.assertTrue(utc.endswith("Z"))
        stamp = datetime.fromisoformat(utc.replace("Z", "+00:00"))
        self.assertLess(abs((datetime.now(UTC) - stamp).total_seconds()), 60)

    async def test_set_is_not_implemented(self):
        """Setting the server's time is answered with feature-not-implemented."""
        node = await start_node(self, extra="[modules.mod_time]\n")
        client, _ = await logged_in(self, node.c2s_port)
        client.send("<iq type='set' id='t2' to='localhost'><time xmlns='urn:xmpp:time'/></iq>")
        reply = await client.element()
        self.assertEqual(reply["type"], "error")
        self.assertIn("feature-not-implemented", reply.toXml())

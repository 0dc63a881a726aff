"""Tests for mongoose.listeners.shaper: the token bucket of ``[shaper.NAME]``."""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mongoose.listeners.shaper import Shaper, shaper_rate


class ShaperTests(SynchronousTestCase):
    """A connection is slowed to max_rate on average, with one second of burst."""

    def test_under_rate_never_pauses(self):
        """Reading max_rate bytes spread over a second needs no pause."""
        clock = Clock()
        shaper = Shaper(1000, clock.seconds)
        for _ in range(10):
            self.assertEqual(shaper.update(100), 0.0)
            clock.advance(0.1)

    def test_over_rate_pauses_for_the_excess(self):
        """After the burst, the pause is the time the rate needs for the excess."""
        clock = Clock()
        shaper = Shaper(1000, clock.seconds)
        self.assertEqual(shaper.update(1000), 0.0)
        self.assertAlmostEqual(shaper.update(500), 0.5)
        clock.advance(0.5)
        self.assertAlmostEqual(shaper.update(1000), 1.0)

    def test_average_is_max_rate(self):
        """Obeying the pauses, 10 kB at 1 kB/s take about 9 seconds after the burst."""
        clock = Clock()
        shaper = Shaper(1000, clock.seconds)
        for _ in range(100):
            clock.advance(shaper.update(100))
        self.assertAlmostEqual(clock.seconds(), 9.0, places=6)

    def test_rate_must_be_positive(self):
        """A zero rate is refused."""
        self.assertRaises(ValueError, Shaper, 0, Clock())

    def test_shaper_rate(self):
        """Named shapers give their max_rate; none and unknown names give no shaping."""
        shapers = {"fast": {"max_rate": 50000}}
        self.assertEqual(shaper_rate(shapers, "fast"), 50000)
        self.assertIsNone(shaper_rate(shapers, "none"))
        self.assertIsNone(shaper_rate(shapers, "slow"))

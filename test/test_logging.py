"""Tests for mongoose.logging: general.loglevel filters every observer."""

from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.trial.unittest import SynchronousTestCase

from mongoose.logging import LEVELS, apply_log_level


class LogLevelTests(SynchronousTestCase):
    """apply_log_level wraps existing observers in a level filter."""

    def publish_all_levels(self, level_name):
        """Emit one event per level through a publisher filtered at ``level_name``."""
        publisher, seen = LogPublisher(), []
        publisher.addObserver(seen.append)
        apply_log_level(level_name, publisher)
        log = Logger(observer=publisher)
        for level in (LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error,
                      LogLevel.critical):
            log.emit(level, "event at {name}", name=level.name)
        return [event["log_level"] for event in seen]

    def test_warning(self):
        """At "warning" (the default), debug and info events are dropped."""
        self.assertEqual(
            self.publish_all_levels("warning"),
            [LogLevel.warn, LogLevel.error, LogLevel.critical],
        )

    def test_debug(self):
        """At "debug" everything passes."""
        self.assertEqual(len(self.publish_all_levels("debug")), 5)

    def test_none(self):
        """At "none" nothing is logged at all."""
        self.assertEqual(self.publish_all_levels("none"), [])

    def test_every_mongooseim_level_known(self):
        """Every level name MongooseIM documents has a mapping."""
        self.assertEqual(
            set(LEVELS),
            {"none", "emergency", "alert", "critical", "error", "warning", "notice", "info",
             "debug", "all"},
        )

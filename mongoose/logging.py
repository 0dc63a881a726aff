"""Apply ``general.loglevel`` to twisted.logger output.

twistd starts its own log observer (stdout with ``-n``, ``twistd.log``
otherwise) before the node starts.  :func:`apply_log_level` wraps the
observers already registered on the global publisher in a level filter, so
Twisted's own messages obey the configured level as well as ours.
"""

from __future__ import annotations

from twisted.logger import (
    FilteringLogObserver,
    ILogFilterPredicate,
    LogLevel,
    PredicateResult,
    globalLogPublisher,
)
from zope.interface import implementer

__all__ = ["LEVELS", "LevelPredicate", "twisted_level", "apply_log_level", "set_log_level"]

#: MongooseIM log level names -> twisted.logger levels (None: log nothing).
LEVELS: dict[str, LogLevel | None] = {
    "none": None,
    "emergency": LogLevel.critical,
    "alert": LogLevel.critical,
    "critical": LogLevel.critical,
    "error": LogLevel.error,
    "warning": LogLevel.warn,
    "notice": LogLevel.info,
    "info": LogLevel.info,
    "debug": LogLevel.debug,
    "all": LogLevel.debug,
}


def twisted_level(name: str) -> LogLevel | None:
    """The twisted.logger level for a MongooseIM level name."""
    return LEVELS[name]


@implementer(ILogFilterPredicate)
class LevelPredicate:
    """Drops events below a MongooseIM level that can change at run time."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, event: dict) -> PredicateResult:
        level = LEVELS[self.name]
        if level is None:
            return PredicateResult.no
        event_level = event.get("log_level")
        if event_level is not None and event_level < level:
            return PredicateResult.no
        return PredicateResult.maybe


def apply_log_level(name: str, publisher=globalLogPublisher) -> list:
    """Filter every current observer of ``publisher`` at MongooseIM level ``name``.

    Returns the filtering observers that were installed (for tests).
    :func:`set_log_level` changes their level later.
    """
    predicate = LevelPredicate(name)
    # LogPublisher has no public accessor for its observers; this is the one
    # place that reaches in, so a Twisted change breaks loudly here only.
    current = list(getattr(publisher, "_observers", []))
    installed = []
    for observer in current:
        if isinstance(observer, FilteringLogObserver):
            continue
        publisher.removeObserver(observer)
        wrapped = FilteringLogObserver(observer, [predicate])
        wrapped.mongoose_level = predicate
        publisher.addObserver(wrapped)
        installed.append(wrapped)
    return installed


def set_log_level(name: str, publisher=globalLogPublisher) -> int:
    """Change the level of the filters :func:`apply_log_level` installed on ``publisher``.

    Returns:
        How many filters changed (0 when none was installed, e.g. an
        embedded node whose host application owns logging).

    Raises:
        KeyError: ``name`` is not a MongooseIM level.
    """
    twisted_level(name)
    changed = 0
    for observer in list(getattr(publisher, "_observers", [])):
        predicate = getattr(observer, "mongoose_level", None)
        if isinstance(predicate, LevelPredicate):
            predicate.name = name
            changed += 1
    return changed

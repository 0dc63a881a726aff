"""Apply ``general.loglevel`` to twisted.logger output.

twistd starts its own log observer (stdout with ``-n``, ``twistd.log``
otherwise) before the node starts.  :func:`apply_log_level` wraps the
observers already registered on the global publisher in a level filter, so
Twisted's own messages obey the configured level as well as ours.
"""

from __future__ import annotations

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogPublisher,
)

__all__ = ["LEVELS", "twisted_level", "apply_log_level"]

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


def apply_log_level(name: str, publisher=globalLogPublisher) -> list:
    """Filter every current observer of ``publisher`` at MongooseIM level ``name``.

    Returns the filtering observers that were installed (for tests).
    """
    level = twisted_level(name)
    predicate = LogLevelFilterPredicate(defaultLogLevel=level or LogLevel.critical)
    # LogPublisher has no public accessor for its observers; this is the one
    # place that reaches in, so a Twisted change breaks loudly here only.
    current = list(getattr(publisher, "_observers", []))
    installed = []
    for observer in current:
        if isinstance(observer, FilteringLogObserver):
            continue
        publisher.removeObserver(observer)
        if level is None:
            continue
        wrapped = FilteringLogObserver(observer, [predicate])
        publisher.addObserver(wrapped)
        installed.append(wrapped)
    return installed

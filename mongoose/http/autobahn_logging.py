"""Keep autobahn from pretty-printing debug log arguments nobody reads.

autobahn's ``WebSocketProtocol._connectionMade`` builds a ``pprint.pformat``
of all its configuration attributes for a debug log line on every new
connection, whether debug logging is on or not.  Profiling 1,000 WebSocket
logins (``twistd --profile``) showed that one call costing about 3.4 ms of
CPU per connection, more than the rest of the XMPP login.  :func:`install`
replaces the ``pformat`` name autobahn's protocol module looks up with one
that formats only while txaio's log level shows debug lines; otherwise it
returns a short placeholder, which the disabled debug call then discards.
"""

from __future__ import annotations

import pprint
from typing import Any

import txaio
from autobahn.websocket import protocol as _protocol

__all__ = ["install", "pformat_when_debugging"]

#: txaio levels at which autobahn's debug lines are emitted.
_VERBOSE_LEVELS = frozenset({"debug", "trace"})


def pformat_when_debugging(value: Any, *args: Any, **kwargs: Any) -> str:
    """``pprint.pformat(value)`` when autobahn logs debug lines, else a placeholder."""
    if txaio.get_global_log_level() in _VERBOSE_LEVELS:
        return pprint.pformat(value, *args, **kwargs)
    return "(not formatted: debug logging is off)"


def install() -> None:
    """Make autobahn's protocol module use :func:`pformat_when_debugging` (idempotent)."""
    _protocol.pformat = pformat_when_debugging

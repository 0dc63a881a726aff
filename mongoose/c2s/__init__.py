"""Client-to-server streams (RFC 6120, RFC 6121): the ``[[listen.c2s]]`` listener.

``session`` is the transport-independent state machine, ``tcp`` the TCP/TLS
adapter, ``listener`` builds a listener's factory; ``authentication``,
``features``, ``compression``, ``shaper`` and ``proxy_protocol`` are the
pieces they use.
"""

__all__ = [
    "authentication",
    "compression",
    "context",
    "features",
    "interfaces",
    "listener",
    "proxy_protocol",
    "session",
    "shaper",
    "tcp",
]

"""A tiny authoritative DNS server on a loopback UDP port, for federation tests.

Another XMPP server under test (Prosody, through libunbound's ``forward``
setting) can be pointed at it to find our server by SRV record without any
change to the system's resolver configuration.  It runs in a daemon thread
so it also serves tests that do not run the reactor.

Example::

    server = StaticDNSServer()
    server.add_srv("_xmpp-server._tcp.mongoose.example", "mongoose.example", 5999)
    server.add_a("mongoose.example", "127.0.0.1")
    server.start()      # server.port is the UDP port
    ...
    server.stop()

Names it knows answer with their records (or an empty answer for other
types); other names get NXDOMAIN.
"""

from __future__ import annotations

import socket
import threading

from twisted.names import dns

__all__ = ["StaticDNSServer"]


class StaticDNSServer:
    """Answers A, AAAA and SRV questions from a fixed table.

    Attributes:
        port: the UDP port once started.
        queries: (name, type name) of every question received.
    """

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port = 0
        self.queries: list[tuple[str, str]] = []
        self._records: dict[str, list[tuple[int, object]]] = {}
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the table ---------------------------------------------------------------

    def _add(self, name: str, kind: int, payload: object) -> None:
        self._records.setdefault(name.lower().rstrip("."), []).append((kind, payload))

    def add_a(self, name: str, address: str) -> None:
        """Add an A record."""
        self._add(name, dns.A, dns.Record_A(address, ttl=5))

    def add_aaaa(self, name: str, address: str) -> None:
        """Add an AAAA record."""
        self._add(name, dns.AAAA, dns.Record_AAAA(address, ttl=5))

    def add_srv(self, name: str, target: str, port: int, priority: int = 0,
                weight: int = 0) -> None:
        """Add an SRV record (``name`` like ``_xmpp-server._tcp.DOMAIN``)."""
        self._add(name, dns.SRV, dns.Record_SRV(priority, weight, port, target, ttl=5))

    # -- serving -------------------------------------------------------------------

    def start(self) -> int:
        """Bind the socket and start answering; return the port."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((self.host, 0))
        sock.settimeout(0.2)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop answering and close the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._socket is not None:
            self._socket.close()

    def _serve(self) -> None:
        assert self._socket is not None
        while not self._stop.is_set():
            try:
                data, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                reply = self.answer(data)
            except Exception:  # a malformed query is not answered
                continue
            try:
                self._socket.sendto(reply, peer)
            except OSError:
                return

    def answer(self, data: bytes) -> bytes:
        """The reply to one query datagram."""
        query = dns.Message()
        query.fromStr(data)
        reply = dns.Message(id=query.id, answer=1, opCode=query.opCode, auth=1,
                            recDes=query.recDes, recAv=1)
        reply.queries = query.queries
        for question in query.queries:
            name = question.name.name.decode("ascii", "replace").lower().rstrip(".")
            self.queries.append((name, dns.QUERY_TYPES.get(question.type, str(question.type))))
            records = self._records.get(name)
            if records is None:
                reply.rCode = dns.ENAME
                continue
            for kind, payload in records:
                if kind == question.type:
                    reply.answers.append(
                        dns.RRHeader(name, kind, dns.IN, 5, payload, auth=True)
                    )
        return reply.toStr()

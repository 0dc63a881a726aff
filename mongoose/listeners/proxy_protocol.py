"""The PROXY protocol header of HAProxy (versions 1 and 2), for ``proxy_protocol = true``.

Follows "The PROXY protocol, versions 1 & 2" (haproxy.org,
``doc/proxy-protocol.txt``).  A load balancer sends the header before any
other byte of the connection; it carries the client's real address.  With
``listen.c2s.proxy_protocol`` the client address in the header is the one
logged, stored in the session and used by access rules.

:class:`ProxyHeaderParser` reads the header incrementally (it may arrive in
several reads) and never holds more than the largest header allowed.
:class:`ProxyProtocolFactory` wraps a listener's protocol factory: the
wrapped protocol (the TLS layer for direct TLS, or the c2s protocol) is only
connected once the header has been read, so every layer above sees the
client's address from its first byte on.  A connection whose header is
missing, malformed or slow (longer than ``timeout`` seconds) is dropped.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from zope.interface import directlyProvides, providedBy

__all__ = [
    "V1_MAX_LENGTH",
    "V2_SIGNATURE",
    "ProxyHeaderError",
    "ProxyHeaderParser",
    "ProxyInfo",
    "ProxyProtocolFactory",
]

#: The 12 bytes every version 2 header starts with.
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
#: The longest version 1 header, CRLF included.
V1_MAX_LENGTH = 107

_V1_PREFIX = b"PROXY "
_V2_HEADER = 16
# Address block sizes of version 2 by family (high nibble of byte 13).
_V2_INET, _V2_INET6, _V2_UNIX = 0x1, 0x2, 0x3
_V2_STREAM = 0x1

log = Logger()


class ProxyHeaderError(ValueError):
    """The connection did not start with a valid PROXY header."""


@dataclass(frozen=True)
class ProxyInfo:
    """What a PROXY header says about the connection.

    Attributes:
        version: 1 or 2.
        source: the client's (ip, port), or None when the header does not
            carry one (``UNKNOWN``, ``LOCAL``, non-IP families): the
            connection's own peer address applies then.
        destination: the address the client connected to, or None.
    """

    version: int
    source: tuple[str, int] | None
    destination: tuple[str, int] | None


def _check_ip(text: str, version: int) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ProxyHeaderError(f"bad address {text!r} in the PROXY header") from None
    if address.version != version:
        raise ProxyHeaderError(f"{text!r} is not an IPv{version} address")
    return str(address)


def _check_port(text: str) -> int:
    if not text.isdigit() or len(text) > 5 or (len(text) > 1 and text[0] == "0"):
        raise ProxyHeaderError(f"bad port {text!r} in the PROXY header")
    port = int(text)
    if port > 65535:
        raise ProxyHeaderError(f"bad port {text!r} in the PROXY header")
    return port


def _parse_v1(line: bytes) -> ProxyInfo:
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise ProxyHeaderError("the PROXY header is not ASCII") from None
    parts = text.split(" ")
    if len(parts) < 2 or parts[0] != "PROXY":
        raise ProxyHeaderError("malformed PROXY header")
    family = parts[1]
    if family == "UNKNOWN":
        return ProxyInfo(1, None, None)
    if family not in ("TCP4", "TCP6") or len(parts) != 6:
        raise ProxyHeaderError(f"malformed PROXY header for family {family!r}")
    version = 4 if family == "TCP4" else 6
    source = (_check_ip(parts[2], version), _check_port(parts[4]))
    destination = (_check_ip(parts[3], version), _check_port(parts[5]))
    return ProxyInfo(1, source, destination)


def _parse_v2(header: bytes, body: bytes) -> ProxyInfo:
    command = header[12] & 0x0F
    family, transport = header[13] >> 4, header[13] & 0x0F
    if command == 0x0:  # LOCAL: a health check by the proxy itself
        return ProxyInfo(2, None, None)
    if command != 0x1:
        raise ProxyHeaderError(f"unknown PROXY v2 command {command}")
    if transport != _V2_STREAM or family not in (_V2_INET, _V2_INET6):
        # UNSPEC, UNIX or datagram: keep the connection's own address.
        return ProxyInfo(2, None, None)
    if family == _V2_INET:
        if len(body) < 12:
            raise ProxyHeaderError("PROXY v2 IPv4 address block is too short")
        src, dst = body[0:4], body[4:8]
        sport, dport = struct.unpack("!HH", body[8:12])
    else:
        if len(body) < 36:
            raise ProxyHeaderError("PROXY v2 IPv6 address block is too short")
        src, dst = body[0:16], body[16:32]
        sport, dport = struct.unpack("!HH", body[32:36])
    source = (str(ipaddress.ip_address(src)), sport)
    destination = (str(ipaddress.ip_address(dst)), dport)
    return ProxyInfo(2, source, destination)


class ProxyHeaderParser:
    """Reads one PROXY header from the first bytes of a connection."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> tuple[ProxyInfo | None, bytes]:
        """Add received bytes.

        Args:
            data: the next bytes of the connection.

        Returns:
            ``(info, rest)`` once the header is complete (``rest`` is what
            followed it), else ``(None, b"")``.

        Raises:
            ProxyHeaderError: the bytes cannot start a valid header.
        """
        buffer = self._buffer + data
        if buffer.startswith(V2_SIGNATURE):
            return self._feed_v2(buffer)
        if buffer.startswith(_V1_PREFIX):
            return self._feed_v1(buffer)
        if V2_SIGNATURE.startswith(buffer) or _V1_PREFIX.startswith(buffer):
            self._buffer = buffer
            return None, b""
        self._buffer = b""
        raise ProxyHeaderError("the connection does not start with a PROXY header")

    def _feed_v1(self, buffer: bytes) -> tuple[ProxyInfo | None, bytes]:
        end = buffer.find(b"\r\n", 0, V1_MAX_LENGTH)
        if end < 0:
            if len(buffer) >= V1_MAX_LENGTH:
                self._buffer = b""
                raise ProxyHeaderError("the PROXY v1 header is too long")
            self._buffer = buffer
            return None, b""
        self._buffer = b""
        return _parse_v1(buffer[:end]), buffer[end + 2 :]

    def _feed_v2(self, buffer: bytes) -> tuple[ProxyInfo | None, bytes]:
        if len(buffer) < _V2_HEADER:
            self._buffer = buffer
            return None, b""
        if buffer[12] >> 4 != 0x2:
            self._buffer = b""
            raise ProxyHeaderError(f"unsupported PROXY header version {buffer[12] >> 4}")
        (length,) = struct.unpack("!H", buffer[14:16])
        total = _V2_HEADER + length
        if len(buffer) < total:
            self._buffer = buffer
            return None, b""
        self._buffer = b""
        return _parse_v2(buffer[:_V2_HEADER], buffer[_V2_HEADER:total]), buffer[total:]


class _ProxyProtocolWrapper(ProtocolWrapper):
    """Reads the PROXY header, then connects the wrapped protocol."""

    def __init__(self, factory: ProxyProtocolFactory, wrapped: Any):
        super().__init__(factory, wrapped)
        self._parser: ProxyHeaderParser | None = ProxyHeaderParser()
        self._info: ProxyInfo | None = None
        self._timer: Any = None
        self._wrapped_connected = False

    def makeConnection(self, transport: Any) -> None:
        """Remember the transport and wait for the header (the wrapped protocol waits too)."""
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)
        if self.factory.timeout is not None:
            self._timer = self.factory.reactor.callLater(self.factory.timeout, self._timed_out)

    def _timed_out(self) -> None:
        self._timer = None
        log.info("no PROXY header from {peer} in time", peer=self.transport.getPeer())
        self.transport.abortConnection()

    def dataReceived(self, data: bytes) -> None:
        """Parse the header, then pass everything on."""
        parser = self._parser
        if parser is None:
            self.wrappedProtocol.dataReceived(data)
            return
        try:
            info, rest = parser.feed(data)
        except ProxyHeaderError as error:
            self._parser = None
            self._cancel_timer()
            log.info("dropping {peer}: {error}", peer=self.transport.getPeer(), error=error)
            self.transport.abortConnection()
            return
        if info is None:
            return
        self._parser = None
        self._info = info
        self._cancel_timer()
        self._wrapped_connected = True
        self.wrappedProtocol.makeConnection(self)
        if rest and self.wrappedProtocol is not None:
            self.wrappedProtocol.dataReceived(rest)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def getPeer(self) -> Any:
        """The client's address from the header (else the connection's own peer)."""
        info = self._info
        if info is not None and info.source is not None:
            ip, port = info.source
            cls = IPv6Address if ":" in ip else IPv4Address
            return cls("TCP", ip, port)
        return self.transport.getPeer()

    def getHost(self) -> Any:
        """The address the client connected to, from the header when it has one."""
        info = self._info
        if info is not None and info.destination is not None:
            ip, port = info.destination
            cls = IPv6Address if ":" in ip else IPv4Address
            return cls("TCP", ip, port)
        return self.transport.getHost()

    def connectionLost(self, reason: Any) -> None:
        """Tell the wrapped protocol, if it was ever connected."""
        self._cancel_timer()
        self.factory.unregisterProtocol(self)
        if self._wrapped_connected:
            self.wrappedProtocol.connectionLost(reason)
        self.wrappedProtocol = None


class ProxyProtocolFactory(WrappingFactory):
    """Wraps a protocol factory so each connection starts with a PROXY header.

    Args:
        wrapped: the factory of the protocol behind the header.
        reactor: for the header timeout.
        timeout: seconds the peer has to send the header; None: no limit.
    """

    protocol = _ProxyProtocolWrapper

    def __init__(self, wrapped: Any, reactor: Any, timeout: float | None = None):
        super().__init__(wrapped)
        self.reactor = reactor
        self.timeout = timeout

    def pending(self) -> list[Any]:
        """Connections still waiting for their header."""
        return [p for p in self.protocols if not p._wrapped_connected]

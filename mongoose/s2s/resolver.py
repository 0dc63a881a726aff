"""Where a remote XMPP domain listens (RFC 6120 section 3.2).

Order: a ``s2s.outgoing.address`` override for the domain; else the SRV
records of ``_xmpp-server._tcp.DOMAIN`` (twisted.names), by priority and
then weight; else (no SRV record, or the look-up failed) the domain itself
on ``s2s.outgoing.port`` (its A/AAAA records, resolved when connecting).
A single SRV record with target ``.`` means the domain offers no XMPP
service: there is nothing to connect to.

:func:`addresses` then turns one target into IP addresses, ordered by
``s2s.outgoing.ip_versions`` (families not listed are left out).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IResolutionReceiver
from twisted.logger import Logger
from twisted.names import dns
from zope.interface import implementer

from mongoose.s2s.settings import S2SSettings

__all__ = ["Target", "addresses", "dns_resolver", "order_by_version", "resolve"]

log = Logger()


@dataclass(frozen=True)
class Target:
    """One address to try.

    Attributes:
        host: a host name or IP address.
        port: the TCP port.
        direct_tls: start TLS on connect (an address override with ``tls = true``).
    """

    host: str
    port: int
    direct_tls: bool = False


def _nameservers(path: str = "/etc/resolv.conf") -> list[tuple[str, int]]:
    servers = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    servers.append((parts[1], 53))
    except OSError:
        pass
    return servers or [("127.0.0.1", 53)]


def dns_resolver(reactor: Any = None) -> Any:
    """A twisted.names resolver using the system's name servers.

    ``/etc/resolv.conf`` is read once; unlike twisted.names' global
    resolver this one schedules no periodic re-reading of the file.

    Args:
        reactor: the reactor (default: the global one).

    Returns:
        An ``IResolver``.
    """
    from twisted.names import client

    return client.Resolver(servers=_nameservers(), reactor=reactor)


async def resolve(domain: str, settings: S2SSettings, resolver: Any = None) -> list[Target]:
    """The addresses to try for ``domain``, best first.

    Args:
        domain: the remote XMPP domain.
        settings: the local domain's federation settings.
        resolver: an ``IResolver`` (default: ``twisted.names.client``).

    Returns:
        The targets; empty when the domain says it has no XMPP service.
    """
    override = settings.addresses.get(domain)
    if override:
        return [Target(host, port, tls) for host, port, tls in override]
    if resolver is None:
        resolver = dns_resolver()
    name = f"_xmpp-server._tcp.{domain}"
    try:
        answers, _, _ = await resolver.lookupService(name, timeout=(settings.dns_timeout,))
    except Exception as exc:
        log.debug("no SRV record {name}: {error}", name=name, error=str(exc))
        return [Target(domain, settings.port)]
    records = [a.payload for a in answers if a.type == dns.SRV]
    if not records:
        return [Target(domain, settings.port)]
    if len(records) == 1 and str(records[0].target) in (".", ""):
        return []
    records.sort(key=lambda r: (r.priority, -r.weight))
    return [Target(str(r.target).rstrip("."), r.port) for r in records]


def order_by_version(found: list[str], ip_versions: tuple[int, ...]) -> list[str]:
    """Keep the addresses of the listed IP versions, in the order of the versions.

    Args:
        found: IP addresses as text, in resolver order.
        ip_versions: e.g. ``(4, 6)``, ``(6, 4)`` or ``(6,)``.

    Returns:
        The addresses of the first version, then of the next ... (resolver
        order within a version; duplicates dropped).
    """
    ordered: list[str] = []
    for version in ip_versions:
        for address in found:
            if ipaddress.ip_address(address).version == version and address not in ordered:
                ordered.append(address)
    return ordered


@implementer(IResolutionReceiver)
class _Collector:
    """Gathers the addresses of one host name look-up."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.done: defer.Deferred = defer.Deferred()

    def resolutionBegan(self, resolution: Any) -> None:
        """Nothing to do."""

    def addressResolved(self, address: Any) -> None:
        """Remember one address."""
        self.found.append(address.host)

    def resolutionComplete(self) -> None:
        """Fire with what was found."""
        if not self.done.called:
            self.done.callback(self.found)


async def addresses(
    host: str, ip_versions: tuple[int, ...], reactor: Any, timeout: float = 10.0
) -> list[str]:
    """The IP addresses to try for one target host, by ``ip_versions``.

    Args:
        host: a host name or an IP address.
        ip_versions: address families to use, in order (4 and/or 6).
        reactor: provides ``nameResolver`` (the system resolver, A/AAAA and
            ``/etc/hosts``).
        timeout: seconds the look-up may take.

    Returns:
        The addresses (empty when none of the wanted families is found).
    """
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        return [str(literal)] if literal.version in ip_versions else []
    types = [IPv4Address if v == 4 else IPv6Address for v in ip_versions]
    collector = _Collector()
    reactor.nameResolver.resolveHostName(collector, host, 0, types)
    collector.done.addTimeout(timeout, reactor)
    try:
        found = await collector.done
    except Exception as exc:
        log.info("cannot resolve {host}: {error}", host=host, error=str(exc) or repr(exc))
        return []
    return order_by_version(found, ip_versions)

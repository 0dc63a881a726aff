"""Where a remote XMPP domain listens (RFC 6120 section 3.2).

Order: a ``s2s.outgoing.address`` override for the domain; else the SRV
records of ``_xmpp-server._tcp.DOMAIN`` (twisted.names), by priority and
then weight; else (no SRV record, or the look-up failed) the domain itself
on ``s2s.outgoing.port`` (its A/AAAA records, resolved when connecting).
A single SRV record with target ``.`` means the domain offers no XMPP
service: there is nothing to connect to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.logger import Logger
from twisted.names import dns

from mongoose.s2s.settings import S2SSettings

__all__ = ["Target", "dns_resolver", "resolve"]

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

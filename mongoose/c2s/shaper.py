"""Traffic shapers: MongooseIM's ``[shaper]`` section ("Options: Shaper").

A shaper limits the bytes per second a connection may send.  It is a token
bucket holding at most one second of traffic: each read takes its size from
the bucket and, once the bucket is empty, the connection stops reading for as
long as the bucket needs to refill.  The flooding client is slowed down by
TCP flow control instead of having its data buffered here.

A listener's ``shaper`` option names a shaper from ``[shaper]`` (or
``host_config.shaper``), or (MongooseIM 6.0 style) an access rule whose value
is a shaper name; ``"none"`` means no shaping.
"""

from __future__ import annotations

from typing import Any

from mongoose.listeners.shaper import Shaper

__all__ = ["NO_SHAPER", "Shaper", "ShaperResolver"]

#: The shaper name meaning "do not shape".
NO_SHAPER = "none"


class ShaperResolver:
    """Finds the shaper a listener's ``shaper`` option names.

    Args:
        name: the listener's ``shaper`` option.
        config: the node's Config (``[shaper]``, ``host_config.shaper``).
        access: the node's AccessRules, for access-rule shapers.
    """

    def __init__(self, name: str, config: Any, access: Any):
        self.name = name
        self._config = config
        self._access = access
        self._global: dict[str, int] = {
            key: value["max_rate"] for key, value in config.options.get("shaper", {}).items()
        }
        general = config.options.get("general", {})
        hosts = tuple(general.get("hosts", ()))
        self._default_host: str | None = general.get("default_server_domain") or (
            hosts[0] if hosts else None
        )
        self._per_host: dict[str, dict[str, int]] = {}
        for entry in config.options.get("host_config", ()):
            host = entry.get("host", entry.get("host_type"))
            rates = {k: v["max_rate"] for k, v in entry.get("shaper", {}).items()}
            if host is not None and rates:
                self._per_host[host] = rates

    def _rates(self, host: str | None) -> dict[str, int]:
        # A dynamic domain takes the host_config.shaper of its host type.
        host_type = None if host is None else self._config.host_type_of(host)
        if host_type is not None and host_type in self._per_host:
            return {**self._global, **self._per_host[host_type]}
        return self._global

    def rate(self, host: str | None = None, jid: Any = None) -> int | None:
        """The bytes per second for a connection, or None for no shaping.

        Args:
            host: the stream's domain; None before the client named it (the
                default server domain is used then).
            jid: the authenticated user, once known (for access-rule shapers;
                before authentication only clauses matching everyone apply).
        """
        if self.name == NO_SHAPER:
            return None
        if host is None:
            host = self._default_host
        rates = self._rates(host)
        if self.name in rates:
            return rates[self.name]
        if host is None:
            return None
        value = self._access.match(self.name, host, jid, default=NO_SHAPER)
        if isinstance(value, str) and value in rates:
            return rates[value]
        return None

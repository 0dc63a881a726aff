"""Find modules, services and HTTP handler kinds by their MongooseIM names.

Built-in extensions are listed in :data:`BUILTIN`; third-party distributions
add theirs through entry points::

    [options.entry_points]
    mongoose.modules =
        mod_hello = hello_pkg.mod_hello:HelloModule
    mongoose.services =
        service_hello = hello_pkg.service:HelloService

The registry is an object, not module-level state, so tests and two nodes in
one process each have their own.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from twisted.logger import Logger
from zope.interface.verify import verifyObject

from mongoose.interfaces import IHTTPHandlerFactory, IModuleFactory, IServiceFactory

__all__ = ["ExtensionRegistry", "BUILTIN", "UPSTREAM_MODULES", "UPSTREAM_SERVICES"]

log = Logger()

#: kind -> {name: "package.module:attribute"} of what ships with mongoose.
BUILTIN: dict[str, dict[str, str]] = {
    "modules": {
        "mod_disco": "mongoose.modules.mod_disco:DiscoModule",
        "mod_offline": "mongoose.modules.mod_offline:OfflineModule",
        "mod_ping": "mongoose.modules.mod_ping:PingModule",
        "mod_presence": "mongoose.modules.mod_presence:PresenceModule",
        "mod_roster": "mongoose.modules.mod_roster:RosterModule",
        "mod_version": "mongoose.modules.mod_version:VersionModule",
        "mod_time": "mongoose.modules.mod_time:TimeModule",
        "mod_last": "mongoose.modules.mod_last:LastModule",
        "mod_private": "mongoose.modules.mod_private:PrivateModule",
        "mod_vcard": "mongoose.modules.mod_vcard:VCardModule",
        "mod_stream_management": "mongoose.modules.mod_stream_management:StreamManagementModule",
        "mod_csi": "mongoose.modules.mod_csi:CSIModule",
        "mod_register": "mongoose.modules.mod_register:RegisterModule",
        "mod_bosh": "mongoose.modules.mod_bosh:BoshModule",
        "mod_privacy": "mongoose.modules.mod_privacy:PrivacyModule",
        "mod_blocking": "mongoose.modules.mod_blocking:BlockingModule",
        "mod_carboncopy": "mongoose.modules.mod_carboncopy:CarbonCopyModule",
        "mod_blocklist": "mongoose.modules.mod_blocklist:BlocklistModule",
        "mod_adhoc": "mongoose.modules.mod_adhoc:AdhocModule",
    },
    "services": {
        "service_admin_extra": "mongoose.services.service_admin_extra:AdminExtraService",
        "service_cache": "mongoose.services.service_cache:CacheService",
        "service_traffic": "mongoose.services.service_traffic:TrafficService",
    },
    "http_handlers": {
        "mongoose_admin_api": "mongoose.api.rest:AdminAPIHandler",
        "mongoose_client_api": "mongoose.api.client:ClientAPIHandler",
        "mongoose_prometheus_handler": "mongoose.metrics.prometheus:PrometheusHandler",
        "mongoose_websocket_handler": "mongoose.http.websocket:WebSocketHandler",
        "mongoose_bosh_handler": "mongoose.http.bosh:BoshHandler",
        "mongoose_graphql_handler": "mongoose.api.graphql.handler:GraphQLHandler",
    },
}

#: MongooseIM modules that exist upstream; naming one we lack is "not
#: available in this version" rather than "unknown module".
UPSTREAM_MODULES = frozenset(
    """
    mod_adhoc mod_amp mod_auth_token mod_blocking mod_bosh mod_cache_users
    mod_caps mod_carboncopy mod_csi mod_disco mod_domain_isolation
    mod_event_pusher mod_extdisco mod_global_distrib mod_http_upload mod_inbox
    mod_jingle_sip mod_keystore mod_last mod_mam mod_muc mod_muc_light
    mod_muc_log mod_offline mod_offline_chatmarkers mod_ping mod_presence
    mod_privacy mod_private mod_pubsub mod_push_service_mongoosepush
    mod_register mod_roster mod_shared_roster_ldap mod_sic mod_smart_markers
    mod_stream_management mod_time mod_vcard mod_version mod_websockets
    mod_fast_auth_token mod_commands mod_admin_extra mod_http_notification
    mod_revproxy mod_metrics
    """.split()
)

UPSTREAM_SERVICES = frozenset(
    """
    service_admin_extra service_domain_db service_mongoose_system_metrics
    service_cache service_bosh service_traffic service_event_pusher
    """.split()
)

_GROUPS = {
    "modules": ("mongoose.modules", IModuleFactory),
    "services": ("mongoose.services", IServiceFactory),
    "http_handlers": ("mongoose.http_handlers", IHTTPHandlerFactory),
}


def _load(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    obj = import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


class ExtensionRegistry:
    """Maps names to module, service and HTTP handler factories.

    Args:
        builtin: kind -> {name: "module:attr"}; defaults to :data:`BUILTIN`.
        use_entry_points: also read the installed entry points.
    """

    def __init__(
        self,
        builtin: dict[str, dict[str, str]] | None = None,
        use_entry_points: bool = True,
    ):
        self._targets: dict[str, dict[str, Any]] = {kind: {} for kind in _GROUPS}
        self._loaded: dict[str, dict[str, Any]] = {kind: {} for kind in _GROUPS}
        for kind, entries in (BUILTIN if builtin is None else builtin).items():
            self._targets[kind].update(entries)
        if use_entry_points:
            for kind, (group, _) in _GROUPS.items():
                for ep in entry_points(group=group):
                    self._targets[kind].setdefault(ep.name, ep)

    def add(self, kind: str, name: str, factory: Any) -> None:
        """Register a factory object directly (tests, embedding)."""
        self._targets[kind][name] = factory
        self._loaded[kind].pop(name, None)

    def names(self, kind: str) -> list[str]:
        """Names available for a kind ('modules', 'services', 'http_handlers')."""
        return sorted(self._targets[kind])

    def get(self, kind: str, name: str) -> Any | None:
        """Return the factory for ``name``, loading it on first use, or None.

        Raises:
            LookupError: the entry exists but cannot be imported or does not
                provide the kind's interface; the message says why.
        """
        if name in self._loaded[kind]:
            return self._loaded[kind][name]
        target = self._targets[kind].get(name)
        if target is None:
            return None
        try:
            if isinstance(target, str):
                factory = _load(target)
            elif hasattr(target, "load") and hasattr(target, "group"):
                factory = target.load()
            else:
                factory = target
        except Exception as exc:  # an import error in a plugin must not crash startup
            raise LookupError(f"cannot be loaded: {exc.__class__.__name__}: {exc}") from exc
        iface = _GROUPS[kind][1]
        try:
            verifyObject(iface, factory)
        except Exception as exc:
            raise LookupError(f"does not provide {iface.__name__}: {exc}") from exc
        self._loaded[kind][name] = factory
        return factory

    def module(self, name: str) -> Any | None:
        """Factory of the module called ``name``, or None."""
        return self.get("modules", name)

    def service(self, name: str) -> Any | None:
        """Factory of the global service called ``name``, or None."""
        return self.get("services", name)

    def http_handler(self, name: str) -> Any | None:
        """Factory of the HTTP handler kind called ``name``, or None."""
        return self.get("http_handlers", name)

"""Dynamic domains and the ``domain`` commands (MongooseIM GraphQL ``domain.gql``).

MongooseIM's ``service_domain_db`` lets an administrator add, remove,
enable and disable XMPP domains at run time, each with a host type from
``general.host_types``, and set a password for the domain's administrator.
:class:`DynamicDomains` is the node's live table of such domains, loaded
from :class:`mongoose.storage.interfaces.IDomainStore` at start-up and kept
in step with it; the node asks it whether a domain is served, so a disabled
domain refuses logins and routing.  Domains of ``general.hosts`` are static:
they are always served and cannot be changed here.

A domain is served while it is enabled: the node gives :class:`DynamicDomains`
an :class:`IDomainLifecycle` that starts the modules of the domain's host type
when the domain is added or enabled (and at start-up for persisted ones),
ends the domain's sessions and stops those modules when it is disabled or
removed, and purges the domain's data from every store when it is removed.
Changes are serialised: one add, remove, enable or disable runs at a time.

The admin password is stored as SCRAM-SHA-256 keys (salted PBKDF2), never
as text, and is checked in constant time.

REST (MongooseIM 6.5 ``/domains/{domain}``): ``GET`` details
(``{"host_type", "status"}``), ``PUT`` add (``{"host_type": ...}``), ``PATCH``
enable/disable (``{"enabled": bool}``, through :func:`domain_commands`'
``setDomainEnabled``, which exists for that route), ``DELETE`` remove
(``{"host_type": ...}``; with ``"request": true`` it runs
``requestRemoveDomain`` and answers 202).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from twisted.internet import defer
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from zope.interface import Interface

from mongoose.auth.password import DEFAULT_ITERATIONS, PasswordSecret, make_secret, verify
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command, RestBinding
from mongoose.commands.types import (
    BOOL,
    DOMAIN,
    STRING,
    Enum,
    Field,
    ListOf,
    Object,
    String,
    bad_request,
)

__all__ = [
    "DynamicDomains",
    "IDomainLifecycle",
    "domain_commands",
    "DOMAIN_INFO",
    "DOMAIN_WITH_TYPE",
    "DOMAIN_STATUS",
    "DOMAIN_TYPE",
    "REST_DOMAIN_SCHEMA",
    "rest_domain",
]

CATEGORY = "domain"
_GROUP = "domain"

#: ``DomainStatus`` of the GraphQL schema (``DELETING`` never lasts here: removal is immediate).
DOMAIN_STATUS = Enum("ENABLED", "DISABLED", "DELETING", "DELETED")
#: ``DomainType`` of the GraphQL schema.
DOMAIN_TYPE = Enum("STATIC", "DYNAMIC")

#: ``Domain`` of the GraphQL schema.
DOMAIN_INFO = Object(
    "Domain",
    [
        Field("domain", DOMAIN, "Domain name", optional=True),
        Field("hostType", STRING, "Domain hostType", optional=True),
        Field("status", DOMAIN_STATUS, "Is domain enabled?", optional=True),
    ],
)
#: ``DomainWithType`` of the GraphQL schema.
DOMAIN_WITH_TYPE = Object(
    "DomainWithType",
    [
        Field("domain", DOMAIN, "Domain name", optional=True),
        Field("hostType", STRING, "Domain hostType", optional=True),
        Field("status", DOMAIN_STATUS, "Is domain enabled?", optional=True),
        Field("type", DOMAIN_TYPE, "Domain source type", optional=True),
    ],
)

#: The body of MongooseIM 6.5's REST ``GET /domains/{domain}``.
REST_DOMAIN_SCHEMA = {"type": "object", "required": ["host_type", "status"], "properties": {
    "host_type": {"type": "string"},
    "status": {"type": "string", "enum": ["enabled", "disabled", "deleting"]}}}


def rest_domain(details: dict[str, Any]) -> dict[str, Any]:
    """A ``DomainWithType`` result as the REST body ``{"host_type", "status"}``."""
    return {"host_type": details.get("hostType"),
            "status": str(details.get("status") or "").lower()}


#: The hash used for domain admin passwords.
ADMIN_HASH = "sha256"


class IDomainLifecycle(Interface):
    """What the node does when a dynamic domain starts or stops being served.

    Each method returns an awaitable (a Deferred or a coroutine).
    """

    def start_domain(domain, host_type):
        """Serve ``domain``: start the modules configured for ``host_type`` on it.

        Raises:
            Exception: a module failed to start; whatever was started is
                stopped again before the error is raised.
        """

    def stop_domain(domain, host_type, removed):
        """Stop serving ``domain``: end its sessions and stop its modules.

        Args:
            removed: True when the domain is being removed (its data is
                purged next), False when it is only disabled.
        """

    def purge_domain(domain):
        """Delete every record of ``domain`` from every store (users included)."""


class _NoLifecycle:
    """The lifecycle of a table that only records domains (unit tests, tools)."""

    async def start_domain(self, domain: str, host_type: str) -> None:
        """Nothing to start."""

    async def stop_domain(self, domain: str, host_type: str, removed: bool) -> None:
        """Nothing to stop."""

    async def purge_domain(self, domain: str) -> None:
        """Nothing to purge."""


class DynamicDomains:
    """The node's dynamic domains: a live table mirrored in the store.

    Args:
        store: an :class:`~mongoose.storage.interfaces.IDomainStore`.
        static_hosts: ``general.hosts`` (always served, never changed here).
        host_types: ``general.host_types``: the host types a domain may have.
        reactor: the reactor whose thread pool hashes passwords.
        iterations: PBKDF2 iterations for admin passwords.
        lifecycle: an :class:`IDomainLifecycle` (the node); by default
            nothing is started, stopped or purged.
    """

    log = Logger()

    def __init__(self, store: Any, static_hosts: Iterable[str], host_types: Iterable[str],
                 reactor: Any, iterations: int = DEFAULT_ITERATIONS,
                 lifecycle: Any = None):
        self._store = store
        self._lifecycle = lifecycle if lifecycle is not None else _NoLifecycle()
        self._lock = defer.DeferredLock()
        self.static_hosts = tuple(static_hosts)
        self.host_types = tuple(host_types)
        self._reactor = reactor
        self._iterations = iterations
        #: domain -> (host_type, enabled)
        self._domains: dict[str, tuple[str, bool]] = {}

    async def load(self) -> None:
        """Read every dynamic domain from the store (at start-up)."""
        rows = await self._store.list_domains()
        self._domains = {domain: (host_type, enabled) for domain, host_type, enabled in rows}
        for domain, (host_type, _) in sorted(self._domains.items()):
            if host_type not in self.host_types:
                self.log.warn("dynamic domain {domain} is not served: its host type {host_type!r} "
                              "is not in general.host_types", domain=domain, host_type=host_type)

    def enabled(self) -> list[tuple[str, str]]:
        """``(domain, host_type)`` of every enabled dynamic domain, sorted by name."""
        return sorted((d, t) for d, (t, enabled) in self._domains.items()
                      if enabled and t in self.host_types)

    # -- queries -------------------------------------------------------------

    def serves(self, domain: str) -> bool:
        """True for a static domain or an enabled dynamic one."""
        if domain in self.static_hosts:
            return True
        entry = self._domains.get(domain)
        return entry is not None and entry[1] and entry[0] in self.host_types

    def is_static(self, domain: str) -> bool:
        """True for a domain of ``general.hosts``."""
        return domain in self.static_hosts

    def details(self, domain: str) -> dict[str, Any] | None:
        """``DomainWithType`` of one domain, or None when unknown."""
        if domain in self.static_hosts:
            return {"domain": domain, "hostType": domain, "status": "ENABLED", "type": "STATIC"}
        entry = self._domains.get(domain)
        if entry is None:
            return None
        return {"domain": domain, "hostType": entry[0],
                "status": "ENABLED" if entry[1] else "DISABLED", "type": "DYNAMIC"}

    def all(self) -> list[dict[str, Any]]:
        """``DomainWithType`` of every static and dynamic domain, sorted by name."""
        names = sorted(set(self.static_hosts) | set(self._domains))
        return [info for info in (self.details(name) for name in names) if info is not None]

    def enabled_of_type(self, host_type: str) -> list[str]:
        """Enabled dynamic domains of one host type, sorted."""
        return sorted(d for d, (t, enabled) in self._domains.items() if t == host_type and enabled)

    # -- changes -------------------------------------------------------------

    def _check_dynamic(self, domain: str) -> tuple[str, bool]:
        if domain in self.static_hosts:
            raise CommandError("not_allowed", f"{domain} is a static domain (general.hosts)")
        entry = self._domains.get(domain)
        if entry is None:
            raise CommandError("not_found", f"domain {domain} does not exist")
        return entry

    def _check_host_type(self, host_type: str) -> None:
        if not host_type:
            raise bad_request("hostType", "must not be empty")
        if host_type not in self.host_types:
            known = ", ".join(self.host_types) or "none configured"
            raise CommandError(
                "not_allowed", f"unknown host type {host_type!r} (general.host_types: {known})")

    async def add(self, domain: str, host_type: str) -> dict[str, Any]:
        """Add an enabled dynamic domain and start its modules (idempotent for the same type).

        Raises:
            CommandError: ``not_allowed`` for a static domain or unknown host
                type, ``conflict`` when it exists with another host type,
                ``internal`` when its modules fail to start (the domain is
                not kept then).
        """
        self._check_host_type(host_type)
        if domain in self.static_hosts:
            raise CommandError("not_allowed", f"{domain} is a static domain (general.hosts)")
        async with _locked(self._lock):
            entry = self._domains.get(domain)
            if entry is None:
                created = await self._store.add_domain(domain, host_type)
                if not created:
                    row = await self._store.get_domain(domain)
                    entry = (row[1], row[2]) if row else (host_type, True)
                else:
                    entry = (host_type, True)
                if entry[0] == host_type:
                    self._domains[domain] = entry
                    if entry[1]:
                        await self._start(domain, host_type, forget=created)
            if entry[0] != host_type:
                raise CommandError(
                    "conflict", f"domain {domain} exists already with host type {entry[0]!r}")
        return {"domain": domain, "hostType": host_type,
                "status": "ENABLED" if entry[1] else "DISABLED"}

    async def _start(self, domain: str, host_type: str, forget: bool = False) -> None:
        """Start serving ``domain``; on failure mark it disabled (or forget a new one)."""
        try:
            await self._lifecycle.start_domain(domain, host_type)
        except Exception as exc:
            self.log.failure("modules of {domain} failed to start", domain=domain)
            if forget:
                await self._store.remove_domain(domain)
                self._domains.pop(domain, None)
            else:
                await self._store.set_enabled(domain, False)
                self._domains[domain] = (host_type, False)
            raise CommandError(
                "internal", f"the modules of host type {host_type!r} failed to start on "
                f"{domain}: {exc}") from None

    async def remove(self, domain: str, host_type: str) -> dict[str, Any]:
        """Remove a dynamic domain: end its sessions, stop its modules, purge its data.

        The domain's row goes last, so a removal interrupted by a storage
        failure leaves the domain disabled and can be run again.

        Raises:
            CommandError: ``not_allowed`` for a static domain or another
                host type, ``not_found`` when unknown.
        """
        async with _locked(self._lock):
            current, enabled = self._check_dynamic(domain)
            if current != host_type:
                raise CommandError(
                    "not_allowed", f"domain {domain} has host type {current!r}, not {host_type!r}")
            self._domains[domain] = (host_type, False)
            try:
                if enabled:
                    await self._lifecycle.stop_domain(domain, host_type, True)
                await self._lifecycle.purge_domain(domain)
                await self._store.remove_domain(domain)
            except BaseException:
                await _quietly(self._store.set_enabled(domain, False))
                raise
            self._domains.pop(domain, None)
        return {"domain": domain, "hostType": host_type, "status": "DELETED"}

    async def set_enabled(self, domain: str, enabled: bool) -> dict[str, Any]:
        """Enable (start its modules) or disable (end its sessions, stop its modules) a domain.

        Raises:
            CommandError: ``not_allowed`` for a static domain, ``not_found``,
                ``internal`` when the modules fail to start on enabling.
        """
        async with _locked(self._lock):
            host_type, was_enabled = self._check_dynamic(domain)
            if not await self._store.set_enabled(domain, enabled):
                self._domains.pop(domain, None)
                if was_enabled:
                    await self._lifecycle.stop_domain(domain, host_type, False)
                raise CommandError("not_found", f"domain {domain} does not exist")
            self._domains[domain] = (host_type, enabled)
            if enabled and not was_enabled:
                await self._start(domain, host_type)
            elif was_enabled and not enabled:
                await self._lifecycle.stop_domain(domain, host_type, False)
        return {"domain": domain, "hostType": host_type,
                "status": "ENABLED" if enabled else "DISABLED"}

    # -- admin passwords -----------------------------------------------------

    def _known(self, domain: str) -> None:
        if domain not in self.static_hosts and domain not in self._domains:
            raise CommandError("not_found", f"domain {domain} does not exist")

    async def set_password(self, domain: str, password: str) -> None:
        """Store the domain admin password as SCRAM-SHA-256 keys.

        Raises:
            CommandError: ``not_found`` for an unknown domain, ``bad_request``
                for an empty or unpreparable password.
        """
        self._known(domain)
        if not password:
            raise bad_request("password", "must not be empty")
        try:
            secret = await deferToThreadPool(
                self._reactor, self._reactor.getThreadPool(), make_secret,
                password, "scram", (ADMIN_HASH,), self._iterations)
        except ValueError as exc:
            raise bad_request("password", str(exc)) from None
        await self._store.set_admin_secret(domain, secret.to_columns()[1])

    async def delete_password(self, domain: str) -> bool:
        """Drop the domain admin password; return whether there was one."""
        self._known(domain)
        return await self._store.delete_admin_secret(domain)

    async def check_password(self, domain: str, password: str) -> bool:
        """True when ``password`` is the domain admin password (constant-time check)."""
        if not self.serves(domain):
            return False
        details = await self._store.get_admin_secret(domain)
        if not details:
            return False
        try:
            secret = PasswordSecret.from_columns(None, details)
        except ValueError:
            return False
        return await deferToThreadPool(
            self._reactor, self._reactor.getThreadPool(), verify, secret, password)


class _locked:
    """``async with _locked(lock)``: hold a DeferredLock for the block."""

    def __init__(self, lock: defer.DeferredLock):
        self._lock = lock

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(self, *exc_info: Any) -> None:
        self._lock.release()


async def _quietly(d: Any) -> None:
    try:
        await d
    except Exception:
        pass


def domain_commands(domains: DynamicDomains) -> list[Command]:
    """Build the ``domain`` commands over the node's :class:`DynamicDomains`.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def domains_by_host_type(hostType: str) -> list[str]:
        return domains.enabled_of_type(hostType)

    async def all_domains() -> list[dict[str, Any]]:
        return domains.all()

    async def domain_details(domain: str) -> dict[str, Any]:
        info = domains.details(domain)
        if info is None:
            raise CommandError("not_found", f"domain {domain} does not exist")
        return info

    async def add_domain(domain: str, hostType: str) -> dict[str, Any]:
        return await domains.add(domain, hostType)

    async def remove_domain(domain: str, hostType: str) -> dict[str, Any]:
        return await domains.remove(domain, hostType)

    async def enable_domain(domain: str) -> dict[str, Any]:
        return await domains.set_enabled(domain, True)

    async def disable_domain(domain: str) -> dict[str, Any]:
        return await domains.set_enabled(domain, False)

    async def set_domain_enabled(domain: str, enabled: bool) -> dict[str, Any]:
        return await domains.set_enabled(domain, enabled)

    async def set_domain_password(domain: str, password: str) -> str:
        await domains.set_password(domain, password)
        return "Domain password set successfully"

    async def delete_domain_password(domain: str) -> str:
        if not await domains.delete_password(domain):
            raise CommandError("not_found", f"domain {domain} has no admin password")
        return "Domain password deleted successfully"

    domain_arg = Arg("domain", DOMAIN, "The XMPP domain", example="example.com")
    host_type_arg = Arg("hostType", String(), "The host type (general.host_types)",
                        example="type1")
    return [
        Command(
            category=CATEGORY, name="domainsByHostType", action="read",
            description="Get all enabled domains by hostType",
            security_policy="admin", args=(host_type_arg,), result=ListOf(DOMAIN),
            handler=domains_by_host_type,
        ),
        Command(
            category=CATEGORY, name="allDomains", action="read",
            description="Get all domains with details",
            security_policy="admin", result=ListOf(DOMAIN_WITH_TYPE), handler=all_domains,
        ),
        Command(
            category=CATEGORY, name="domainDetails", action="read",
            description="Get information about the domain",
            security_policy="domain_admin", domain_arg="domain", args=(domain_arg,),
            result=DOMAIN_WITH_TYPE, handler=domain_details,
            rest=RestBinding(method="GET", path="/domains/{domain}", group=_GROUP,
                             shape=rest_domain, shape_schema=REST_DOMAIN_SCHEMA),
        ),
        Command(
            category=CATEGORY, name="addDomain", action="create",
            description="Add new domain",
            security_policy="admin", args=(domain_arg, host_type_arg), result=DOMAIN_INFO,
            handler=add_domain,
            rest=RestBinding(method="PUT", path="/domains/{domain}",
                             body={"host_type": "hostType"}, status=204, result=None,
                             group=_GROUP),
        ),
        Command(
            category=CATEGORY, name="removeDomain", action="delete",
            description="Remove domain",
            security_policy="admin", args=(domain_arg, host_type_arg), result=DOMAIN_INFO,
            handler=remove_domain,
            rest=RestBinding(method="DELETE", path="/domains/{domain}",
                             body={"host_type": "hostType"}, status=204, result=None,
                             switch=(("request", True, "requestRemoveDomain", 202),),
                             group=_GROUP),
        ),
        Command(
            category=CATEGORY, name="requestRemoveDomain", action="delete",
            description="Remove domain asynchronously (done at once here)",
            security_policy="admin", args=(domain_arg, host_type_arg), result=DOMAIN_INFO,
            handler=remove_domain,
        ),
        Command(
            category=CATEGORY, name="enableDomain", action="update",
            description="Enable domain",
            security_policy="admin", args=(domain_arg,), result=DOMAIN_INFO,
            handler=enable_domain,
        ),
        Command(
            category=CATEGORY, name="disableDomain", action="update",
            description="Disable domain",
            security_policy="admin", args=(domain_arg,), result=DOMAIN_INFO,
            handler=disable_domain,
        ),
        Command(
            category=CATEGORY, name="setDomainEnabled", action="update",
            description="Enable or disable domain (the REST PATCH /domains/{domain})",
            security_policy="admin",
            args=(domain_arg, Arg("enabled", BOOL, "true to enable, false to disable",
                                  example=True)),
            result=DOMAIN_INFO, handler=set_domain_enabled,
            rest=RestBinding(method="PATCH", path="/domains/{domain}",
                             body={"enabled": "enabled"}, status=204, result=None,
                             group=_GROUP),
        ),
        Command(
            category=CATEGORY, name="setDomainPassword", action="update",
            description="Create or update domain admin password",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_arg, Arg("password", String(non_empty=True), "The new password", example="secret")),
            result=STRING, handler=set_domain_password,
        ),
        Command(
            category=CATEGORY, name="deleteDomainPassword", action="delete",
            description="Delete domain admin password",
            security_policy="admin", args=(domain_arg,), result=STRING,
            handler=delete_domain_password,
        ),
    ]

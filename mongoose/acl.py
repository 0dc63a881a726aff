"""Access classes (``[acl]``) and access rules (``[access]``), per host.

Follows "Options: Acl" and "Options: Access" of the MongooseIM 6.x
documentation.

An access rule is a list of ``{acl, value}`` clauses tried in order; the
value of the first clause whose access class holds the user is the rule's
answer (``"allow"``, ``"deny"``, a number such as a session limit, or a
shaper name).  No matching clause, or an undefined rule, gives the default
(``"deny"``).  The rules ``all`` (allow) and ``none`` (deny) are built in.

An access class is a union of patterns.  A pattern starts from ``match``
(``current_domain`` by default: users of the domain being checked;
``any_hosted_domain``: users of any domain of this node; ``all``: anyone;
``none``: nobody) and narrows it by user, server and resource, each
literally (compared after the same preparation JIDs get, so ``"Alice"``
matches ``alice``), by regular expression (searched anywhere in the part,
like Erlang's ``re:run``) or by glob (matching the whole part).  The classes
``all`` and ``none`` need no definition; an undefined class matches nobody.
``host_config`` adds its own classes' patterns and rule clauses for its host
(see :meth:`mongoose.config.loader.Config.acl_for` / ``access_for``); a
dynamic domain gets those of its host type's entry (the config resolves the
domain with ``host_type_of``), a domain the config does not know the
top-level ones.  ``any_hosted_domain`` covers every domain the node serves,
dynamic ones included, when the node gives its ``hosted`` check.

MongooseIM has no IP address patterns, so neither does this: the ``ip``
argument of :meth:`AccessRules.match` is accepted (the c2s listener passes
the client's address, from the PROXY header when there is one) for callers
and future patterns, and ignored.

A pattern whose regular expression does not compile matches nobody (and is
logged once), so one bad pattern never breaks logins.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from typing import Any

from twisted.logger import Logger

from mongoose.xmpp.jid import InvalidJID, prep_domainpart, prep_localpart, prep_resourcepart

__all__ = ["AccessRules"]

log = Logger()

_PARTS = ("user", "server", "resource")
_PREP = {
    "user": prep_localpart,
    "server": prep_domainpart,
    "resource": prep_resourcepart,
}


class _Never:
    """A compiled condition that never matches (a bad regexp)."""

    def search(self, value: str) -> None:
        return None

    def match(self, value: str) -> None:
        return None


_NEVER = _Never()


def _prepared(part: str, value: str) -> str | None:
    try:
        return _PREP[part](value)
    except InvalidJID:
        return None


def _compile(pattern: str, what: str) -> Any:
    try:
        return re.compile(pattern)
    except re.error as error:
        log.warn(
            "ACL {what} {pattern!r} is not a valid regexp ({error}); it matches nobody",
            what=what,
            pattern=pattern,
            error=error,
        )
        return _NEVER


class _Pattern:
    """One compiled ACL pattern: a base set narrowed by conditions on each part."""

    __slots__ = ("base", "checks", "never")

    def __init__(self, spec: Mapping[str, Any]):
        self.base = spec.get("match", "current_domain")
        self.never = self.base == "none"
        checks: list[tuple[int, str, Any]] = []
        for index, part in enumerate(_PARTS):
            literal = spec.get(part)
            if literal is not None:
                prepared = _prepared(part, literal)
                if prepared is None:
                    self.never = True
                checks.append((index, "eq", prepared))
            regexp = spec.get(f"{part}_regexp")
            if regexp is not None:
                checks.append((index, "re", _compile(regexp, f"{part}_regexp")))
            glob = spec.get(f"{part}_glob")
            if glob is not None:
                # fnmatch.translate ends with \Z; matching from the start makes
                # the glob cover the whole part, as MongooseIM's globs do.
                checks.append((index, "glob", re.compile(fnmatch.translate(glob))))
        self.checks = tuple(checks)

    def matches(self, host: str, hosted: Callable[[str], bool],
                parts: tuple[Any, Any, Any]) -> bool:
        if self.never:
            return False
        base = self.base
        server = parts[1]
        if base == "current_domain":
            if server != host:
                return False
        elif base == "any_hosted_domain":
            if server is None or not hosted(server):
                return False
        for index, kind, expected in self.checks:
            value = parts[index]
            if value is None:
                return False
            if kind == "eq":
                if value != expected:
                    return False
            elif kind == "re":
                if expected.search(value) is None:
                    return False
            elif expected.match(value) is None:
                return False
        return True


class AccessRules:
    """Evaluates ``[access]`` rules against users for a config.

    Args:
        config: a mongoose.config.loader.Config.
        hosted: ``domain -> bool``: the domains ``any_hosted_domain`` covers
            (the node's served domains); by default ``general.hosts``.
    """

    def __init__(self, config: Any, hosted: Callable[[str], bool] | None = None):
        self.config = config
        self._hosted = hosted if hosted is not None else frozenset(config.hosts).__contains__
        # host type (None: top level) -> (class name -> patterns, rule name -> clauses).
        # Keyed by host type, not domain: a dynamic domain removed and added
        # again with another type gets the other type's settings.
        self._compiled: dict[str | None, tuple[dict[str, tuple[_Pattern, ...]], Mapping]] = {}

    def _for_host(self, host: str) -> tuple[dict[str, tuple[_Pattern, ...]], Mapping]:
        host_type = self.config.host_type_of(host)
        found = self._compiled.get(host_type)
        if found is None:
            if host_type is None:
                acl = self.config.options["acl"]
                access = self.config.options["access"]
            else:
                acl = self.config.acl_for(host_type)
                access = self.config.access_for(host_type)
            classes = {name: tuple(_Pattern(p) for p in patterns) for name, patterns in acl.items()}
            found = (classes, access)
            self._compiled[host_type] = found
        return found

    def acl_matches(self, acl: str, host: str, jid: Any = None) -> bool:
        """True when ``jid`` is in access class ``acl`` as seen from ``host``.

        Args:
            acl: the class name (``all`` and ``none`` are built in).
            host: the domain the check is made for (``current_domain``).
            jid: a JID (anything with ``user``, ``host``, ``resource``), or
                None for an unknown peer (only ``match = "all"`` patterns
                without conditions hold it).
        """
        if acl == "all":
            return True
        if acl == "none":
            return False
        patterns = self._for_host(host)[0].get(acl, ())
        parts = (
            getattr(jid, "user", None),
            getattr(jid, "host", None),
            getattr(jid, "resource", None),
        )
        hosted = self._hosted
        return any(p.matches(host, hosted, parts) for p in patterns)

    def match(
        self,
        rule: str,
        host: str,
        jid: Any = None,
        ip: str | None = None,
        default: Any = "deny",
    ) -> Any:
        """The value of the first clause of ``rule`` whose class holds ``jid``.

        Args:
            rule: the rule name (``all`` and ``none`` are built in).
            host: the domain the check is made for.
            jid: the user, or None.
            ip: the client's address (accepted; MongooseIM has no IP patterns).
            default: the answer when no clause matches or the rule is undefined.
        """
        if rule == "all":
            return "allow"
        if rule == "none":
            return "deny"
        clauses = self._for_host(host)[1].get(rule)
        if not clauses:
            return default
        for clause in clauses:
            if self.acl_matches(clause["acl"], host, jid):
                return clause["value"]
        return default

    def allowed(self, rule: str, host: str, jid: Any = None, ip: str | None = None) -> bool:
        """True when ``rule`` answers ``allow`` for ``jid`` on ``host``."""
        return self.match(rule, host, jid, ip) == "allow"

"""Access classes (``[acl]``) and access rules (``[access]``), per host.

An access rule is a list of ``{acl, value}`` clauses tried in order; the
value of the first clause whose access class matches the user is the rule's
answer (``"allow"``, ``"deny"``, a number such as a session limit, or a
shaper name).  Access classes are unions of patterns; a pattern starts from
``match`` (``current_domain`` by default: users of the checked domain) and
narrows it by user, server and resource, literally, by regular expression or
by glob.  The built-in classes ``all`` and ``none`` need no definition; an
undefined class matches nobody.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Any

__all__ = ["AccessRules"]


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _matches(value: str | None, literal, regexp, glob) -> bool:
    if literal is not None and value != literal:
        return False
    if regexp is not None and (value is None or not _regex(regexp).search(value)):
        return False
    if glob is not None and (value is None or not fnmatch.fnmatchcase(value, glob)):
        return False
    return True


class AccessRules:
    """Evaluates ``[access]`` rules against users for a config.

    Args:
        config: a mongoose.config.loader.Config.
    """

    def __init__(self, config):
        self.config = config
        self._hosts = frozenset(config.hosts)

    def _pattern_matches(self, pattern, host: str, user, server, resource) -> bool:
        base = pattern.get("match", "current_domain")
        if base == "none":
            return False
        if base == "current_domain" and server != host:
            return False
        if base == "any_hosted_domain" and server not in self._hosts:
            return False
        return (
            _matches(user, pattern.get("user"), pattern.get("user_regexp"), pattern.get("user_glob"))
            and _matches(
                server, pattern.get("server"), pattern.get("server_regexp"),
                pattern.get("server_glob"),
            )
            and _matches(
                resource, pattern.get("resource"), pattern.get("resource_regexp"),
                pattern.get("resource_glob"),
            )
        )

    def acl_matches(self, acl: str, host: str, jid=None) -> bool:
        """True when the user ``jid`` (a JID or None for an anonymous peer) is in class ``acl``."""
        if acl == "all":
            return True
        if acl == "none":
            return False
        try:
            patterns = self.config.acl_for(host).get(acl, ())
        except KeyError:
            patterns = self.config.options["acl"].get(acl, ())
        user = getattr(jid, "user", None)
        server = getattr(jid, "host", None)
        resource = getattr(jid, "resource", None)
        return any(self._pattern_matches(p, host, user, server, resource) for p in patterns)

    def match(self, rule: str, host: str, jid=None, ip: str | None = None, default: Any = "deny"):
        """The value of the first clause of ``rule`` whose class holds ``jid``.

        The rules ``all`` (allow) and ``none`` (deny) are built in; an
        undefined rule gives ``default``.
        """
        if rule == "all":
            return "allow"
        if rule == "none":
            return "deny"
        try:
            clauses = self.config.access_for(host).get(rule)
        except KeyError:
            clauses = self.config.options["access"].get(rule)
        if not clauses:
            return default
        for clause in clauses:
            if self.acl_matches(clause["acl"], host, jid):
                return clause["value"]
        return default

    def allowed(self, rule: str, host: str, jid=None, ip: str | None = None) -> bool:
        """True when ``rule`` answers ``allow`` for ``jid`` on ``host``."""
        return self.match(rule, host, jid, ip) == "allow"

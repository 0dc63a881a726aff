"""Who runs a command: the global admin, a domain admin or a user.

The three kinds follow MongooseIM's GraphQL endpoints (``admin``,
``domain_admin`` and ``user`` schemas, ``@protected`` directive): a domain
admin may act only on its own domain, a user only as itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.words.protocols.jabber import jid as xmpp_jid

__all__ = ["Caller", "ADMIN", "DOMAIN_ADMIN", "USER"]

ADMIN = "admin"
DOMAIN_ADMIN = "domain_admin"
USER = "user"


@dataclass(frozen=True)
class Caller:
    """The identity a command runs for.

    Build one with :meth:`admin`, :meth:`domain_admin` or :meth:`user`.

    Attributes:
        kind: ``admin``, ``domain_admin`` or ``user``.
        domain: the domain of a domain admin or of a user (lowercased).
        jid: the bare JID of a user, else None.
    """

    kind: str
    domain: str | None = None
    jid: xmpp_jid.JID | None = None

    @classmethod
    def admin(cls) -> Caller:
        """The global administrator: may run every command on every domain."""
        return cls(ADMIN)

    @classmethod
    def domain_admin(cls, domain: str) -> Caller:
        """The administrator of one domain.

        Raises:
            ValueError: ``domain`` is not a valid domain name.
        """
        parsed = _parse(domain)
        if parsed.user is not None or parsed.resource is not None:
            raise ValueError(f"{domain!r} is not a domain name")
        return cls(DOMAIN_ADMIN, domain=parsed.host)

    @classmethod
    def user(cls, user: str | xmpp_jid.JID) -> Caller:
        """An authenticated user; only the bare JID is kept.

        Raises:
            ValueError: ``user`` is not a JID with a user part.
        """
        parsed = user if isinstance(user, xmpp_jid.JID) else _parse(user)
        if not parsed.user:
            raise ValueError(f"{user!s} is not a user JID")
        return cls(USER, domain=parsed.host, jid=parsed.userhostJID())

    @property
    def is_admin(self) -> bool:
        """True for the global administrator."""
        return self.kind == ADMIN

    def may_act_on(self, domain: str) -> bool:
        """Whether the caller may touch data of ``domain`` (a lowercased host)."""
        return self.kind == ADMIN or self.domain == domain

    def __str__(self) -> str:
        if self.kind == ADMIN:
            return "admin"
        if self.kind == DOMAIN_ADMIN:
            return f"admin of {self.domain}"
        return self.jid.userhost() if self.jid else "user"


def _parse(text: str) -> xmpp_jid.JID:
    try:
        return xmpp_jid.JID(text)
    except Exception as exc:  # InvalidFormat and stringprep errors
        raise ValueError(f"{text!r} is not a valid JID: {exc}") from None

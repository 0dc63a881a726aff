"""Account commands: register, remove, list and check users, change passwords.

Names, arguments and payloads follow MongooseIM's GraphQL schemas
(``admin/account.gql``: ``AccountAdminQuery``/``AccountAdminMutation``;
``user/account.gql``: ``AccountUserMutation``).  The REST bindings give the
MongooseIM 6.5 admin REST API paths ``/users/{XMPPHost}`` and
``/users/{XMPPHost}/{username}``.

``banUser`` sets a random password and ends the user's sessions (through
``on_banned``).  Not provided: ``checkPasswordHash`` (needs stored plain
passwords) and ``importUsers``.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.words.protocols.jabber.jid import JID

from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command, RestBinding
from mongoose.commands.types import (
    BOOL,
    DOMAIN,
    INT,
    STRING,
    USERNAME,
    Field,
    Int,
    Jid,
    ListOf,
    Object,
)

__all__ = [
    "account_commands",
    "USER_PAYLOAD",
    "CHECK_PASSWORD_PAYLOAD",
    "CHECK_USER_PAYLOAD",
]

CATEGORY = "account"
#: Upper bound of paging arguments (SQL engines take 32/64-bit integers).
MAX_PAGE = 2**31 - 1

USER_JID = Jid(require_user=True)

USER_PAYLOAD = Object(
    "UserPayload",
    [Field("jid", USER_JID, "User JID"), Field("message", STRING, "Result message")],
)
CHECK_PASSWORD_PAYLOAD = Object(
    "CheckPasswordPayload",
    [
        Field("correct", BOOL, "Status of the password correctness"),
        Field("message", STRING, "Result message"),
    ],
)
CHECK_USER_PAYLOAD = Object(
    "CheckUserPayload",
    [
        Field("exist", BOOL, "Status of the user existence"),
        Field("message", STRING, "Result message"),
    ],
)

_USERS_GROUP = "users"


async def _call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an IAuthBackend method; its ValueError (bad name/password) is bad_request."""
    try:
        return await defer.maybeDeferred(method, *args, **kwargs)
    except ValueError as exc:
        raise CommandError("bad_request", str(exc) or "invalid user name or password") from None


def _bare(user: JID) -> str:
    return f"{user.user}@{user.host}"


def _require_password(arg: str, password: str) -> None:
    if not password:
        raise CommandError("bad_request", f"{arg}: must not be empty", arg=arg)


def account_commands(
    auth: Any,
    domain_exists: Callable[[str], bool] | None = None,
    on_removed: Callable[[str, str], Any] | None = None,
    on_banned: Callable[[str, str, str], Any] | None = None,
) -> list[Command]:
    """Build the ``account`` commands over an authentication backend.

    Args:
        auth: provides :class:`mongoose.interfaces.IAuthBackend`.
        domain_exists: when given, ``registerUser`` refuses domains for which
            it returns False (``not_found``).
        on_removed: called (and awaited) with (username, domain) after an
            account is removed, to drop the user's data and sessions.
        on_banned: called (and awaited) with (username, domain, reason) after
            ``banUser`` locked an account out, to end its sessions.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def register_user(domain: str, username: str | None, password: str) -> dict:
        _require_password("password", password)
        if domain_exists is not None and not domain_exists(domain):
            raise CommandError("not_found", f"Domain {domain} is not served by this node")
        name = username if username is not None else str(uuid.uuid4())
        jid = f"{name}@{domain}"
        created = await _call(auth.register, name, domain, password)
        if not created:
            raise CommandError("conflict", f"User {jid} already registered")
        return {"jid": jid, "message": f"User {jid} successfully registered"}

    async def remove_user(user: JID) -> dict:
        removed = await _call(auth.remove, user.user, user.host)
        if not removed:
            raise CommandError("not_found", f"User {_bare(user)} does not exist")
        if on_removed is not None:
            await _call(on_removed, user.user, user.host)
        return {"jid": _bare(user), "message": f"User {_bare(user)} successfully unregistered"}

    async def list_users(domain: str, limit: int | None, index: int) -> list[str]:
        names = await _call(auth.list_users, domain, limit=limit, offset=index)
        return [f"{name}@{domain}" for name in names]

    async def count_users(domain: str) -> int:
        return await _call(auth.count_users, domain)

    async def check_password(user: JID, password: str) -> dict:
        if not await _call(auth.user_exists, user.user, user.host):
            raise CommandError("not_found", f"User {_bare(user)} does not exist")
        correct = bool(await _call(auth.check_password, user.user, user.host, password))
        message = "Password is correct" if correct else "Password is incorrect"
        return {"correct": correct, "message": message}

    async def check_user(user: JID) -> dict:
        exist = bool(await _call(auth.user_exists, user.user, user.host))
        verb = "exists" if exist else "does not exist"
        return {"exist": exist, "message": f"User {_bare(user)} {verb}"}

    async def change_user_password(user: JID, newPassword: str) -> dict:
        _require_password("newPassword", newPassword)
        changed = await _call(auth.set_password, user.user, user.host, newPassword)
        if not changed:
            raise CommandError("not_found", f"User {_bare(user)} does not exist")
        return {"jid": _bare(user), "message": "Password changed"}

    async def ban_user(user: JID, reason: str) -> dict:
        # A random password nobody knows: the account can no longer log in.
        changed = await _call(auth.set_password, user.user, user.host,
                              secrets.token_urlsafe(32))
        if not changed:
            raise CommandError("not_found", f"User {_bare(user)} does not exist")
        if on_banned is not None:
            await _call(on_banned, user.user, user.host, reason)
        return {"jid": _bare(user),
                "message": f"User {_bare(user)} successfully banned with reason: {reason}"}

    async def unregister(user: JID) -> str:
        return (await remove_user(user))["message"]

    async def change_password(user: JID, newPassword: str) -> str:
        return (await change_user_password(user, newPassword))["message"]

    user_arg = Arg("user", USER_JID, "The user's bare JID", example="alice@localhost")
    domain_arg = Arg("domain", DOMAIN, "The XMPP domain", example="localhost")
    # MongooseIM names the domain path variable XMPPHost (Administration-backend_swagger.yml).
    jid_from_path = {"user": "{username}@{XMPPHost}"}
    domain_from_path = {"domain": "{XMPPHost}"}
    return [
        Command(
            category=CATEGORY, name="registerUser", action="create",
            description="Register a user. Username will be generated when skipped",
            security_policy="domain_admin", domain_arg="domain",
            args=(
                domain_arg,
                Arg("username", USERNAME, "The user name (local part of the JID)",
                    default=None, example="alice"),
                Arg("password", STRING, "The new user's password", example="makota"),
            ),
            result=USER_PAYLOAD, handler=register_user,
            rest=RestBinding(
                method="POST", path="/users/{XMPPHost}", compose=domain_from_path,
                body={"username": "username", "password": "password"},
                status=201, result="message", location="{username}",
                group=_USERS_GROUP,
            ),
        ),
        Command(
            category=CATEGORY, name="removeUser", action="delete",
            description="Remove the user's account along with all the associated personal data",
            security_policy="domain_admin", domain_arg="user",
            args=(user_arg,), result=USER_PAYLOAD, handler=remove_user,
            rest=RestBinding(
                method="DELETE", path="/users/{XMPPHost}/{username}", compose=jid_from_path,
                status=204, result=None, group=_USERS_GROUP,
            ),
        ),
        Command(
            category=CATEGORY, name="listUsers", action="read",
            description="List users per domain",
            security_policy="domain_admin", domain_arg="domain",
            args=(
                domain_arg,
                Arg("limit", Int(min=1, max=MAX_PAGE), "Maximum number of users to return; all when omitted",
                    default=None, example=100),
                Arg("index", Int(min=0, max=MAX_PAGE), "Zero-based index of the first user to return",
                    default=0, example=0),
            ),
            result=ListOf(STRING), handler=list_users,
            rest=RestBinding(
                method="GET", path="/users/{XMPPHost}", compose=domain_from_path,
                query={"limit": "limit", "index": "index"}, group=_USERS_GROUP,
            ),
        ),
        Command(
            category=CATEGORY, name="countUsers", action="read",
            description="Get number of users per domain",
            security_policy="domain_admin", domain_arg="domain",
            args=(domain_arg,), result=INT, handler=count_users,
        ),
        Command(
            category=CATEGORY, name="checkPassword", action="read",
            description="Check if a password is correct",
            security_policy="domain_admin", domain_arg="user",
            args=(user_arg, Arg("password", STRING, "The password to check", example="makota")),
            result=CHECK_PASSWORD_PAYLOAD, handler=check_password,
        ),
        Command(
            category=CATEGORY, name="checkUser", action="read",
            description="Check if a user exists",
            security_policy="domain_admin", domain_arg="user",
            args=(user_arg,), result=CHECK_USER_PAYLOAD, handler=check_user,
        ),
        Command(
            category=CATEGORY, name="changeUserPassword", action="update",
            description="Change the password of a user",
            security_policy="domain_admin", domain_arg="user",
            args=(user_arg, Arg("newPassword", STRING, "The new password", example="kot123")),
            result=USER_PAYLOAD, handler=change_user_password,
            rest=RestBinding(
                method="PUT", path="/users/{XMPPHost}/{username}", compose=jid_from_path,
                body={"newpass": "newPassword"}, status=204, result=None, group=_USERS_GROUP,
            ),
        ),
        Command(
            category=CATEGORY, name="banUser", action="update",
            description="Ban a user: set a random password and end the user's sessions",
            security_policy="domain_admin", domain_arg="user",
            args=(user_arg, Arg("reason", STRING, "Why; sent to the user's clients",
                                example="spam")),
            result=USER_PAYLOAD, handler=ban_user,
        ),
        Command(
            category=CATEGORY, name="unregister", action="delete",
            description="Remove an account (a user removes their own account)",
            security_policy="user",
            args=(user_arg,), result=STRING, handler=unregister,
        ),
        Command(
            category=CATEGORY, name="changePassword", action="update",
            description="Change the password of an account (a user changes their own password)",
            security_policy="user",
            args=(user_arg, Arg("newPassword", STRING, "The new password", example="kot123")),
            result=STRING, handler=change_password,
        ),
    ]

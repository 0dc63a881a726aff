"""The ``private`` commands (MongooseIM GraphQL ``PrivateAdminQuery``/``PrivateAdminMutation``).

``mod_private`` registers them.  Each works through the ``mod_private``
instance of the user's domain and fails with ``unavailable`` when the module
does not run there.  XML travels as text (GraphQL ``XmlElement``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from twisted.words.xish.domish import Element

from mongoose.commands.defs.addresses import bare_jid, module_missing
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import STRING, Jid, String, Xml, bad_request
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.serialize import element_to_str

__all__ = ["private_commands"]

CATEGORY = "private"

_NAME_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


def private_commands(find_service: Callable[[str], Awaitable[Any]]) -> list[Command]:
    """Build the ``private`` commands.

    Args:
        find_service: ``domain -> awaitable`` of the domain's ``mod_private``
            instance (with ``user_exists(user)``, ``get_private(user, ns)``
            and ``set_private(user, elements)``, which raises ValueError for
            a namespace that cannot be stored), or None.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """
    async def existing_user(jid: Any) -> tuple[Any, Any]:
        user = bare_jid(jid, "user")
        service = await find_service(user.host)
        if service is None:
            raise module_missing("mod_private", user.host)
        if not await service.user_exists(user.user):
            raise CommandError("not_found", f"user {user.userhost} does not exist")
        return user, service

    async def get_private(user: Any, element: str, nameSpace: str) -> str:
        if not element or element[0] not in _NAME_START or any(c in element for c in "<>&'\" "):
            raise bad_request("element", f"{element!r} is not an XML element name")
        if not nameSpace:
            raise bad_request("nameSpace", "must not be empty")
        jid, service = await existing_user(user)
        stored = await service.get_private(jid.user, nameSpace)
        if not stored:
            return element_to_str(Element((nameSpace, element)), default_uri=None)
        return "".join(element_to_str(e, default_uri=None) for e in stored)

    async def set_private(user: Any, elementString: str) -> str:
        try:
            parsed = parse_element(elementString)
        except StreamError as exc:
            raise bad_request("elementString", f"is not one XML element ({exc.text})") from None
        jid, service = await existing_user(user)
        try:
            await service.set_private(jid.user, [parsed])
        except ValueError as exc:
            raise bad_request("elementString", str(exc)) from None
        return element_to_str(parsed, default_uri=None)

    user_arg = Arg("user", Jid(require_user=True), "The user's bare JID",
                   example="alice@localhost")
    return [
        Command(
            category=CATEGORY, name="getPrivate", action="read",
            description="Get the user's private data",
            security_policy="user",
            args=(
                user_arg,
                Arg("element", STRING, "The element name", example="my_element"),
                Arg("nameSpace", String(non_empty=True), "The element's namespace", example="alice:private:ns"),
            ),
            result=Xml(), handler=get_private,
        ),
        Command(
            category=CATEGORY, name="setPrivate", action="update",
            description="Set the user's private data",
            security_policy="user",
            args=(
                user_arg,
                Arg("elementString", Xml(), "The XML element to store",
                    example="<my_element xmlns='alice:private:ns'>DATA</my_element>"),
            ),
            result=Xml(), handler=set_private,
        ),
    ]

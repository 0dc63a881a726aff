"""The ``stanza`` commands (MongooseIM GraphQL ``StanzaAdminMutation``, REST ``/messages``, ``/stanzas``).

``sendMessage`` and ``sendMessageHeadLine`` build a message from a local
user (who must exist) and route it like any other stanza; ``sendStanza``
routes an arbitrary stanza given as XML whose 'from' is an address of a
domain this node serves.  Each answers the id of the routed stanza.  The
MongooseIM 6.5 REST routes ``POST /messages`` (body ``caller``, ``to``,
``body``) and ``POST /stanzas`` (body ``stanza``) are bound to them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.words.xish.domish import Element

from mongoose.commands.defs.addresses import mongoose_jid
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command, RestBinding
from mongoose.commands.types import STRING, Field, Id, Jid, Object, Xml, bad_request
from mongoose.xmpp.errors import StreamError
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.jid import JID, InvalidJID
from mongoose.xmpp.namespaces import NS_CLIENT

__all__ = ["stanza_commands", "SEND_STANZA_PAYLOAD", "MAX_STANZA_BYTES"]

CATEGORY = "stanza"
#: The largest stanza ``sendStanza`` accepts.
MAX_STANZA_BYTES = 65536

SEND_STANZA_PAYLOAD = Object("SendStanzaPayload", [Field("id", Id(), "Stanza id")])


def stanza_commands(
    router: Any,
    serves_domain: Callable[[str], bool],
    user_exists: Callable[[str, str], Awaitable[bool]],
    new_id: Callable[[], str] | None = None,
) -> list[Command]:
    """Build the ``stanza`` commands.

    Args:
        router: the node's Router.
        serves_domain: ``domain -> bool`` for the node's XMPP domains.
        user_exists: ``(user, domain) -> awaitable bool``.
        new_id: makes stanza ids (default: random UUIDs).

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """
    make_id = new_id or (lambda: uuid.uuid4().hex)

    async def check_sender(sender: JID, arg: str) -> None:
        if not serves_domain(sender.host):
            raise CommandError(
                "not_found", f"{arg}: {sender.host} is not served by this node", arg=arg
            )
        if sender.user is not None and not await user_exists(sender.user, sender.host):
            raise CommandError(
                "not_found", f"{arg}: user {sender.userhost} does not exist", arg=arg
            )

    async def send(kind: str, sender_value: Any, to_value: Any, children: list) -> dict:
        sender = mongoose_jid(sender_value, "from")
        to = mongoose_jid(to_value, "to")
        await check_sender(sender, "from")
        message = Element((NS_CLIENT, "message"))
        message["type"] = kind
        message["id"] = make_id()
        message["from"] = sender.full()
        message["to"] = to.full()
        for name, text in children:
            if text is not None:
                message.addElement((NS_CLIENT, name), content=text)
        await router.route(message, sender, to)
        return {"id": message["id"]}

    async def send_message(**args: Any) -> dict:
        return await send("chat", args["from"], args["to"], [("body", args["body"])])

    async def send_message_headline(**args: Any) -> dict:
        if args["subject"] is None and args["body"] is None:
            raise CommandError("bad_request", "give a subject, a body or both", arg="body")
        return await send(
            "headline", args["from"], args["to"],
            [("subject", args["subject"]), ("body", args["body"])],
        )

    async def send_stanza(stanza: str) -> dict:
        try:
            element = parse_element(stanza, max_size=MAX_STANZA_BYTES,
                                    default_namespace=NS_CLIENT)
        except StreamError as exc:
            raise bad_request("stanza", f"not a well-formed XML element ({exc})") from None
        if element.name not in ("message", "presence", "iq") or element.uri != NS_CLIENT:
            raise bad_request("stanza", "must be a message, presence or iq stanza")
        for attribute in ("from", "to"):
            if not element.getAttribute(attribute):
                raise bad_request("stanza", f"the '{attribute}' attribute is required")
        try:
            sender = JID.parse(element["from"])
            to = JID.parse(element["to"])
        except InvalidJID as exc:
            raise bad_request("stanza", f"{exc.jid!r} is not a valid JID ({exc.reason})") from None
        await check_sender(sender, "stanza")
        if not element.getAttribute("id"):
            element["id"] = make_id()
        await router.route(element, sender, to)
        return {"id": element["id"]}

    from_arg = Arg("from", Jid(), "The sender, a local user", example="alice@localhost")
    to_arg = Arg("to", Jid(), "The recipient, local or remote, bare or full JID",
                 example="bob@localhost")
    return [
        Command(
            category=CATEGORY, name="sendMessage", action="create",
            description="Send a chat message from a given contact to a local or remote bare "
            "or full JID",
            security_policy="domain_admin", domain_arg="from",
            args=(from_arg, to_arg, Arg("body", STRING, "The message text", example="Hi!")),
            result=SEND_STANZA_PAYLOAD, handler=send_message,
            rest=RestBinding(method="POST", path="/messages",
                             body={"caller": "from", "to": "to", "body": "body"},
                             status=204, result=None, group="messages"),
        ),
        Command(
            category=CATEGORY, name="sendMessageHeadLine", action="create",
            description="Send a headline message from a given contact to a local or remote "
            "bare or full JID",
            security_policy="domain_admin", domain_arg="from",
            args=(
                from_arg, to_arg,
                Arg("subject", STRING, "The subject", default=None, example="News"),
                Arg("body", STRING, "The message text", default=None, example="Hi!"),
            ),
            result=SEND_STANZA_PAYLOAD, handler=send_message_headline,
        ),
        Command(
            category=CATEGORY, name="sendStanza", action="create",
            description="Send an arbitrary stanza. Only for global admin",
            security_policy="admin",
            args=(Arg("stanza", Xml(), "The stanza as XML; 'from' and 'to' are required",
                      example="<message from='alice@localhost' to='bob@localhost'>"
                              "<body>Hi!</body></message>"),),
            result=SEND_STANZA_PAYLOAD, handler=send_stanza,
            rest=RestBinding(method="POST", path="/stanzas", body={"stanza": "stanza"},
                             status=204, result=None, group="stanzas"),
        ),
    ]

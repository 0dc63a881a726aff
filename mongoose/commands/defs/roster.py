"""The ``roster`` commands (MongooseIM GraphQL ``roster`` category, REST ``/contacts``).

Names, arguments and results follow ``RosterAdminQuery``/``RosterAdminMutation``
(and the user variants, served by the same commands through the ``user``
argument) of MongooseIM's GraphQL schema; REST bindings follow the
MongooseIM 6.5 admin API (``/contacts/{user}``, ``/contacts/{user}/{contact}``,
``/contacts/{user}/{contact}/manage``).  Enum values are lower case, as the
REST API writes them (``invite``, ``both``); the GraphQL names are their
upper-case forms.

``mod_roster`` registers these commands.  Each one works through the
roster service of the user's domain, so an administrator's change sends the
same pushes and stanzas as the user's own client would.  Commands that
change two users' rosters at once (``setMutualSubscription``,
``subscribeToAll``, ``subscribeAllToAll``) are for the global admin only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mongoose.commands.defs.addresses import bare_jid, module_missing
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command, RestBinding
from mongoose.commands.types import STRING, Enum, Field, Jid, ListOf, Object
from mongoose.xmpp.jid import JID

__all__ = ["roster_commands", "rest_contacts", "CONTACT", "CONTACT_INPUT", "SUB_ACTIONS",
           "MUTUAL_ACTIONS", "REST_CONTACTS_SCHEMA"]

CATEGORY = "roster"
USER_JID = Jid(require_user=True)
ANY_JID = Jid()

#: ``subscription`` actions -> the presence type the user sends.
SUB_ACTIONS = {
    "invite": "subscribe",
    "accept": "subscribed",
    "decline": "unsubscribed",
    "cancel": "unsubscribe",
}
MUTUAL_ACTIONS = ("connect", "disconnect")

CONTACT = Object(
    "Contact",
    [
        Field("jid", ANY_JID, "The contact jid"),
        Field("name", STRING, "The contact name", optional=True),
        Field("groups", ListOf(STRING), "The list of the groups the contact belongs to"),
        Field("subscription", Enum("none", "to", "from", "both"), "The type of the subscription"),
        Field("ask", Enum("subscribe", "unsubscribe", "in", "out", "both", "none"),
              "Pending requests: out (the user asked), in (the contact asked), both or "
              "none (subscribe and unsubscribe complete MongooseIM's ContactAsk; mongoose "
              "answers the other four)"),
    ],
)
CONTACT_INPUT = Object(
    "ContactInput",
    [
        Field("jid", ANY_JID, "The contact jid"),
        Field("name", STRING, "The contact name"),
        Field("groups", ListOf(STRING), "The contact groups", optional=True),
    ],
)

_GROUP = "contacts"

FindService = Callable[[str], Awaitable[Any]]
UserExists = Callable[[str, str], Awaitable[bool]]


def contact_json(item: Any) -> dict[str, Any]:
    """A roster item as a ``Contact`` result."""
    if item.pending_out and item.pending_in:
        ask = "both"
    elif item.pending_out:
        ask = "out"
    elif item.pending_in:
        ask = "in"
    else:
        ask = "none"
    return {
        "jid": item.contact,
        "name": item.name,
        "groups": list(item.groups),
        "subscription": item.subscription,
        "ask": ask,
    }


#: The REST ``ContactDetails`` of MongooseIM's specs: only these three fields.
REST_CONTACT_FIELDS = ("jid", "subscription", "ask")
REST_CONTACTS_SCHEMA = {"type": "array", "items": {
    "type": "object", "required": list(REST_CONTACT_FIELDS), "properties": {
        "jid": {"type": "string"},
        "subscription": {"type": "string", "enum": ["none", "to", "from", "both"]},
        "ask": {"type": "string", "enum": ["none", "in", "out", "both"]}}}}


def rest_contacts(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``Contact`` results as the REST ``ContactDetails`` list (jid, subscription, ask)."""
    return [{key: contact[key] for key in REST_CONTACT_FIELDS} for contact in contacts]


def roster_commands(find_service: FindService, user_exists: UserExists) -> list[Command]:
    """Build the ``roster`` commands.

    Args:
        find_service: ``domain -> awaitable`` of the domain's roster service
            (:class:`mongoose.modules.roster.service.RosterService`) or None
            when ``mod_roster`` does not run there.
        user_exists: ``(user, domain) -> awaitable bool``.

    Returns:
        The commands, ready for :meth:`CommandRegistry.register`.
    """

    async def local_user(value: Any, arg: str) -> tuple[Any, JID]:
        jid = bare_jid(value, arg)
        service = await find_service(jid.host)
        if service is None:
            raise module_missing("mod_roster", jid.host)
        if not await user_exists(jid.user, jid.host):
            raise CommandError("not_found", f"{arg}: user {jid.userhost} does not exist", arg=arg)
        return service, jid

    async def list_contacts(user: Any) -> list[dict]:
        service, jid = await local_user(user, "user")
        return [contact_json(item) for item in await service.items(jid.user)]

    async def get_contact(user: Any, contact: Any) -> dict:
        service, jid = await local_user(user, "user")
        other = bare_jid(contact, "contact")
        item = await service.item(jid.user, other)
        if item is None:
            raise CommandError("not_found", f"{other.userhost} is not a contact of {jid.userhost}")
        return contact_json(item)

    async def add_contact(user: Any, contact: Any, name: str | None, groups: list | None) -> str:
        service, jid = await local_user(user, "user")
        other = bare_jid(contact, "contact")
        await service.set_item(jid.user, other, name or None, tuple(groups or ()))
        return f"Contact {other.userhost} added to the roster of {jid.userhost}"

    async def add_contacts(user: Any, contacts: list[dict]) -> list[str]:
        service, jid = await local_user(user, "user")
        results = []
        for index, entry in enumerate(contacts):
            other = bare_jid(entry["jid"], f"contacts[{index}].jid")
            await service.set_item(jid.user, other, entry["name"] or None,
                                   tuple(entry["groups"] or ()))
            results.append(f"Contact {other.userhost} added to the roster of {jid.userhost}")
        return results

    async def subscription(user: Any, contact: Any, action: str) -> str:
        service, jid = await local_user(user, "user")
        other = bare_jid(contact, "contact")
        kind = SUB_ACTIONS[action]
        await service.outbound(jid.user, other, kind)
        return f"Subscription stanza with type {kind} sent to {other.userhost}"

    async def delete_one(service: Any, jid: JID, other: JID) -> str:
        try:
            await service.remove_item(jid.user, other, listed_only=False)
        except LookupError:  # the service's NotInRoster
            raise CommandError(
                "not_found", f"{other.userhost} is not a contact of {jid.userhost}"
            ) from None
        return f"Contact {other.userhost} deleted from the roster of {jid.userhost}"

    async def delete_contact(user: Any, contact: Any) -> str:
        service, jid = await local_user(user, "user")
        return await delete_one(service, jid, bare_jid(contact, "contact"))

    async def delete_contacts(user: Any, contacts: list[Any]) -> list[str]:
        service, jid = await local_user(user, "user")
        results = []
        for index, contact in enumerate(contacts):
            other = bare_jid(contact, f"contacts[{index}]")
            try:
                results.append(await delete_one(service, jid, other))
            except CommandError as error:
                results.append(error.message)
        return results

    async def connect(a: tuple, b: tuple) -> None:
        (service_a, jid_a, name_a, groups_a), (service_b, jid_b, name_b, groups_b) = a, b
        await service_a.set_both(jid_a.user, jid_b, name=name_b, groups=groups_b)
        await service_b.set_both(jid_b.user, jid_a, name=name_a, groups=groups_a)

    async def set_mutual_subscription(userA: Any, userB: Any, action: str) -> str:
        service_a, jid_a = await local_user(userA, "userA")
        service_b, jid_b = await local_user(userB, "userB")
        if jid_a == jid_b:
            raise CommandError("bad_request", "userB: must differ from userA", arg="userB")
        if action == "connect":
            await connect((service_a, jid_a, None, None), (service_b, jid_b, None, None))
            return f"Mutual subscription between {jid_a.userhost} and {jid_b.userhost} set"
        await service_a.drop_item(jid_a.user, jid_b)
        await service_b.drop_item(jid_b.user, jid_a)
        return f"{jid_a.userhost} and {jid_b.userhost} removed from each other's roster"

    async def contact_entry(entry: dict, arg: str) -> tuple:
        service, jid = await local_user(entry["jid"], arg)
        groups = tuple(entry["groups"]) if entry["groups"] is not None else None
        return service, jid, entry["name"] or None, groups

    async def subscribe_to_all(user: dict, contacts: list[dict]) -> list[str]:
        me = await contact_entry(user, "user.jid")
        results = []
        for index, entry in enumerate(contacts):
            try:
                other = await contact_entry(entry, f"contacts[{index}].jid")
                if other[1] == me[1]:
                    raise CommandError("bad_request", "a user cannot subscribe to itself")
                await connect(me, other)
                results.append(f"{me[1].userhost} and {other[1].userhost} subscribed to each other")
            except CommandError as error:
                results.append(error.message)
        return results

    async def subscribe_all_to_all(contacts: list[dict]) -> list[str]:
        entries = []
        for index, entry in enumerate(contacts):
            entries.append(await contact_entry(entry, f"contacts[{index}].jid"))
        results = []
        for i, first in enumerate(entries):
            for second in entries[i + 1:]:
                if first[1] == second[1]:
                    continue
                await connect(first, second)
                results.append(
                    f"{first[1].userhost} and {second[1].userhost} subscribed to each other"
                )
        return results

    user_arg = Arg("user", USER_JID, "The roster's owner (bare JID)", example="alice@localhost")
    contact_arg = Arg("contact", ANY_JID, "The contact's bare JID", example="bob@localhost")
    return [
        Command(
            category=CATEGORY, name="listContacts", action="read",
            description="Get the user's roster/contacts",
            security_policy="user", args=(user_arg,), result=ListOf(CONTACT),
            handler=list_contacts,
            rest=RestBinding(method="GET", path="/contacts/{user}", group=_GROUP,
                             shape=rest_contacts, shape_schema=REST_CONTACTS_SCHEMA),
        ),
        Command(
            category=CATEGORY, name="getContact", action="read",
            description="Get the information about the user's specific contact",
            security_policy="user", args=(user_arg, contact_arg), result=CONTACT,
            handler=get_contact,
        ),
        Command(
            category=CATEGORY, name="addContact", action="create",
            description="Add a new contact to a user's roster without subscription",
            security_policy="user",
            args=(
                user_arg, contact_arg,
                Arg("name", STRING, "The contact's handle", default=None, example="Bob"),
                Arg("groups", ListOf(STRING), "Roster groups", default=None, example=["friends"]),
            ),
            result=STRING, handler=add_contact,
            rest=RestBinding(method="POST", path="/contacts/{user}", body={"jid": "contact"},
                             status=204, result=None, group=_GROUP),
        ),
        Command(
            category=CATEGORY, name="addContacts", action="create",
            description="Add new contacts to a user's roster without subscription",
            security_policy="user",
            args=(user_arg, Arg("contacts", ListOf(CONTACT_INPUT), "The contacts to add",
                                example=[{"jid": "bob@localhost", "name": "Bob"}])),
            result=ListOf(STRING), handler=add_contacts,
        ),
        Command(
            category=CATEGORY, name="subscription", action="update",
            description="Manage the user's subscription to the contact",
            security_policy="user",
            args=(
                user_arg, contact_arg,
                Arg("action", Enum(*SUB_ACTIONS),
                    "invite (subscribe), accept (subscribed), decline (unsubscribed) or "
                    "cancel (unsubscribe)", example="invite"),
            ),
            result=STRING, handler=subscription,
            rest=RestBinding(method="PUT", path="/contacts/{user}/{contact}",
                             body={"action": "action"}, status=204, result=None, group=_GROUP),
        ),
        Command(
            category=CATEGORY, name="deleteContact", action="delete",
            description="Delete user's contact",
            security_policy="user", args=(user_arg, contact_arg), result=STRING,
            handler=delete_contact,
            rest=RestBinding(method="DELETE", path="/contacts/{user}/{contact}",
                             status=204, result=None, group=_GROUP),
        ),
        Command(
            category=CATEGORY, name="deleteContacts", action="delete",
            description="Delete user's contacts",
            security_policy="user",
            args=(user_arg, Arg("contacts", ListOf(ANY_JID), "The contacts to delete",
                                example=["bob@localhost"])),
            result=ListOf(STRING), handler=delete_contacts,
        ),
        Command(
            category=CATEGORY, name="setMutualSubscription", action="update",
            description="Manage mutual subscription between given users",
            security_policy="admin",
            args=(
                Arg("userA", USER_JID, "The first user", example="alice@localhost"),
                Arg("userB", USER_JID, "The second user", example="bob@localhost"),
                Arg("action", Enum(*MUTUAL_ACTIONS),
                    "connect (both subscribed to each other) or disconnect (contacts deleted)",
                    example="connect"),
            ),
            result=STRING, handler=set_mutual_subscription,
            rest=RestBinding(method="PUT", path="/contacts/{user}/{contact}/manage",
                             compose={"userA": "{user}", "userB": "{contact}"},
                             body={"action": "action"}, status=204, result=None, group=_GROUP),
        ),
        Command(
            category=CATEGORY, name="subscribeToAll", action="update",
            description="Set mutual subscriptions between the user and each of the given contacts",
            security_policy="admin",
            args=(
                Arg("user", CONTACT_INPUT, "The user",
                    example={"jid": "alice@localhost", "name": "Alice"}),
                Arg("contacts", ListOf(CONTACT_INPUT), "The contacts",
                    example=[{"jid": "bob@localhost", "name": "Bob"}]),
            ),
            result=ListOf(STRING), handler=subscribe_to_all,
        ),
        Command(
            category=CATEGORY, name="subscribeAllToAll", action="update",
            description="Set mutual subscriptions between all of the given contacts",
            security_policy="admin",
            args=(Arg("contacts", ListOf(CONTACT_INPUT), "The users",
                      example=[{"jid": "alice@localhost", "name": "Alice"},
                               {"jid": "bob@localhost", "name": "Bob"}]),),
            result=ListOf(STRING), handler=subscribe_all_to_all,
        ),
    ]

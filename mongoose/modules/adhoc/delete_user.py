"""XEP-0133 "Delete User" (section 4.2) as a two-stage ad-hoc command.

Stage 1 asks for the accounts (``accountjids``, jid-multi) and checks that
each is a user JID of an existing account; stage 2 lists them and asks for
a confirmation (``confirm``, boolean).  Completing removes each account
through the registry's ``account/removeUser`` run as the requester, so the
same permission rules apply as on every other surface.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from mongoose.commands.registry import CommandRegistry
from mongoose.modules.adhoc.flow import (
    AdhocFlow,
    AdhocInputError,
    AdhocOutcome,
    FormField,
    Stage,
    Values,
    first,
)
from mongoose.xmpp.jid import JID, InvalidJID

__all__ = ["DELETE_USER_NODE", "MAX_ACCOUNTS", "delete_user_flow"]

DELETE_USER_NODE = "http://jabber.org/protocol/admin#delete-user"

#: Accounts one run may delete.
MAX_ACCOUNTS = 100

_TRUE = ("1", "true")


def _accounts(values: Values) -> list[JID]:
    """The distinct bare user JIDs entered, in order; AdhocInputError on a bad one."""
    found: list[JID] = []
    for text in values.get("accountjids", ()):
        text = text.strip()
        if not text:
            continue
        try:
            jid = JID.parse(text)
        except InvalidJID as exc:
            raise AdhocInputError(f"{text} is not a valid JID: {exc.reason}",
                                  "accountjids") from None
        if jid.localpart is None or jid.resourcepart is not None:
            raise AdhocInputError(f"{text} is not a bare user JID (user@domain)", "accountjids")
        if jid not in found:
            found.append(jid)
    if len(found) > MAX_ACCOUNTS:
        raise AdhocInputError(f"at most {MAX_ACCOUNTS} accounts at a time", "accountjids")
    return found


def delete_user_flow(
    registry: CommandRegistry,
    caller: Caller,
    user_exists: Callable[[str, str], Awaitable[bool]],
) -> AdhocFlow:
    """The two-stage delete-user command for one requester.

    Args:
        registry: the node's command registry (runs ``account/removeUser``).
        caller: who the requester runs commands as.
        user_exists: ``user_exists(user, domain)`` of the auth backend.
    """

    async def check_accounts(values: Values, _from_jid: Any) -> None:
        accounts = _accounts(values)
        if not accounts:
            raise AdhocInputError("give at least one account", "accountjids")
        missing = [str(j) for j in accounts
                   if not await user_exists(j.localpart, j.domainpart)]
        if missing:
            raise AdhocInputError(f"no such account: {', '.join(missing)}", "accountjids")

    def confirm_fields(values: Values, _from_jid: Any) -> list[FormField]:
        names = ", ".join(str(j) for j in _accounts(values))
        return [
            FormField("accounts", "fixed", values=(f"To delete with all their data: {names}",)),
            FormField("confirm", "boolean", "Delete these accounts?", required=True,
                      values=("0",)),
        ]

    def check_confirmed(values: Values, _from_jid: Any) -> None:
        if (first(values, "confirm") or "").strip().lower() not in _TRUE:
            raise AdhocInputError("tick the box to confirm, or cancel", "confirm")

    async def finish(_from_jid: Any, values: Values) -> AdhocOutcome:
        deleted, failed = [], []
        for jid in _accounts(values):
            try:
                await registry.execute(caller, "account", "removeUser",
                                       {"user": [str(jid)]}, source="form")
            except CommandError as error:
                failed.append(f"{jid} ({error.message})")
            else:
                deleted.append(str(jid))
        text = f"Deleted {len(deleted)} account(s)" + (f": {', '.join(deleted)}" if deleted else "")
        if failed:
            return AdhocOutcome(f"{text}. Not deleted: {'; '.join(failed)}", "error")
        return AdhocOutcome(f"{text}.")

    return AdhocFlow(
        node=DELETE_USER_NODE,
        name="Delete users",
        stages=(
            Stage("Delete users",
                  [FormField("accountjids", "jid-multi", "The Jabber ID(s) to delete",
                             required=True)],
                  instructions="Give the accounts to delete, one JID per value.",
                  validate=check_accounts),
            Stage("Confirm", confirm_fields,
                  instructions="The accounts and everything stored for them will be deleted.",
                  validate=check_confirmed),
        ),
        finish=finish,
    )

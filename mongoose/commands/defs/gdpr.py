"""The ``gdpr`` command: every piece of personal data a node keeps about a user.

Follows MongooseIM's ``admin/gdpr.gql`` (``gdpr.retrievePersonalData``):
the data is written on the node, as a zip archive of CSV files, one per
store, each with a header row, to the path the caller gives; the result is a
short message.  The files and their columns are listed in
:data:`TABLES` and in doc/commands.md.  Password secrets (SCRAM keys or a
plain password) are never exported.

When ``service_cache`` runs, the data collected for a user is kept there for
its ``ttl`` (key ``("gdpr", domain, username)``), so repeated retrievals in a
short time read the database once.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from twisted.internet import threads

from mongoose.commands.errors import CommandError
from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import DOMAIN, STRING, USERNAME, bad_request

__all__ = ["TABLES", "gdpr_commands", "collect_personal_data", "write_archive"]

CATEGORY = "gdpr"

#: File name (without ``.csv``) -> header row, in archive order.
TABLES: dict[str, tuple[str, ...]] = {
    "accounts": ("jid", "created_at"),
    "roster": ("jid", "name", "subscription", "ask", "groups", "ask_message", "approved"),
    "offline": ("timestamp", "from", "to", "expire", "packet"),
    "vcard": ("jid", "vcard"),
    "private": ("ns", "xml"),
    "last": ("timestamp", "status"),
    "privacy": ("name", "default", "order", "action", "type", "value", "stanzas"),
    "blocklist": ("jid", "reason"),
}

Tables = dict[str, list[tuple[Any, ...]]]

#: Messages stored after this instant are all "not expired": it selects every message.
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


def _iso(moment: datetime | None) -> str:
    if moment is None:
        return ""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _ask(item: Any) -> str:
    if item.pending_out and item.pending_in:
        return "both"
    if item.pending_out:
        return "out"
    if item.pending_in:
        return "in"
    return "none"


async def collect_personal_data(stores: Any, username: str, domain: str) -> Tables:
    """Read every store's rows about ``username@domain``.

    Args:
        stores: a :class:`mongoose.storage.factory.Stores`; absent stores
            give header-only files.

    Returns:
        File name -> rows (tuples matching :data:`TABLES`).
    """
    jid = f"{username}@{domain}"
    tables: Tables = {name: [] for name in TABLES}
    created = await stores.auth.get_created_at(domain, username)
    tables["accounts"].append((jid, _iso(created)))
    if stores.roster is not None:
        for item in await stores.roster.get_items(domain, username):
            tables["roster"].append((item.contact, item.name or "", item.subscription,
                                     _ask(item), ";".join(item.groups),
                                     item.ask_message or "", str(item.approved).lower()))
    if stores.offline is not None:
        for message in await stores.offline.fetch_messages(domain, username, _BEGINNING):
            tables["offline"].append((_iso(message.stamp), message.sender, jid,
                                      _iso(message.expire), message.packet))
    if stores.vcard is not None:
        vcard = await stores.vcard.get_vcard(domain, username)
        if vcard:
            tables["vcard"].append((jid, vcard))
    if stores.private is not None:
        for namespace, xml in sorted((await stores.private.all_private(domain, username)).items()):
            tables["private"].append((namespace, xml))
    if stores.last is not None:
        last = await stores.last.get_last(domain, username)
        if last is not None:
            tables["last"].append((_iso(datetime.fromtimestamp(last.seconds, UTC)), last.status))
    if stores.privacy is not None:
        names, default = await stores.privacy.list_names(domain, username)
        for name in names:
            for item in await stores.privacy.get_list(domain, username, name) or ():
                tables["privacy"].append((name, str(name == default).lower(), item.order,
                                          item.action, item.type or "", item.value,
                                          ";".join(sorted(item.stanzas))))
    if stores.blocklist is not None:
        blocked, reason = await stores.blocklist.get_block(domain, username)
        if blocked:
            tables["blocklist"].append((jid, reason or ""))
    return tables


def _csv(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def write_archive(path: str, tables: Tables) -> None:
    """Write ``tables`` as ``<name>.csv`` files in a zip archive at ``path`` (blocking).

    The archive is written next to ``path`` and renamed into place, so a
    reader never sees half an archive.

    Raises:
        OSError: the directory does not exist or cannot be written.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".gdpr-", suffix=".zip", dir=directory)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, header in TABLES.items():
                archive.writestr(f"{name}.csv", _csv(header, tables.get(name, [])))
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def gdpr_commands(
    stores: Callable[[], Any],
    domain_exists: Callable[[str], bool],
    find_cache: Callable[[], Any] = lambda: None,
    reactor: Any = None,
) -> list[Command]:
    """Build the ``gdpr`` commands.

    Args:
        stores: returns the node's :class:`~mongoose.storage.factory.Stores`.
        domain_exists: whether the node serves a domain.
        find_cache: returns the running ``service_cache`` as an
            :class:`~mongoose.services.service_cache.ICache`, or None.
        reactor: runs the archive writing in its thread pool.
    """

    def write_in_thread(path: str, tables: Tables) -> Awaitable[None]:
        if reactor is None:
            return threads.deferToThread(write_archive, path, tables)
        return threads.deferToThreadPool(reactor, reactor.getThreadPool(), write_archive,
                                         path, tables)

    async def retrieve(username: str, domain: str, resultFilepath: str) -> str:
        if not resultFilepath.strip():
            raise bad_request("resultFilepath", "must not be empty")
        if not domain_exists(domain):
            raise CommandError("not_found", f"Domain {domain} is not served by this node")
        current = stores()
        if not await current.auth.user_exists(domain, username):
            raise CommandError("not_found", f"User {username}@{domain} does not exist")
        cache = find_cache()
        if cache is None:
            tables = await collect_personal_data(current, username, domain)
        else:
            tables = await cache.lookup(("gdpr", domain, username),
                                        lambda: collect_personal_data(current, username, domain))
        try:
            await write_in_thread(resultFilepath, tables)
        except OSError as exc:
            raise bad_request(
                "resultFilepath", f"cannot write {resultFilepath}: {exc.strerror or exc}"
            ) from None
        return "Data retrieved"

    return [
        Command(
            category=CATEGORY, name="retrievePersonalData",
            description="Write all personal data of a user to a zip of CSV files on the node",
            action="read", security_policy="domain_admin", domain_arg="domain",
            args=(
                Arg("username", USERNAME, "The user's name (local part)", example="alice"),
                Arg("domain", DOMAIN, "The user's domain", example="localhost"),
                Arg("resultFilepath", STRING, "Where the node writes the zip archive",
                    example="/tmp/alice.zip"),
            ),
            result=STRING, handler=retrieve,
        )
    ]

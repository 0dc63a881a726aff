"""slixmpp script: in-band registration (XEP-0077), login, password change, cancellation.

Usage: ``python -m test.c2s.slixmpp_account --port P --ca CA.pem --jid carol@localhost
--password first --new-password second``.  Prints JSON events (see
:mod:`test.integration.clients.common`).
"""

from __future__ import annotations

import argparse
import asyncio

from test.integration.clients.common import add_connection_options, emit, make_client, run


async def session(client, options) -> None:
    """Connect and wait for session_start (fails on an auth failure)."""
    started: asyncio.Future = asyncio.get_running_loop().create_future()
    client.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
    client.add_event_handler(
        "failed_all_auth",
        lambda _: started.done() or started.set_exception(RuntimeError("auth failed")),
    )
    client.connect(options.host, options.port)
    await asyncio.wait_for(started, options.timeout)


async def main() -> None:
    """Register, log in, change the password, log in again with it, cancel the account."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_options(parser)
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--new-password", required=True)
    options = parser.parse_args()

    first = make_client(options.jid, options.password, options)
    first.register_plugin("xep_0077")
    first["xep_0077"].force_registration = True

    async def register(form) -> None:
        iq = first.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = first.boundjid.user
        iq["register"]["password"] = options.password
        await iq.send()
        emit("registered")

    first.add_event_handler("register", register)
    await session(first, options)
    emit("logged_in", jid=str(first.boundjid))
    await first["xep_0077"].change_password(options.new_password, jid=first.boundjid.host)
    emit("password_changed")
    first.disconnect()
    await asyncio.wait_for(first.disconnected, options.timeout)

    second = make_client(options.jid, options.new_password, options)
    second.register_plugin("xep_0077")
    await session(second, options)
    emit("logged_in_again")
    await second["xep_0077"].cancel_registration(jid=second.boundjid.host)
    emit("cancelled")
    await asyncio.wait_for(second.disconnected, options.timeout)
    emit("disconnected")


if __name__ == "__main__":
    run(main)

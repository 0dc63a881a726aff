"""Answer one chat message: the TCP peer of the JavaScript client tests.

Logs in (plain TCP when ``--no-tls``), sends initial presence, prints
``ready``, waits for one chat message, prints it (``message`` with from and
body), answers its sender with ``--reply`` and logs out.
"""

from __future__ import annotations

import argparse
import asyncio

from test.integration.clients.common import add_connection_options, emit, make_client, run


async def main() -> None:
    """Log in, wait for a message, answer it, log out."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_options(parser)
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--reply", default="hello from a TCP user")
    parser.add_argument("--no-tls", action="store_true", help="the server offers no STARTTLS")
    options = parser.parse_args()
    client = make_client(options.jid, options.password, options)
    if options.no_tls:
        client.enable_starttls = False
        client.enable_plaintext = True
        # slixmpp refuses SCRAM over an unencrypted stream unless told otherwise.
        client["feature_mechanisms"].unencrypted_scram = True
    loop = asyncio.get_running_loop()
    started: asyncio.Future = loop.create_future()
    received: asyncio.Future = loop.create_future()
    client.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))

    def on_message(message) -> None:
        if message["type"] == "chat" and not received.done():
            received.set_result(message)

    client.add_event_handler("message", on_message)
    client.connect(options.host, options.port)
    await asyncio.wait_for(started, options.timeout)
    client.send_presence()
    emit("ready", jid=str(client.boundjid))
    message = await asyncio.wait_for(received, options.timeout)
    emit("message", sender=str(message["from"]), body=message["body"])
    client.send_message(mto=message["from"], mbody=options.reply, mtype="chat")
    await asyncio.sleep(0.3)
    client.disconnect()
    await asyncio.wait_for(client.disconnected, options.timeout)


if __name__ == "__main__":
    run(main)

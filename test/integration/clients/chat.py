"""Send or receive one chat message.

``receive``: log in, send initial presence, print ``ready``, wait for a
message and print it (``message`` event with from, body and XEP-0203 delay).
``send``: log in, send one message, log out.
"""

from __future__ import annotations

import argparse
import asyncio

from test.integration.clients.common import add_connection_options, emit, make_client, run


async def main() -> None:
    """Run the chosen role."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_options(parser)
    parser.add_argument("role", choices=("send", "receive"))
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--to")
    parser.add_argument("--body", default="hello")
    options = parser.parse_args()
    client = make_client(options.jid, options.password, options)
    loop = asyncio.get_running_loop()
    started: asyncio.Future = loop.create_future()
    received: asyncio.Future = loop.create_future()
    client.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))

    def on_message(message) -> None:
        if message["type"] in ("chat", "normal") and not received.done():
            received.set_result(message)

    client.add_event_handler("message", on_message)
    client.connect(options.host, options.port)
    await asyncio.wait_for(started, options.timeout)
    if options.role == "receive":
        client.send_presence()
        emit("ready", jid=str(client.boundjid))
        message = await asyncio.wait_for(received, options.timeout)
        delay = message.xml.find("{urn:xmpp:delay}delay")
        emit(
            "message",
            sender=str(message["from"]),
            body=message["body"],
            delay=None if delay is None else delay.get("stamp"),
        )
    else:
        client.send_message(mto=options.to, mbody=options.body, mtype="chat")
        emit("sent", to=options.to)
        await asyncio.sleep(0.2)
    client.disconnect()
    await asyncio.wait_for(client.disconnected, options.timeout)


if __name__ == "__main__":
    run(main)

"""Carbons (XEP-0280) to a second resource and blocking (XEP-0191), with slixmpp.

Logs in alice twice (resources ``one`` and ``two``) and bob.  ``two``
enables carbons and reports the ``received``/``sent`` carbons of alice/one's
conversation with bob.  Then alice/one blocks bob, bob's next message
bounces, alice unblocks him and his last message arrives.  Events:
``carbon`` (direction, body), ``blocklist`` (jids), ``bounced`` (condition)
and ``done`` (the bodies alice/one received, in order).
"""

from __future__ import annotations

import argparse
import asyncio

from test.integration.clients.common import add_connection_options, emit, make_client, run


async def main() -> None:
    """Run the scenario."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_options(parser)
    parser.add_argument("--alice", required=True)
    parser.add_argument("--bob", required=True)
    parser.add_argument("--password", required=True)
    options = parser.parse_args()
    loop = asyncio.get_running_loop()
    one = make_client(f"{options.alice}/one", options.password, options)
    two = make_client(f"{options.alice}/two", options.password, options)
    bob = make_client(f"{options.bob}/b", options.password, options)
    one.register_plugin("xep_0191")
    two.register_plugin("xep_0280")
    carbons: asyncio.Queue = asyncio.Queue()
    bounces: asyncio.Queue = asyncio.Queue()
    bodies: list[str] = []
    arrived: asyncio.Queue = asyncio.Queue()

    def on_one_message(message) -> None:
        if message["type"] == "chat" and message["body"]:
            bodies.append(message["body"])
            arrived.put_nowait(message["body"])

    def on_bob_message(message) -> None:
        if message["type"] == "error":
            bounces.put_nowait(message["error"]["condition"])

    one.add_event_handler("message", on_one_message)
    bob.add_event_handler("message", on_bob_message)
    two.add_event_handler(
        "carbon_received",
        lambda m: carbons.put_nowait(("received", m["carbon_received"]["body"])),
    )
    two.add_event_handler(
        "carbon_sent", lambda m: carbons.put_nowait(("sent", m["carbon_sent"]["body"]))
    )
    for client in (one, two, bob):
        started: asyncio.Future = loop.create_future()
        client.add_event_handler(
            "session_start", lambda _, f=started: f.done() or f.set_result(True)
        )
        client.connect(options.host, options.port)
        await asyncio.wait_for(started, options.timeout)
        client.send_presence()
    await two.plugin["xep_0280"].enable(timeout=options.timeout)
    alice_one = f"{options.alice}/one"

    bob.send_message(mto=alice_one, mbody="carbon me", mtype="chat")
    got = await asyncio.wait_for(carbons.get(), options.timeout)
    emit("carbon", direction=got[0], body=got[1])
    one.send_message(mto=options.bob, mbody="sent by one", mtype="chat")
    got = await asyncio.wait_for(carbons.get(), options.timeout)
    emit("carbon", direction=got[0], body=got[1])

    await one.plugin["xep_0191"].block(options.bob, timeout=options.timeout)
    blocked = await one.plugin["xep_0191"].get_blocked_jids(timeout=options.timeout)
    emit("blocklist", jids=sorted(str(j) for j in blocked))
    bob.send_message(mto=alice_one, mbody="spam", mtype="chat")
    emit("bounced", condition=await asyncio.wait_for(bounces.get(), options.timeout))

    await one.plugin["xep_0191"].unblock(options.bob, timeout=options.timeout)
    bob.send_message(mto=alice_one, mbody="welcome back", mtype="chat")
    while await asyncio.wait_for(arrived.get(), options.timeout) != "welcome back":
        pass
    emit("done", bodies=bodies)
    for client in (one, two, bob):
        client.disconnect()
        await asyncio.wait_for(client.disconnected, options.timeout)


if __name__ == "__main__":
    run(main)

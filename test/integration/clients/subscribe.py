"""Two users add each other: roster push, subscription handshake, ending in 'both'.

alice adds bob to her roster and asks to subscribe; bob approves and asks
back; alice approves.  Prints each side's final roster item.
"""

from __future__ import annotations

import argparse
import asyncio

from test.integration.clients.common import add_connection_options, emit, make_client, run


async def login(jid: str, password: str, options) -> object:
    """A client that approves and returns subscriptions, logged in with presence sent."""
    client = make_client(jid, password, options)
    client.roster.auto_authorize = True
    client.roster.auto_subscribe = True
    started: asyncio.Future = asyncio.get_running_loop().create_future()

    async def on_start(_):
        await client.get_roster()
        client.send_presence()
        if not started.done():
            started.set_result(True)

    client.add_event_handler("session_start", on_start)
    client.connect(options.host, options.port)
    await asyncio.wait_for(started, options.timeout)
    return client


async def main() -> None:
    """Run the handshake and report both roster items."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_options(parser)
    parser.add_argument("--alice", required=True)
    parser.add_argument("--bob", required=True)
    parser.add_argument("--password", required=True)
    options = parser.parse_args()
    alice = await login(options.alice, options.password, options)
    bob = await login(options.bob, options.password, options)
    alice.update_roster(options.bob, name="Bob")
    alice.send_presence_subscription(pto=options.bob)

    def state(client, contact: str) -> str:
        return client.client_roster[contact]["subscription"]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + options.timeout
    while loop.time() < deadline:
        if state(alice, options.bob) == "both" and state(bob, options.alice) == "both":
            break
        await asyncio.sleep(0.1)
    emit(
        "rosters",
        alice=state(alice, options.bob),
        bob=state(bob, options.alice),
        alice_name=alice.client_roster[options.bob]["name"],
    )
    for client in (alice, bob):
        client.disconnect()
        await asyncio.wait_for(client.disconnected, options.timeout)


if __name__ == "__main__":
    run(main)

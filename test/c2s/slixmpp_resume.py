"""slixmpp script: stream management (XEP-0198) with a killed connection and resumption.

Usage: ``python -m test.c2s.slixmpp_resume --port P --ca CA.pem --jid alice@localhost
--password pw``.  Emits ``ready`` once stream management is on, a ``message``
event per message received, ``aborted`` after killing its TCP connection;
then waits for a line on stdin, reconnects, emits ``resumed`` and waits for
``--expect`` messages in all before it exits.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from test.integration.clients.common import add_connection_options, emit, make_client, run


async def main() -> None:
    """Log in with SM, receive, kill the connection, resume, receive the rest."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_options(parser)
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--expect", type=int, default=2)
    options = parser.parse_args()
    loop = asyncio.get_running_loop()
    client = make_client(options.jid, options.password, options)
    client.register_plugin("xep_0198")
    enabled: asyncio.Future = loop.create_future()
    resumed: asyncio.Future = loop.create_future()
    first: asyncio.Future = loop.create_future()
    everything: asyncio.Future = loop.create_future()
    bodies: list[str] = []

    def on_message(message) -> None:
        bodies.append(message["body"])
        emit("message", body=message["body"])
        if not first.done():
            first.set_result(True)
        if len(bodies) >= options.expect and not everything.done():
            everything.set_result(True)

    client.add_event_handler("message", on_message)
    client.add_event_handler("sm_enabled", lambda _: enabled.done() or enabled.set_result(1))
    client.add_event_handler("session_resumed", lambda _: resumed.done() or resumed.set_result(1))
    client.add_event_handler("session_start", lambda _: client.send_presence())
    client.connect(options.host, options.port)
    await asyncio.wait_for(enabled, options.timeout)
    await asyncio.sleep(0.3)
    emit("ready")
    await asyncio.wait_for(first, options.timeout)
    await asyncio.sleep(0.5)  # the server's <r/> gets answered
    client.transport.abort()
    emit("aborted")
    await loop.run_in_executor(None, sys.stdin.readline)
    client.connect(options.host, options.port)
    await asyncio.wait_for(resumed, options.timeout)
    emit("resumed")
    await asyncio.wait_for(everything, options.timeout)
    await asyncio.sleep(0.5)  # anything sent twice would show up now
    emit("done", bodies=bodies)
    client.disconnect()


if __name__ == "__main__":
    run(main)

"""Log in over STARTTLS with one SASL mechanism, report the session, log out.

Usage: ``python login.py --port P --ca CA.pem --jid alice@localhost --password secret``
"""

from __future__ import annotations

import argparse
import asyncio

from test.integration.clients.common import (
    add_connection_options,
    emit,
    make_client,
    run,
    tls_version,
)


async def main() -> None:
    """Connect, wait for session_start, report it, disconnect."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_options(parser)
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    options = parser.parse_args()
    client = make_client(options.jid, options.password, options)
    started: asyncio.Future = asyncio.get_running_loop().create_future()
    client.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
    client.add_event_handler(
        "failed_all_auth",
        lambda _: started.done() or started.set_exception(RuntimeError("auth failed")),
    )
    client.connect(options.host, options.port)
    await asyncio.wait_for(started, options.timeout)
    mechanism = client["feature_mechanisms"].mech
    emit(
        "session_start",
        jid=str(client.boundjid),
        tls=tls_version(client),
        mechanism=getattr(mechanism, "name", None),
    )
    client.disconnect()
    await asyncio.wait_for(client.disconnected, options.timeout)


if __name__ == "__main__":
    run(main)

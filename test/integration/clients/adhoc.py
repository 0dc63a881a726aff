"""List the server's ad-hoc commands (XEP-0050) and run add-user (XEP-0133).

Usage: ``python -m test.integration.clients.adhoc --port P --ca CA.pem --jid admin@localhost
--password secret --new-user carol --new-password pw``.  Prints ``commands`` (the
listed nodes), then ``form`` (the fields of the first stage) and ``result`` (the
final status and notes), or ``refused`` with the error condition.
"""

from __future__ import annotations

import argparse
import asyncio

from slixmpp.exceptions import IqError

from test.integration.clients.common import add_connection_options, emit, make_client, run

ADD_USER = "http://jabber.org/protocol/admin#add-user"


async def main() -> None:
    """Connect, list commands, execute add-user, report, disconnect."""
    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_options(parser)
    parser.add_argument("--jid", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--new-user", required=True)
    parser.add_argument("--new-password", required=True)
    options = parser.parse_args()
    client = make_client(options.jid, options.password, options)
    client.register_plugin("xep_0004")
    client.register_plugin("xep_0050")
    started: asyncio.Future = asyncio.get_running_loop().create_future()
    client.add_event_handler("session_start", lambda _: started.done() or started.set_result(True))
    client.connect(options.host, options.port)
    await asyncio.wait_for(started, options.timeout)
    server = client.boundjid.domain
    items = await client["xep_0050"].get_commands(server, timeout=options.timeout)
    emit("commands", nodes=[item[1] for item in items["disco_items"]["items"]])
    try:
        first = await client["xep_0050"].send_command(server, ADD_USER, timeout=options.timeout)
    except IqError as error:
        emit("refused", condition=error.condition)
    else:
        command = first["command"]
        form = command["form"]
        names = sorted(f["var"] for f in form["fields"])
        emit("form", status=command["status"], fields=names)
        answer = client["xep_0004"].make_form(ftype="submit")
        answer.add_field(var="domain", value=server)
        answer.add_field(var="username", value=options.new_user)
        answer.add_field(var="password", value=options.new_password)
        final = await client["xep_0050"].send_command(
            server, ADD_USER, action="complete", payload=answer,
            sessionid=command["sessionid"], timeout=options.timeout,
        )
        done = final["command"]
        emit("result", status=done["status"],
             notes=[text for _, text in done["notes"]])
    client.disconnect()
    await asyncio.wait_for(client.disconnected, options.timeout)


if __name__ == "__main__":
    run(main)

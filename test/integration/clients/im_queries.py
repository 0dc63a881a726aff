"""Service discovery, ping, vCard and private storage with slixmpp.

alice logs in, asks the server's disco#info and disco#items, pings the
server, stores her vCard (XEP-0054) and a private XML item (XEP-0049), and
reads both back; bob reads alice's vCard.  Events: ``disco`` (identities,
features, items), ``ping`` (seconds), ``vcard`` (who, fn, nickname),
``private`` (text), ``private_error`` (condition for a jabber:* namespace)
and ``done``.
"""

from __future__ import annotations

import argparse
import asyncio

from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

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
    alice = make_client(f"{options.alice}/q", options.password, options)
    bob = make_client(f"{options.bob}/q", options.password, options)
    for client in (alice, bob):
        client.register_plugin("xep_0054")
        started: asyncio.Future = loop.create_future()
        client.add_event_handler(
            "session_start", lambda _, f=started: f.done() or f.set_result(True)
        )
        client.connect(options.host, options.port)
        await asyncio.wait_for(started, options.timeout)
        client.send_presence()
    domain = alice.boundjid.domain
    timeout = options.timeout

    info = await alice.plugin["xep_0030"].get_info(jid=domain, timeout=timeout)
    items = await alice.plugin["xep_0030"].get_items(jid=domain, timeout=timeout)
    emit(
        "disco",
        identities=[list(i[:2]) for i in info["disco_info"]["identities"]],
        features=sorted(info["disco_info"]["features"]),
        items=sorted(str(i[0]) for i in items["disco_items"]["items"]),
    )
    seconds = await alice.plugin["xep_0199"].ping(jid=domain, timeout=timeout)
    emit("ping", seconds=seconds)

    vcard = alice.plugin["xep_0054"].make_vcard()
    vcard["FN"] = "Alice Liddell"
    vcard["NICKNAME"] = "ali"
    await alice.plugin["xep_0054"].publish_vcard(vcard, timeout=timeout)
    own = await alice.plugin["xep_0054"].get_vcard(local=False, timeout=timeout)
    emit("vcard", who="alice", fn=own["vcard_temp"]["FN"], nickname=own["vcard_temp"]["NICKNAME"])
    other = await bob.plugin["xep_0054"].get_vcard(jid=options.alice, local=False, timeout=timeout)
    emit("vcard", who="bob", fn=other["vcard_temp"]["FN"],
         nickname=other["vcard_temp"]["NICKNAME"])

    # XEP-0049 with raw IQs: slixmpp's plugin wants registered payload classes.
    await private_iq(alice, "set", "<note xmlns='urn:example:notes'>remember the tea party</note>",
                     timeout)
    stored = await private_iq(alice, "get", "<note xmlns='urn:example:notes'/>", timeout)
    found = stored.xml.find(".//{urn:example:notes}note")
    emit("private", text=found.text if found is not None else None)
    try:
        await private_iq(alice, "set", "<query xmlns='jabber:iq:roster'/>", timeout)
        emit("private_error", condition=None)
    except IqError as error:
        emit("private_error", condition=error.iq["error"]["condition"])
    emit("done")
    for client in (alice, bob):
        client.disconnect()
        await asyncio.wait_for(client.disconnected, timeout)


async def private_iq(client, kind: str, payload: str, timeout: float):
    """Send a jabber:iq:private IQ of ``kind`` holding ``payload``; return the reply."""
    iq = client.Iq()
    iq["type"] = kind
    query = ET.Element("{jabber:iq:private}query")
    query.append(ET.fromstring(payload))
    iq.xml.append(query)
    return await iq.send(timeout=timeout)


if __name__ == "__main__":
    run(main)

"""Two nodes federate over loopback: dialback, STARTTLS, messages and subscriptions."""

from __future__ import annotations

import os

from twisted.internet import reactor, task
from twisted.trial.unittest import TestCase

from mongoose.xmpp.tls import generate_certificates
from test.s2s.support import start_pair, wait_for
from test.support.sessions import connect


def _bodies(client) -> list[str]:
    found = []
    for stanza in client.session.received:
        if stanza.name == "message":
            body = next((c for c in stanza.elements() if c.name == "body"), None)
            if body is not None:
                found.append(str(body))
    return found


def _presences(client, kind: str | None) -> list:
    return [
        s for s in client.session.received
        if s.name == "presence" and s.getAttribute("type") == kind
    ]


class FederationMixin:
    """Scenarios run with each transport set-up."""

    extra_a = extra_b = s2s_a = s2s_b = ""

    async def _pair(self):
        return await start_pair(self, self.extra_a, self.extra_b, self.s2s_a, self.s2s_b)

    async def test_messages_both_ways(self):
        """A message from a.test reaches b.test and the answer comes back."""
        a, b = await self._pair()
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await alice.available()
        await bob.available()
        await alice.send("<message to='bob@b.test/res' type='chat'><body>hi bob</body></message>")
        await wait_for(lambda: "hi bob" in _bodies(bob))
        message = bob.last("message")
        self.assertEqual(message.getAttribute("from"), "alice@a.test/res")
        await bob.send("<message to='alice@a.test/res' type='chat'><body>hi alice</body></message>")
        await wait_for(lambda: "hi alice" in _bodies(alice))
        self.assertEqual(alice.last("message").getAttribute("from"), "bob@b.test/res")
        outgoing_a = await a.commands.get("s2s", "listOutgoing").handler()
        self.assertEqual(
            [(r["localDomain"], r["remoteDomain"], r["state"]) for r in outgoing_a],
            [("a.test", "b.test", "established")],
        )
        incoming_b = await b.commands.get("s2s", "listIncoming").handler()
        self.assertIn(["a.test"], [r["remoteDomains"] for r in incoming_b])
        return a, b

    async def test_presence_subscription_both_ways(self):
        """Subscription requests and approvals cross; both rosters end with 'both'."""
        a, b = await self._pair()
        alice = await connect(a, "alice", host="a.test")
        bob = await connect(b, "bob", host="b.test")
        await alice.get_roster()
        await bob.get_roster()
        await alice.available()
        await bob.available()
        await alice.send("<presence to='bob@b.test' type='subscribe'/>")
        await wait_for(lambda: _presences(bob, "subscribe"))
        self.assertEqual(_presences(bob, "subscribe")[0].getAttribute("from"), "alice@a.test")
        await bob.send("<presence to='alice@a.test' type='subscribed'/>")
        await wait_for(lambda: _presences(alice, "subscribed"))
        await bob.send("<presence to='alice@a.test' type='subscribe'/>")
        await wait_for(lambda: _presences(alice, "subscribe"))
        await alice.send("<presence to='bob@b.test' type='subscribed'/>")
        await wait_for(lambda: _presences(bob, "subscribed"))

        async def subscription(node, user, host, contact):
            items = await node.stores.roster.get_items(host, user)
            return {i.contact: i.subscription for i in items}.get(contact)

        for _ in range(100):
            sub_a = await subscription(a, "alice", "a.test", "bob@b.test")
            sub_b = await subscription(b, "bob", "b.test", "alice@a.test")
            if (sub_a, sub_b) == ("both", "both"):
                break
            await task.deferLater(reactor, 0.05)
        self.assertEqual((sub_a, sub_b), ("both", "both"))


class PlainDialbackTests(FederationMixin, TestCase):
    """Federation over plain TCP, authenticated by dialback."""


class RequiredStartTLSTests(FederationMixin, TestCase):
    """Federation with STARTTLS required by both listeners and both outgoing sides."""

    def setUp(self):
        """Write one CA-signed certificate per domain and a file trusting both CAs."""
        base = os.path.abspath(self.mktemp())
        certs = {}
        for domain in ("a.test", "b.test"):
            directory = os.path.join(base, domain)
            os.makedirs(directory)
            certs[domain] = generate_certificates(directory, domain)
        trust = os.path.join(base, "trust.pem")
        with open(trust, "wb") as out:
            for generated in certs.values():
                with open(generated.ca_cert, "rb") as f:
                    out.write(f.read())

        def listener(domain):
            c = certs[domain]
            return (
                f'  tls.mode = "starttls_required"\n  tls.certfile = "{c.cert}"\n'
                f'  tls.keyfile = "{c.key}"\n'
            )

        outgoing = (
            f'  outgoing.tls.mode = "starttls_required"\n'
            f'  outgoing.tls.verify_mode = "peer"\n  outgoing.tls.cacertfile = "{trust}"\n'
        )
        self.extra_a, self.extra_b = listener("a.test"), listener("b.test")
        self.s2s_a = self.s2s_b = outgoing

    async def test_streams_are_secure(self):
        """Both directions use TLS once the message crossed."""
        a, b = await self.test_messages_both_ways()
        rows = await a.commands.get("s2s", "listOutgoing").handler()
        self.assertTrue(all(r["secure"] for r in rows))
        rows = await b.commands.get("s2s", "listIncoming").handler()
        self.assertTrue(rows and all(r["secure"] for r in rows))

"""XEP-0114 components against a whole Node, over real loopback sockets."""

from __future__ import annotations

import os

from twisted.internet import reactor, task, threads
from twisted.python.filepath import FilePath
from twisted.trial.unittest import TestCase

from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from mongoose.component.handshake import handshake_digest
from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node, StartupError
from mongoose.xmpp.namespaces import NS_CLIENT, NS_COMPONENT_ACCEPT
from mongoose.xmpp.tls import generate_certificates
from test.component.support import (
    BASE,
    SECRET,
    component_listener,
    connect,
    new_port,
    start_node,
)
from test.modules.nodes import login, xml
from test.support.processes import http_json

DISCO_ITEMS = (
    "<iq type='get' id='items' from='alice@localhost/res' to='localhost'>"
    "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>"
)


def body(el) -> str:
    """The text of a message's <body/>."""
    for child in el.elements():
        if child.name == "body":
            return str(child)
    raise AssertionError(f"no body in {el.toXml()}")


async def wait_for(predicate, timeout: float = 5.0) -> None:
    """Let the reactor run until ``predicate()`` is true (AssertionError after ``timeout``)."""
    deadline = reactor.seconds() + timeout
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError("condition not met in time")
        await task.deferLater(reactor, 0.01)


def condition(el) -> str:
    """The defined condition of an error stanza."""
    error = next(c for c in el.elements() if c.name == "error")
    return next(error.elements()).name


class ComponentNodeTestCase(TestCase):
    """Starts a node with one component listener per test."""

    extra = ""
    modules = ""

    async def start(self, extra: str | None = None, more: str = ""):
        self.port = new_port()
        listener = component_listener(self.port, self.extra if extra is None else extra)
        self.node = await start_node(self, listener + self.modules + more)
        return self.node

    async def component(self, domain: str, **kw):
        client = await connect(self, self.port)
        answer = await client.authenticate(domain, **kw)
        self.assertEqual((answer.uri, answer.name), (NS_COMPONENT_ACCEPT, "handshake"))
        return client


class HandshakeTests(ComponentNodeTestCase):
    """Authentication over XEP-0114."""

    async def test_handshake_ok(self):
        """The right secret gets <handshake/>; the domain then routes to the connection."""
        node = await self.start()
        client = await connect(self, self.port)
        header = await client.open("echo.localhost")
        self.assertEqual(header["from"], "echo.localhost")
        self.assertEqual(header["xmlns"], NS_COMPONENT_ACCEPT)
        client.send(f"<handshake>{handshake_digest(header['id'], SECRET)}</handshake>")
        answer = await client.next()
        self.assertEqual(answer.toXml(), "<handshake xmlns='jabber:component:accept'/>")
        self.assertIn("echo.localhost", node.router.routes)
        self.assertEqual(node.components.domains(), ["echo.localhost"])

    async def test_wrong_secret(self):
        """A wrong secret is not-authorized and nothing is registered."""
        node = await self.start()
        client = await connect(self, self.port)
        header = await client.open("echo.localhost")
        client.send(f"<handshake>{handshake_digest(header['id'], 'guess')}</handshake>")
        self.assertEqual(await client.stream_error(), "not-authorized")
        self.assertEqual(node.router.routes, {})

    async def test_server_domain_refused(self):
        """A component cannot take a domain the server itself serves."""
        await self.start()
        client = await connect(self, self.port)
        await client.open("localhost")
        client.send(f"<handshake>{handshake_digest(client.header['id'], SECRET)}</handshake>")
        self.assertEqual(await client.stream_error(), "conflict")

    async def test_state_timeout(self):
        """A component that never authenticates gets connection-timeout."""
        await self.start('  state_timeout = 200\n')
        client = await connect(self, self.port)
        await client.open("slow.localhost")
        self.assertEqual(await client.stream_error(), "connection-timeout")

    async def test_max_connections(self):
        """Past max_connections a new connection is refused with resource-constraint."""
        await self.start("  max_connections = 1\n")
        await self.component("one.localhost")
        client = await connect(self, self.port)
        self.assertEqual(await client.stream_error(), "resource-constraint")


class ConflictTests(ComponentNodeTestCase):
    """conflict_behaviour."""

    async def test_disconnect(self):
        """disconnect: the newcomer gets conflict; the first one keeps working."""
        node = await self.start('  conflict_behaviour = "disconnect"\n')
        first = await self.component("echo.localhost")
        second = await connect(self, self.port)
        header = await second.open("echo.localhost")
        second.send(f"<handshake>{handshake_digest(header['id'], SECRET)}</handshake>")
        self.assertEqual(await second.stream_error(), "conflict")
        alice = await login(node, "alice")
        first.send("<message from='echo.localhost' to='alice@localhost/res'><body>still</body>"
                   "</message>")
        await wait_for(lambda: alice.received)
        self.assertEqual(body(alice.received[0]), "still")

    async def test_kick_old(self):
        """kick_old: the old connection gets conflict, the newcomer gets the domain."""
        node = await self.start('  conflict_behaviour = "kick_old"\n')
        first = await self.component("echo.localhost")
        second = await self.component("echo.localhost")
        self.assertEqual(await first.stream_error(), "conflict")
        await login(node, "alice")
        await node.router.route(xml(
            "<message from='alice@localhost/res' to='echo.localhost'><body>new</body></message>"
        ))
        received = await second.next()
        self.assertEqual(body(received), "new")



class RoutingTests(ComponentNodeTestCase):
    """Stanzas between components, users and the router."""

    async def test_user_to_component_and_back(self):
        """A user's message reaches the component in its namespace; the answer reaches the user."""
        node = await self.start()
        bot = await self.component("echo.localhost")
        alice = await login(node, "alice")
        await node.router.route(xml(
            "<message from='alice@localhost/res' to='echo.localhost' type='chat'>"
            "<body>ping</body></message>"
        ))
        received = await bot.next()
        self.assertEqual(received.uri, NS_COMPONENT_ACCEPT)
        self.assertEqual((received["from"], body(received)), ("alice@localhost/res", "ping"))
        bot.send("<message from='echo.localhost' to='alice@localhost/res' type='chat'>"
                 "<body>pong</body></message>")
        await wait_for(lambda: alice.received)
        reply = alice.received[0]
        self.assertEqual((reply.uri, reply["from"], body(reply)),
                         (NS_CLIENT, "echo.localhost", "pong"))

    async def test_component_to_component(self):
        """A stanza from one component to another's domain arrives with its 'from'."""
        await self.start()
        one = await self.component("one.localhost")
        two = await self.component("two.localhost")
        one.send("<message from='bot@one.localhost' to='x@two.localhost'><body>hi</body>"
                 "</message>")
        received = await two.next()
        self.assertEqual((received["from"], received["to"], body(received)),
                         ("bot@one.localhost", "x@two.localhost", "hi"))

    async def test_unknown_local_user(self):
        """A message to a user who does not exist comes back as service-unavailable."""
        await self.start()
        bot = await self.component("echo.localhost")
        bot.send("<message from='echo.localhost' to='nobody@localhost' id='m1'>"
                 "<body>hello?</body></message>")
        reply = await bot.next()
        self.assertEqual((reply.name, reply["type"], reply["id"]), ("message", "error", "m1"))
        self.assertEqual(reply["to"], "echo.localhost")
        self.assertEqual(condition(reply), "service-unavailable")

    async def test_malformed_to(self):
        """A stanza to a malformed address comes back as jid-malformed; the stream stays."""
        await self.start()
        bot = await self.component("echo.localhost")
        bot.send("<message from='echo.localhost' to='a@@localhost' id='m2'><body>x</body>"
                 "</message>")
        reply = await bot.next()
        self.assertEqual((reply["type"], reply["id"]), ("error", "m2"))
        self.assertEqual(condition(reply), "jid-malformed")
        self.assertFalse(bot.lost.called)

    async def test_iq_to_server(self):
        """A component can query the server (a disco#info IQ gets a result)."""
        await self.start(more="[modules.mod_disco]\n")
        bot = await self.component("echo.localhost")
        bot.send("<iq type='get' id='q1' from='echo.localhost' to='localhost'>"
                 "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
        reply = await bot.next()
        self.assertEqual((reply["type"], reply["id"]), ("result", "q1"))

    async def test_is_subdomain(self):
        """is_subdomain='true' registers NAME.HOST for every host of the node."""
        node = await self.start()
        bot = await self.component("muc", is_subdomain=True)
        self.assertEqual(node.components.domains(), ["muc.localhost", "muc.other.test"])
        await login(node, "alice")
        for domain in ("muc.localhost", "muc.other.test"):
            await node.router.route(xml(
                f"<message from='alice@localhost/res' to='room@{domain}'><body>{domain}</body>"
                "</message>"
            ))
            self.assertEqual(body(await bot.next()), domain)
        bot.send("<presence from='bob@muc.other.test' to='alice@localhost/res'/>")
        bot.send("<presence from='bob@elsewhere.test' to='alice@localhost/res'/>")
        self.assertEqual(await bot.stream_error(), "invalid-from")

    async def test_check_from(self):
        """With check_from (the default) a 'from' outside the domain is invalid-from."""
        node = await self.start()
        bot = await self.component("echo.localhost")
        alice = await login(node, "alice")
        bot.send("<message from='admin@localhost' to='alice@localhost/res'><body>x</body>"
                 "</message>")
        self.assertEqual(await bot.stream_error(), "invalid-from")
        self.assertEqual(alice.received, [])
        self.assertNotIn("echo.localhost", node.router.routes)

    async def test_check_from_off(self):
        """With check_from = false any 'from' is accepted."""
        node = await self.start("  check_from = false\n")
        bot = await self.component("echo.localhost")
        alice = await login(node, "alice")
        bot.send("<message from='someone@gateway.test' to='alice@localhost/res'><body>x</body>"
                 "</message>")
        await wait_for(lambda: alice.received)
        self.assertEqual(alice.received[0]["from"], "someone@gateway.test")

    async def test_oversized_stanza(self):
        """A stanza over max_stanza_size ends the stream with policy-violation."""
        await self.start("  max_stanza_size = 1000\n")
        bot = await self.component("echo.localhost")
        bot.send("<message from='echo.localhost' to='a@localhost'><body>"
                 + "x" * 2000 + "</body></message>")
        self.assertEqual(await bot.stream_error(), "policy-violation")

    async def test_access_rule(self):
        """The access rule decides who may talk to components: others get not-allowed."""
        rules = (
            '[acl]\n  friends = [{user = "alice"}]\n'
            '[access]\n  component_users = [{acl = "friends", value = "allow"}]\n'
        )
        node = await self.start('  access = "component_users"\n', more=rules)
        bot = await self.component("echo.localhost")
        await login(node, "alice")
        bob = await login(node, "bob")
        await node.router.route(xml(
            "<message from='bob@localhost/res' to='echo.localhost'><body>b</body></message>"
        ))
        self.assertEqual(condition(bob.received[0]), "not-allowed")
        await node.router.route(xml(
            "<message from='alice@localhost/res' to='echo.localhost'><body>a</body></message>"
        ))
        self.assertEqual(body(await bot.next()), "a")

    async def check_shaped(self, listener: str, more: str) -> None:
        """Start with a 2 kB/s shaper; assert a 6 kB burst then stops reading for a while."""
        node = await self.start(listener, more=more)
        bot = await self.component("echo.localhost")
        alice = await login(node, "alice")
        stanza = ("<message from='echo.localhost' to='alice@localhost/res'><body>"
                  + "x" * 900 + "</body></message>")
        started = reactor.seconds()
        bot.send(stanza * 6)
        await wait_for(lambda: len(alice.received) == 6)
        burst = reactor.seconds() - started
        bot.send(stanza)
        await wait_for(lambda: len(alice.received) == 7)
        # 6 kB against a 2 kB bucket at 2 kB/s: reading stops for about 2 seconds.
        self.assertLess(burst, 1.0)
        self.assertGreater(reactor.seconds() - started, 1.5)

    async def test_shaper_from_config(self):
        """A [shaper] named by the listener (shaper_rule) slows the component to max_rate."""
        await self.check_shaped('  shaper_rule = "slow"\n', "[shaper.slow]\n  max_rate = 2000\n")

    async def test_shaper_access_rule(self):
        """As in MongooseIM 6.0, the shaper may be an access rule whose value names it."""
        rules = (
            "[shaper.slow]\n  max_rate = 2000\n"
            '[access]\n  component_shaper = [{acl = "all", value = "slow"}]\n'
        )
        await self.check_shaped('  shaper = "component_shaper"\n', rules)

    async def test_system_shutdown(self):
        """Stopping the node closes component streams with system-shutdown."""
        node = await self.start()
        bot = await self.component("echo.localhost")
        await node.stopService()
        self.assertEqual(await bot.stream_error(), "system-shutdown")
        self.assertEqual(node.router.routes, {})


class DiscoTests(ComponentNodeTestCase):
    """hidden_components and mod_disco."""

    async def test_hidden_component_not_in_items(self):
        """A component on a hidden listener is absent from disco items; others are listed."""
        hidden_port = new_port()
        hidden = component_listener(hidden_port, "  hidden_components = true\n")
        disco = "[modules.mod_disco]\n  users_can_see_hidden_services = false\n"
        node = await self.start(more=hidden + disco)
        await self.component("visible.localhost")
        secret_bot = await connect(self, hidden_port)
        await secret_bot.authenticate("secret.localhost")
        alice = await login(node, "alice")
        await node.router.route(xml(DISCO_ITEMS))
        items = [i["jid"] for i in next(alice.received[-1].elements()).elements()]
        self.assertEqual(items, ["visible.localhost"])
        self.assertIn("secret.localhost", node.router.routes)

    async def test_hidden_shown_when_allowed(self):
        """With users_can_see_hidden_services (the default) hidden components are listed."""
        node = await self.start("  hidden_components = true\n", more="[modules.mod_disco]\n")
        await self.component("secret.localhost")
        alice = await login(node, "alice")
        await node.router.route(xml(DISCO_ITEMS))
        items = [i["jid"] for i in next(alice.received[-1].elements()).elements()]
        self.assertEqual(items, ["secret.localhost"])


class CommandTests(ComponentNodeTestCase):
    """The component commands through the registry."""

    async def test_list_and_disconnect(self):
        """listComponents shows each domain; disconnectComponent closes the connection."""
        node = await self.start("  hidden_components = true\n")
        bot = await self.component("echo.localhost")
        admin = Caller.admin()
        rows = await node.commands.execute(admin, "component", "listComponents", {})
        self.assertEqual(len(rows), 1)
        row = rows[0]
        self.assertEqual(
            (row["domain"], row["hidden"], row["listener"]),
            ("echo.localhost", True, "listen.service[0]"),
        )
        self.assertTrue(row["address"].startswith("127.0.0.1:"))
        self.assertTrue(row["connectedSince"].endswith("Z"))
        message = await node.commands.execute(
            admin, "component", "disconnectComponent", {"domain": "echo.localhost"}
        )
        self.assertEqual(message, "Component echo.localhost disconnected")
        self.assertEqual(await bot.stream_error(), "policy-violation")
        self.assertEqual(await node.commands.execute(admin, "component", "listComponents", {}),
                         [])

    async def test_over_rest(self):
        """The commands are reachable through the admin REST API's command endpoint."""
        http_port = new_port()
        api = (
            f'[[listen.http]]\n  ip_address = "127.0.0.1"\n  port = {http_port}\n'
            '  [[listen.http.handlers.mongoose_admin_api]]\n    host = "_"\n    path = "/api"\n'
        )
        await self.start(more=api)
        await self.component("echo.localhost")
        url = f"http://127.0.0.1:{http_port}/api/commands/component/listComponents"
        status, rows = await threads.deferToThread(http_json, "POST", url, {})
        self.assertEqual(status, 200)
        self.assertEqual([row["domain"] for row in rows], ["echo.localhost"])

    async def test_disconnect_unknown(self):
        """Disconnecting a domain with no component is not_found."""
        node = await self.start()
        with self.assertRaises(CommandError) as caught:
            await node.commands.execute(
                Caller.admin(), "component", "disconnectComponent", {"domain": "no.localhost"}
            )
        self.assertEqual(caught.exception.code, "not_found")

    async def test_admin_only(self):
        """A domain admin may not disconnect components."""
        node = await self.start()
        with self.assertRaises(CommandError) as caught:
            await node.commands.execute(
                Caller.domain_admin("localhost"), "component", "listComponents", {}
            )
        self.assertEqual(caught.exception.code, "forbidden")


class ProxyProtocolTests(ComponentNodeTestCase):
    """proxy_protocol = true."""

    async def test_proxied_address(self):
        """Behind a PROXY v1 header the component's address is the one the proxy reports."""
        node = await self.start("  proxy_protocol = true\n")
        client = await connect(self, self.port)
        client.send("PROXY TCP4 203.0.113.7 127.0.0.1 40000 8888\r\n")
        await client.authenticate("echo.localhost")
        rows = await node.commands.execute(Caller.admin(), "component", "listComponents", {})
        self.assertEqual(rows[0]["address"], "203.0.113.7:40000")


class TLSTests(ComponentNodeTestCase):
    """Direct TLS on a component listener."""

    async def test_direct_tls(self):
        """With tls (mode "tls") the component handshakes over TLS."""
        directory = FilePath(self.mktemp())
        directory.makedirs()
        certs = generate_certificates(directory.path)
        tls = (f'  tls.certfile = "{certs.cert}"\n  tls.keyfile = "{certs.key}"\n'
               '  tls.mode = "tls"\n  tls.verify_mode = "none"\n')
        node = await self.start(tls)
        client = await connect(self, self.port, ca_cert=str(certs.ca_cert))
        answer = await client.authenticate("secure.localhost")
        self.assertEqual(answer.name, "handshake")
        self.assertIn("secure.localhost", node.router.routes)

    def test_bad_certificate_file(self):
        """A TLS file that cannot be read is a one-line start-up error naming the listener."""
        data = os.path.abspath(self.mktemp())
        missing = os.path.abspath(self.mktemp())
        text = BASE.format(data=data) + component_listener(
            new_port(),
            f'  tls.certfile = "{missing}.pem"\n  tls.keyfile = "{missing}.key"\n'
            '  tls.mode = "tls"\n',
        )
        with self.assertRaises(StartupError) as caught:
            Node(parse_config(text), reactor=reactor, extensions=ExtensionRegistry())
        message = str(caught.exception)
        self.assertTrue(message.startswith("listen.service[0].tls: "), message)
        self.assertNotIn("\n", message)

    def test_starttls_refused(self):
        """tls.mode = "starttls" cannot work for XEP-0114: a one-line start-up error."""
        directory = FilePath(self.mktemp())
        directory.makedirs()
        certs = generate_certificates(directory.path)
        data = os.path.abspath(self.mktemp())
        text = BASE.format(data=data) + component_listener(
            new_port(),
            f'  tls.certfile = "{certs.cert}"\n  tls.keyfile = "{certs.key}"\n'
            '  tls.mode = "starttls"\n',
        )
        with self.assertRaises(StartupError) as caught:
            Node(parse_config(text), reactor=reactor, extensions=ExtensionRegistry())
        self.assertIn("listen.service[0].tls.mode", str(caught.exception))

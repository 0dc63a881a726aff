"""STARTTLS, direct TLS and SCRAM -PLUS channel binding on client streams (RFC 6120 section 5)."""

import base64
import os

from twisted.trial.unittest import TestCase

from mongoose.node import StartupError
from mongoose.xmpp.namespaces import NS_SASL, NS_SASL_CB, NS_STARTTLS
from mongoose.xmpp.sasl.channel_binding import channel_binding_data
from mongoose.xmpp.tls import client_connection_creator, generate_certificates
from test.c2s.support import connect, start_node
from test.c2s.test_sasl import condition, mechanisms

TLS_TABLE = """
  [listen.c2s.tls]
    mode = "{mode}"
    certfile = "{cert}"
    keyfile = "{key}"
    verify_mode = "none"
"""


class TLSTestCase(TestCase):
    """A test certificate made per test, and a node using it."""

    def setUp(self):
        """Write a CA and a server certificate for localhost."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.certs = generate_certificates(directory, "localhost")
        self.creator = client_connection_creator(
            "localhost", {"cacertfile": str(self.certs.ca_cert)}
        )

    async def node(self, mode="starttls", **options):
        """Start a node whose c2s listener has TLS in ``mode``."""
        table = TLS_TABLE.format(mode=mode, cert=self.certs.cert, key=self.certs.key)
        return await start_node(self, listener=options.pop("listener", "") + table, **options)

    async def secured(self, node):
        """A client that did STARTTLS; return (client, features after TLS)."""
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        answer = await client.starttls(self.creator)
        self.assertEqual(answer.name, "proceed")
        _, features = await client.open()
        return client, features


class StartTLSTests(TLSTestCase):
    """STARTTLS offered, required, and what changes after it."""

    async def test_offered_with_mechanisms(self):
        """starttls mode offers STARTTLS (not required) next to the mechanisms, no -PLUS."""
        node = await self.node()
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        _, features = await client.open()
        starttls = features.firstChildElement()
        self.assertEqual((starttls.uri, starttls.name), (NS_STARTTLS, "starttls"))
        self.assertEqual(list(starttls.elements()), [])
        self.assertIn("PLAIN", mechanisms(features))
        self.assertFalse([m for m in mechanisms(features) if m.endswith("-PLUS")])

    async def test_after_starttls(self):
        """After TLS: no STARTTLS, -PLUS offered first, XEP-0440 lists the binding types."""
        node = await self.node()
        client, features = await self.secured(node)
        names = [child.name for child in features.elements()]
        self.assertNotIn("starttls", names)
        self.assertEqual(mechanisms(features)[:2], ["SCRAM-SHA-512-PLUS", "SCRAM-SHA-512"])
        (binding,) = [c for c in features.elements() if c.uri == NS_SASL_CB]
        types = [c["type"] for c in binding.elements()]
        self.assertEqual(types, ["tls-exporter", "tls-server-end-point"])
        answer = await client.scram("SCRAM-SHA-256", "alice", "secret")
        self.assertEqual(answer.name, "success")
        (server,) = node.listeners[0].factory.connections
        self.assertEqual(server.session.info["transport"], "tls")

    async def test_starttls_required(self):
        """starttls_required offers only STARTTLS, marked required."""
        node = await self.node("starttls_required")
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        _, features = await client.open()
        (starttls,) = features.elements()
        self.assertEqual([c.name for c in starttls.elements()], ["required"])

    async def test_auth_before_required_tls(self):
        """With starttls_required, SASL before TLS gets policy-violation."""
        node = await self.node("starttls_required")
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>")
        error = await client.closed_with()
        self.assertEqual(error.condition, "policy-violation")

    async def test_required_then_login(self):
        """With starttls_required, a client that does STARTTLS logs in."""
        node = await self.node("starttls_required")
        client, features = await self.secured(node)
        self.assertEqual((await client.auth_plain("alice", "secret")).name, "success")

    async def test_starttls_not_configured(self):
        """STARTTLS on a listener without TLS gets <failure/> and the stream ends."""
        node = await start_node(self)
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        client.send(f"<starttls xmlns='{NS_STARTTLS}'/>")
        failure = await client.element()
        self.assertEqual((failure.uri, failure.name), (NS_STARTTLS, "failure"))
        self.assertEqual((await client.next())[0], "end")

    async def test_unreadable_certificate(self):
        """A missing certificate file stops start-up with one line naming the option."""
        from mongoose.config.loader import parse_config
        from mongoose.extensions import ExtensionRegistry
        from mongoose.node import Node
        from test.c2s.support import BASE
        from test.support.processes import free_port

        table = TLS_TABLE.format(mode="starttls", cert="/nowhere/cert.pem", key="/nowhere/key.pem")
        config = parse_config(
            BASE.format(
                data=os.path.abspath(self.mktemp()),
                port=free_port(),
                listener=table,
                auth="  [auth.internal]",
            )
        )
        from twisted.internet import reactor

        node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
        node.startService()
        try:
            await node.ready
        except StartupError as error:
            message = str(error)
        else:
            self.fail("the node started with a missing certificate")
        finally:
            await node.stopService()
        self.assertIn("listen.c2s[0].tls", message)
        self.assertIn("/nowhere/cert.pem", message)
        self.assertNotIn("\n", message)


class ChannelBindingTests(TLSTestCase):
    """SCRAM -PLUS with both binding types, a wrong binding and the downgrade check."""

    async def plus_login(self, cb_type, *, data=None, mechanism="SCRAM-SHA-256-PLUS"):
        """SCRAM -PLUS after STARTTLS with the connection's own binding data."""
        node = await self.node()
        client, _ = await self.secured(node)
        cb_data = (
            data
            if data is not None
            else channel_binding_data(client.transport, cb_type, server_side=False)
        )
        self.assertIsNotNone(cb_data)
        return await client.scram(mechanism, "alice", "secret", cb_type=cb_type, cb_data=cb_data)

    async def test_tls_exporter(self):
        """SCRAM-SHA-256-PLUS with tls-exporter (RFC 9266) succeeds."""
        answer = await self.plus_login("tls-exporter")
        self.assertEqual(answer.name, "success")

    async def test_tls_server_end_point(self):
        """SCRAM-SHA-512-PLUS with tls-server-end-point (RFC 5929) succeeds."""
        answer = await self.plus_login("tls-server-end-point", mechanism="SCRAM-SHA-512-PLUS")
        self.assertEqual(answer.name, "success")

    async def test_wrong_binding_data(self):
        """Binding data of another connection is refused with not-authorized."""
        answer = await self.plus_login("tls-exporter", data=b"\0" * 32)
        self.assertEqual(condition(answer), "not-authorized")

    async def test_downgrade_detected(self):
        """The 'y' flag on a stream that offered -PLUS means a downgrade: not-authorized."""
        node = await self.node()
        client, _ = await self.secured(node)
        answer = await client.scram("SCRAM-SHA-256", "alice", "secret", flag="y")
        self.assertEqual(condition(answer), "not-authorized")


class DirectTLSTests(TLSTestCase):
    """tls.mode = "tls": TLS from the first byte."""

    async def test_direct_tls_login(self):
        """A direct TLS client sees no STARTTLS, gets -PLUS and logs in with it."""
        node = await self.node("tls")
        client = await connect(node.c2s_port, tls=self.creator)
        self.addCleanup(client.transport.loseConnection)
        _, features = await client.open()
        self.assertNotIn("starttls", [c.name for c in features.elements()])
        self.assertEqual(mechanisms(features)[0], "SCRAM-SHA-512-PLUS")
        cb_data = channel_binding_data(client.transport, "tls-exporter", server_side=False)
        answer = await client.scram(
            "SCRAM-SHA-512-PLUS", "alice", "secret", cb_type="tls-exporter", cb_data=cb_data
        )
        self.assertEqual(answer.name, "success")
        client.reset()
        await client.open()
        self.assertEqual(await client.bind("d"), "alice@localhost/d")

    async def test_plain_tcp_client_on_tls_port(self):
        """A plain-text client on a direct TLS port gets nowhere and is disconnected."""
        node = await self.node("tls", listener="  c2s_state_timeout = 300\n")
        client = await connect(node.c2s_port)
        client.send("<?xml version='1.0'?><stream:stream to='localhost'>")
        kind, _ = await client.next()
        while kind != "closed":
            kind, _ = await client.next()
        self.assertEqual(node.sessions.count(), 0)


class ExternalTests(TLSTestCase):
    """SASL EXTERNAL with a verified client certificate (XEP-0178, auth method pki)."""

    AUTH = '  methods = ["internal", "pki"]\n  sasl_mechanisms = ["external", "plain"]\n  [auth.internal]\n  [auth.pki]'

    async def secured_with_certificate(self):
        """STARTTLS with alice's client certificate on a verifying listener."""
        table = TLS_TABLE.format(mode="starttls", cert=self.certs.cert, key=self.certs.key)
        table = table.replace(
            'verify_mode = "none"', f'verify_mode = "peer"\n    cacertfile = "{self.certs.ca_cert}"'
        )
        node = await start_node(self, listener=table, auth=self.AUTH)
        creator = client_connection_creator(
            "localhost",
            {
                "cacertfile": str(self.certs.ca_cert),
                "certfile": str(self.certs.client_cert),
                "keyfile": str(self.certs.client_key),
            },
        )
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open()
        self.assertEqual((await client.starttls(creator)).name, "proceed")
        _, features = await client.open()
        return node, client, features

    async def test_external(self):
        """EXTERNAL is offered after TLS with a certificate, and logs in its xmppAddr."""
        _, client, features = await self.secured_with_certificate()
        self.assertEqual(mechanisms(features), ["EXTERNAL", "PLAIN"])
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='EXTERNAL'>=</auth>")
        self.assertEqual((await client.element()).name, "success")
        client.reset()
        await client.open()
        self.assertEqual(await client.bind("cert"), "alice@localhost/cert")

    async def test_external_other_identity(self):
        """Asking to be someone the certificate does not name is not-authorized."""
        _, client, _ = await self.secured_with_certificate()
        payload = base64.b64encode(b"bob@localhost").decode()
        client.send(f"<auth xmlns='{NS_SASL}' mechanism='EXTERNAL'>{payload}</auth>")
        self.assertEqual(condition(await client.element()), "not-authorized")

    async def test_no_external_without_certificate(self):
        """Without a client certificate EXTERNAL is not offered."""
        node = await self.node(auth=self.AUTH)
        _, features = await self.secured(node)
        self.assertEqual(mechanisms(features), ["PLAIN"])


class DomainCertificateTests(TLSTestCase):
    """general.domain_certfile: each domain presents its own certificate."""

    async def node_with_domain_cert(self, mode):
        """A node whose example.net has its own certificate (cert and key in one PEM)."""
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.other = generate_certificates(directory, "example.net")
        combined = os.path.join(directory, "example.net.pem")
        with open(combined, "wb") as out:
            out.write(self.other.cert.read_bytes() + self.other.key.read_bytes())
        table = TLS_TABLE.format(mode=mode, cert=self.certs.cert, key=self.certs.key)
        general = (
            f'[[general.domain_certfile]]\n  domain = "example.net"\n  certfile = "{combined}"\n'
        )
        return await start_node(self, listener=table, extra=general)

    async def test_starttls_uses_stream_domain(self):
        """STARTTLS on a stream to example.net presents example.net's certificate."""
        node = await self.node_with_domain_cert("starttls")
        other = client_connection_creator("example.net", {"cacertfile": str(self.other.ca_cert)})
        client = await connect(node.c2s_port)
        self.addCleanup(client.transport.loseConnection)
        await client.open("example.net")
        self.assertEqual((await client.starttls(other)).name, "proceed")
        header, _ = await client.open("example.net")
        self.assertEqual(header["from"], "example.net")
        default = await connect(node.c2s_port)
        self.addCleanup(default.transport.loseConnection)
        await default.open("localhost")
        await default.starttls(self.creator)
        await default.open("localhost")

    async def test_direct_tls_uses_sni(self):
        """Direct TLS picks the certificate by the SNI name."""
        node = await self.node_with_domain_cert("tls")
        other = client_connection_creator("example.net", {"cacertfile": str(self.other.ca_cert)})
        client = await connect(node.c2s_port, tls=other)
        self.addCleanup(client.transport.loseConnection)
        header, _ = await client.open("example.net")
        self.assertEqual(header["from"], "example.net")


class CheckListenerTests(TLSTestCase):
    """check_c2s_listener reports unusable TLS options before anything starts."""

    def test_reports_missing_files(self):
        """A missing certificate gives one line naming the option and the file; a good one none."""
        from mongoose.acl import AccessRules
        from mongoose.c2s.listener import check_c2s_listener
        from mongoose.config.loader import parse_config
        from test.c2s.support import BASE

        def problems(cert):
            table = TLS_TABLE.format(mode="starttls", cert=cert, key=self.certs.key)
            text = BASE.format(
                data="/tmp/unused", port=5999, listener=table, auth="  [auth.internal]"
            )
            config = parse_config(text)
            options = config.listeners("c2s")[0]
            return check_c2s_listener(0, options, config, AccessRules(config))

        self.assertEqual(problems(self.certs.cert), [])
        (line,) = problems("/nowhere/cert.pem")
        self.assertTrue(line.startswith("listen.c2s[0].tls: "), line)
        self.assertIn("/nowhere/cert.pem", line)

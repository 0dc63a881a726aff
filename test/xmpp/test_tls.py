"""Tests for mongoose.xmpp.tls and sasl.channel_binding over real loopback TLS."""

from __future__ import annotations

import datetime
import hashlib
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IHandshakeListener, IOpenSSLServerConnectionCreator
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.ssl import Certificate, PrivateCertificate, optionsForClientTLS
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mongoose.xmpp.sasl.channel_binding import (
    channel_binding_data,
    channel_bindings,
    server_end_point_hash,
    tls_connection,
)
from mongoose.xmpp.tls import (
    TLSConfigError,
    client_connection_creator,
    generate_certificates,
    peer_certificate,
    server_connection_creator,
)


@implementer(IHandshakeListener)
class Peer(Protocol):
    """One side of a test connection: records data, handshake and loss."""

    def __init__(self):
        self.made = Deferred()
        self.handshake = Deferred()
        self.lost = Deferred()
        self.received = b""
        self.on_data = None

    def connectionMade(self):
        self.made.callback(self)

    def handshakeCompleted(self):
        if not self.handshake.called:
            self.handshake.callback(self)

    def dataReceived(self, data):
        self.received += data
        if self.on_data is not None:
            self.on_data(self, data)

    def connectionLost(self, reason):
        if not self.handshake.called:
            self.handshake.errback(reason)
        self.lost.callback(None)


class PeerFactory(ClientFactory):
    """Builds Peers and remembers them."""

    def __init__(self, on_data=None):
        self.peers = []
        self.built = Deferred()
        self.on_data = on_data

    def buildProtocol(self, addr):
        peer = Peer()
        peer.factory = self
        peer.on_data = self.on_data
        self.peers.append(peer)
        if not self.built.called:
            self.built.callback(peer)
        return peer


def client_options(certs, *, with_cert=None, hostname="localhost"):
    """optionsForClientTLS trusting the test CA, optionally with a client certificate."""
    client_cert = None
    if with_cert == "ca":
        client_cert = PrivateCertificate.loadPEM(
            certs.client_cert.read_bytes() + certs.client_key.read_bytes()
        )
    elif with_cert == "self":
        client_cert = PrivateCertificate.loadPEM(
            certs.self_signed_cert.read_bytes() + certs.self_signed_key.read_bytes()
        )
    return optionsForClientTLS(
        hostname,
        trustRoot=Certificate.loadPEM(certs.ca_cert.read_bytes()),
        clientCertificate=client_cert,
    )


class LoopbackTLSTestCase(TestCase):
    """Real TLS connections over 127.0.0.1."""

    def setUp(self):
        directory = FilePath(self.mktemp())
        directory.makedirs()
        self.certs = generate_certificates(directory.path)

    def server_options(self, **extra):
        options = {
            "certfile": str(self.certs.cert),
            "keyfile": str(self.certs.key),
            "verify_mode": "none",
        }
        options.update(extra)
        return options

    async def connect(self, server_creator, client_creator, *, expect_failure=False):
        """Connect a TLS client to a TLS server; return both Peers after the handshake."""
        server_factory = PeerFactory()
        port = reactor.listenTCP(
            0, TLSMemoryBIOFactory(server_creator, False, server_factory), interface="127.0.0.1"
        )
        self.addCleanup(port.stopListening)
        client_factory = PeerFactory()
        reactor.connectTCP(
            "127.0.0.1",
            port.getHost().port,
            TLSMemoryBIOFactory(client_creator, True, client_factory),
        )
        client = await client_factory.built
        server = await server_factory.built
        self.addCleanup(self.disconnect, client, server)
        if expect_failure:
            failures = []
            for peer in (server, client):
                try:
                    await peer.handshake
                    await peer.lost
                except Exception as error:
                    failures.append(error)
            self.assertTrue(failures, "the handshake should have failed")
            return client, server
        await client.handshake
        await server.handshake
        return client, server

    async def disconnect(self, client, server):
        for peer in (client, server):
            if peer.transport is not None and not peer.lost.called:
                peer.transport.loseConnection()
        for peer in (client, server):
            await peer.lost


class HandshakeTests(LoopbackTLSTestCase):
    """Server contexts from tls options, and channel binding on both sides."""

    async def test_tls13_channel_bindings(self):
        """Over TLS 1.3 both binding types exist and are equal on both sides."""
        creator = server_connection_creator(self.server_options())
        verifyObject(IOpenSSLServerConnectionCreator, creator)
        client, server = await self.connect(creator, client_options(self.certs))
        self.assertEqual(tls_connection(server.transport).get_protocol_version_name(), "TLSv1.3")
        server_side = channel_bindings(server.transport)
        client_side = channel_bindings(client.transport, server_side=False)
        self.assertEqual(list(server_side), ["tls-exporter", "tls-server-end-point"])
        self.assertEqual(server_side, client_side)
        self.assertEqual(len(server_side["tls-exporter"]), 32)
        cert = x509.load_pem_x509_certificate(self.certs.cert.read_bytes())
        der = cert.public_bytes(serialization.Encoding.DER)
        self.assertEqual(server_side["tls-server-end-point"], hashlib.sha256(der).digest())
        client.transport.write(b"ping")
        while server.received != b"ping":
            await deferLater(0.01)

    async def test_tls12_channel_bindings(self):
        """Over TLS 1.2 only tls-server-end-point is offered, equal on both sides."""
        creator = server_connection_creator(self.server_options(versions=["tlsv1.2"]))
        client, server = await self.connect(creator, client_options(self.certs))
        self.assertEqual(tls_connection(server.transport).get_protocol_version_name(), "TLSv1.2")
        server_side = channel_bindings(server.transport)
        self.assertEqual(list(server_side), ["tls-server-end-point"])
        self.assertEqual(server_side, channel_bindings(client.transport, server_side=False))
        self.assertIsNone(channel_binding_data(server.transport, "tls-exporter"))
        self.assertIsNone(channel_binding_data(server.transport, "tls-unique"))

    async def test_encrypted_key(self):
        """A password-protected key is opened with tls.password."""
        directory = FilePath(self.mktemp())
        directory.makedirs()
        certs = generate_certificates(directory.path, key_password="s3cret")
        options = {
            "certfile": str(certs.cert),
            "keyfile": str(certs.key),
            "password": "s3cret",
            "verify_mode": "none",
        }
        client, server = await self.connect(
            server_connection_creator(options), client_options(certs)
        )
        self.assertTrue(channel_bindings(server.transport))

    async def test_starttls(self):
        """After STARTTLS on a TCP transport the binding data is found too."""
        creator = server_connection_creator(self.server_options())

        def server_data(peer, data):
            if peer.received == b"STARTTLS\n":
                peer.transport.write(b"PROCEED\n")
                peer.transport.startTLS(creator)

        def client_data(peer, data):
            if peer.received == b"PROCEED\n":
                peer.transport.startTLS(client_options(self.certs))

        server_factory = PeerFactory(server_data)
        port = reactor.listenTCP(0, server_factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        client_factory = PeerFactory(client_data)
        reactor.connectTCP("127.0.0.1", port.getHost().port, client_factory)
        client = await client_factory.built
        server = await server_factory.built
        self.addCleanup(self.disconnect, client, server)
        await client.made
        await server.made
        self.assertEqual(channel_bindings(server.transport), {})
        client.transport.write(b"STARTTLS\n")
        await client.handshake
        await server.handshake
        server_side = channel_bindings(server.transport)
        self.assertEqual(set(server_side), {"tls-exporter", "tls-server-end-point"})
        self.assertEqual(server_side, channel_bindings(client.transport, server_side=False))


class ClientCertificateTests(LoopbackTLSTestCase):
    """verify_mode, disconnect_on_failure and CRLs for client certificates."""

    def verifying(self, mode="peer", **extra):
        return server_connection_creator(
            self.server_options(verify_mode=mode, cacertfile=str(self.certs.ca_cert), **extra)
        )

    async def test_verified_certificate(self):
        """A client certificate signed by the CA is verified."""
        client, server = await self.connect(
            self.verifying(), client_options(self.certs, with_cert="ca")
        )
        report = peer_certificate(server.transport)
        self.assertTrue(report.verified)
        self.assertIsNone(report.error)
        common_name = report.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        self.assertEqual(common_name[0].value, "alice@localhost")

    async def test_no_certificate_accepted(self):
        """With peer a client that sends no certificate still connects (no SASL EXTERNAL)."""
        client, server = await self.connect(self.verifying(), client_options(self.certs))
        report = peer_certificate(server.transport)
        self.assertTrue(report is None or report.certificate is None)

    async def test_self_signed_refused(self):
        """peer refuses a self-signed client certificate."""
        await self.connect(
            self.verifying(), client_options(self.certs, with_cert="self"), expect_failure=True
        )

    async def test_self_signed_accepted(self):
        """selfsigned_peer accepts a self-signed client certificate."""
        client, server = await self.connect(
            self.verifying("selfsigned_peer"), client_options(self.certs, with_cert="self")
        )
        self.assertTrue(peer_certificate(server.transport).verified)

    async def test_failure_tolerated(self):
        """With disconnect_on_failure = false a bad certificate is reported, not fatal."""
        creator = self.verifying(disconnect_on_failure=False)
        client, server = await self.connect(creator, client_options(self.certs, with_cert="self"))
        report = peer_certificate(server.transport)
        self.assertIsNotNone(report.certificate)
        self.assertFalse(report.verified)
        self.assertIsNotNone(report.error)
        client, server = await self.connect(creator, client_options(self.certs))
        report = peer_certificate(server.transport)
        self.assertEqual((report.certificate, report.verified), (None, False))

    async def test_verify_none(self):
        """verify_mode none asks for no certificate and reports none as verified."""
        client, server = await self.connect(
            server_connection_creator(self.server_options()),
            client_options(self.certs, with_cert="ca"),
        )
        report = peer_certificate(server.transport)
        self.assertFalse(report.verified)

    async def test_revoked_certificate(self):
        """A client certificate listed in a CRL is refused."""
        ca_key = serialization.load_pem_private_key(self.certs.ca_key.read_bytes(), None)
        ca_cert = x509.load_pem_x509_certificate(self.certs.ca_cert.read_bytes())
        client_cert = x509.load_pem_x509_certificate(self.certs.client_cert.read_bytes())
        now = datetime.datetime.now(datetime.UTC)
        revoked = (
            x509.RevokedCertificateBuilder()
            .serial_number(client_cert.serial_number)
            .revocation_date(now - datetime.timedelta(minutes=1))
            .build()
        )
        crl = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - datetime.timedelta(minutes=1))
            .next_update(now + datetime.timedelta(days=1))
            .add_revoked_certificate(revoked)
            .sign(ca_key, hashes.SHA256())
        )
        crl_path = FilePath(self.mktemp())
        crl_path.setContent(crl.public_bytes(serialization.Encoding.PEM))
        creator = self.verifying(crl_files=[crl_path.path])
        await self.connect(creator, client_options(self.certs, with_cert="ca"), expect_failure=True)
        empty = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - datetime.timedelta(minutes=1))
            .next_update(now + datetime.timedelta(days=1))
            .sign(ca_key, hashes.SHA256())
        )
        crl_path.setContent(empty.public_bytes(serialization.Encoding.DER))
        creator = self.verifying(crl_files=[crl_path.path])
        client, server = await self.connect(creator, client_options(self.certs, with_cert="ca"))
        self.assertTrue(peer_certificate(server.transport).verified)


class ClientCreatorTests(LoopbackTLSTestCase):
    """client_connection_creator for outgoing connections."""

    async def test_verifies_hostname(self):
        """The server's certificate must name the host."""
        server = server_connection_creator(self.server_options())
        good = client_connection_creator("localhost", {"cacertfile": str(self.certs.ca_cert)})
        await self.connect(server, good)
        wrong = client_connection_creator("example.com", {"cacertfile": str(self.certs.ca_cert)})
        await self.connect(server, wrong, expect_failure=True)

    async def test_verify_none_and_client_certificate(self):
        """verify_mode none accepts any server and may present a certificate."""
        server = server_connection_creator(
            self.server_options(verify_mode="peer", cacertfile=str(self.certs.ca_cert))
        )
        client = client_connection_creator(
            "anything",
            {
                "verify_mode": "none",
                "certfile": str(self.certs.client_cert),
                "keyfile": str(self.certs.client_key),
            },
        )
        _, peer = await self.connect(server, client)
        self.assertTrue(peer_certificate(peer.transport).verified)

    def test_errors(self):
        """Bad outgoing options raise TLSConfigError."""
        self.assertRaises(
            TLSConfigError, client_connection_creator, "h", {"verify_mode": "selfsigned_peer"}
        )
        self.assertRaises(
            TLSConfigError, client_connection_creator, "h", {"cacertfile": "/no/such.pem"}
        )
        self.assertRaises(
            TLSConfigError, client_connection_creator, "h", {"cacertfile": str(self.certs.key)}
        )


def deferLater(seconds):
    """Wait a little on the real reactor."""
    from twisted.internet.task import deferLater as later

    return later(reactor, seconds, lambda: None)


class ConfigErrorTests(SynchronousTestCase):
    """Unusable options give one-line errors naming the file or option."""

    def setUp(self):
        directory = FilePath(self.mktemp())
        directory.makedirs()
        self.dir = directory
        self.certs = generate_certificates(directory.path, key_password="pw")
        self.base = {
            "certfile": str(self.certs.cert),
            "keyfile": str(self.certs.key),
            "password": "pw",
            "verify_mode": "none",
        }

    def assertConfigError(self, options, *fragments):
        with self.assertRaises(TLSConfigError) as caught:
            server_connection_creator(options)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for fragment in fragments:
            self.assertIn(fragment, message)

    def test_valid(self):
        """The base options work, with every optional file and setting."""
        dh = self.dir.child("dh.pem")
        dh.setContent(DH_PARAMETERS)
        options = dict(
            self.base,
            ciphers="ECDHE+AESGCM",
            dhfile=dh.path,
            versions=["tlsv1.3", "tlsv1.2"],
            protocol_options=["no_sslv3", "no_ticket"],
            session_tickets="stateless",
        )
        creator = server_connection_creator(options)
        self.assertEqual(creator.verify_mode, "none")

    def test_key_in_certfile(self):
        """Without keyfile the key is read from certfile; a needless password is ignored."""
        combined = self.dir.child("combined.pem")
        combined.setContent(
            self.certs.client_key.read_bytes() + b"\n" + self.certs.client_cert.read_bytes()
        )
        creator = server_connection_creator(
            {"certfile": combined.path, "verify_mode": "none", "password": "unused"}
        )
        self.assertEqual(creator.verify_mode, "none")
        self.assertConfigError({"certfile": str(self.certs.cert)}, str(self.certs.cert))

    def test_missing_certfile_option(self):
        """Without certfile nothing can be served."""
        self.assertConfigError({}, "tls.certfile")

    def test_missing_files(self):
        """Missing files are named in the message."""
        self.assertConfigError(
            dict(self.base, certfile="/nowhere/cert.pem"), "/nowhere/cert.pem", "certificate"
        )
        self.assertConfigError(
            dict(self.base, keyfile="/nowhere/key.pem"), "/nowhere/key.pem", "key"
        )
        self.assertConfigError(
            dict(self.base, verify_mode="peer", cacertfile="/nowhere/ca.pem"), "/nowhere/ca.pem"
        )
        self.assertConfigError(dict(self.base, dhfile="/nowhere/dh.pem"), "/nowhere/dh.pem")
        self.assertConfigError(
            dict(self.base, verify_mode="peer", crl_files=["/nowhere/x.crl"]), "/nowhere/x.crl"
        )

    def test_unreadable_file(self):
        """A file that cannot be read is named in the message."""
        if os.getuid() == 0:
            # root reads everything; a directory is unreadable as a file.
            self.assertConfigError(dict(self.base, certfile=self.dir.path), self.dir.path)
            return
        locked = self.dir.child("locked.pem")
        locked.setContent(self.certs.cert.read_bytes())
        locked.chmod(0)
        self.assertConfigError(dict(self.base, certfile=locked.path), locked.path)

    def test_bad_contents(self):
        """Files with the wrong contents are named in the message."""
        garbage = self.dir.child("garbage.pem")
        garbage.setContent(b"not a certificate")
        self.assertConfigError(dict(self.base, certfile=garbage.path), garbage.path)
        self.assertConfigError(dict(self.base, keyfile=garbage.path), garbage.path)
        self.assertConfigError(dict(self.base, password="wrong"), str(self.certs.key))
        self.assertConfigError(
            dict(self.base, keyfile=str(self.certs.client_key), password=None),
            "does not match",
            str(self.certs.client_key),
        )
        self.assertConfigError(
            dict(self.base, verify_mode="peer", cacertfile=garbage.path), garbage.path
        )
        self.assertConfigError(
            dict(self.base, verify_mode="peer", crl_files=[garbage.path]), garbage.path
        )
        self.assertConfigError(dict(self.base, dhfile=garbage.path), garbage.path)

    def test_bad_values(self):
        """Bad option values name the option."""
        self.assertConfigError(dict(self.base, ciphers="NO-SUCH-CIPHER"), "tls.ciphers")
        self.assertConfigError(dict(self.base, versions=["tlsv9"]), "tls.versions")
        self.assertConfigError(
            dict(self.base, protocol_options=["no_magic"]), "tls.protocol_options"
        )
        self.assertConfigError(dict(self.base, verify_mode="sometimes"), "tls.verify_mode")

    def test_verify_peer_alias(self):
        """verify_peer = true means verify_mode peer; false means none."""
        with_ca = dict(self.base, cacertfile=str(self.certs.ca_cert))
        del with_ca["verify_mode"]
        self.assertEqual(
            server_connection_creator(dict(with_ca, verify_peer=True)).verify_mode, "peer"
        )
        self.assertEqual(
            server_connection_creator(dict(with_ca, verify_peer=False)).verify_mode, "none"
        )
        self.assertEqual(server_connection_creator(with_ca).verify_mode, "peer")

    def test_end_point_hash_rules(self):
        """tls-server-end-point uses SHA-256 for SHA-1 signed certificates, the signature hash otherwise."""
        cert = x509.load_pem_x509_certificate(self.certs.cert.read_bytes())
        der = cert.public_bytes(serialization.Encoding.DER)
        self.assertEqual(server_end_point_hash(cert), hashlib.sha256(der).digest())

    def test_no_tls(self):
        """A transport without TLS has no binding data and no peer certificate."""
        from twisted.internet.testing import StringTransport

        self.assertEqual(channel_bindings(StringTransport()), {})
        self.assertIsNone(peer_certificate(StringTransport()))
        self.assertIsNone(tls_connection(object()))


# 2048-bit DH parameters (RFC 7919 ffdhe2048), for the dhfile option.
DH_PARAMETERS = b"""-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""

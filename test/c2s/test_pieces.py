"""Unit tests for the c2s pieces: shaper, PROXY header parser, zlib."""

import socket
import struct
import zlib

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from mongoose.acl import AccessRules
from mongoose.c2s.compression import CompressionError, Deflater, Inflater
from mongoose.c2s.shaper import Shaper, ShaperResolver
from mongoose.config.loader import parse_config
from mongoose.listeners.proxy_protocol import ProxyHeaderError, ProxyHeaderParser
from mongoose.xmpp.jid import JID

V2 = b"\r\n\r\n\x00\r\nQUIT\n"


class ShaperTests(SynchronousTestCase):
    """The token bucket."""

    def test_within_rate(self):
        """Reads within the bucket need no pause."""
        clock = Clock()
        shaper = Shaper(1000, clock.seconds)
        self.assertEqual(shaper.update(600), 0.0)
        self.assertEqual(shaper.update(400), 0.0)

    def test_pause_for_deficit(self):
        """Past the bucket the pause is the deficit divided by the rate."""
        clock = Clock()
        shaper = Shaper(1000, clock.seconds)
        self.assertAlmostEqual(shaper.update(3000), 2.0)
        clock.advance(2.0)
        self.assertEqual(shaper.update(0), 0.0)

    def test_refill_is_capped(self):
        """A long idle time refills at most one second of traffic."""
        clock = Clock()
        shaper = Shaper(1000, clock.seconds)
        clock.advance(100)
        self.assertAlmostEqual(shaper.update(2000), 1.0)

    def test_average_rate(self):
        """Following the pauses, 10 kB at 1 kB/s takes about 9 s (after a 1 s burst)."""
        clock = Clock()
        shaper = Shaper(1000, clock.seconds)
        for _ in range(10):
            clock.advance(shaper.update(1000))
        self.assertAlmostEqual(clock.seconds(), 9.0)


class ShaperResolverTests(SynchronousTestCase):
    """Which rate a listener's shaper option gives."""

    def resolver(self, name, extra=""):
        """A resolver over a small config."""
        config = parse_config(
            '[general]\n  hosts = ["localhost", "b.net"]\n  default_server_domain = "localhost"\n'
            + extra
        )
        return ShaperResolver(name, config, AccessRules(config))

    def test_none(self):
        """'none' means no shaping."""
        self.assertIsNone(self.resolver("none").rate("localhost"))

    def test_shaper_name(self):
        """A [shaper] name gives its max_rate, before and after the host is known."""
        resolver = self.resolver("normal", "[shaper.normal]\n  max_rate = 1000\n")
        self.assertEqual(resolver.rate(), 1000)
        self.assertEqual(resolver.rate("localhost"), 1000)

    def test_access_rule(self):
        """An access rule's value names the shaper; users can get different ones."""
        resolver = self.resolver(
            "c2s_shaper",
            """
[shaper.normal]
  max_rate = 1000
[shaper.fast]
  max_rate = 50000
[acl]
  admin = [{user = "root"}]
[access]
  c2s_shaper = [{acl = "admin", value = "none"}, {acl = "all", value = "normal"}]
""",
        )
        self.assertEqual(resolver.rate(), 1000)
        self.assertEqual(resolver.rate("localhost", JID.parse("bob@localhost")), 1000)
        self.assertIsNone(resolver.rate("localhost", JID.parse("root@localhost")))

    def test_host_shaper(self):
        """host_config.shaper adds shapers for its host."""
        resolver = self.resolver(
            "special",
            '[[host_config]]\n  host = "b.net"\n  [host_config.shaper.special]\n    max_rate = 77\n',
        )
        self.assertEqual(resolver.rate("b.net"), 77)
        self.assertIsNone(resolver.rate("localhost"))

    def test_unknown_name(self):
        """A name that is neither a shaper nor a rule means no shaping."""
        self.assertIsNone(self.resolver("missing").rate("localhost"))


class ProxyHeaderTests(SynchronousTestCase):
    """The PROXY protocol header parser."""

    def parse(self, *chunks):
        """Feed chunks; return the final (info, rest)."""
        parser = ProxyHeaderParser()
        result = (None, b"")
        for chunk in chunks:
            result = parser.feed(chunk)
        return result

    def test_v1_tcp4(self):
        """A v1 TCP4 line gives both addresses and the bytes after it."""
        info, rest = self.parse(b"PROXY TCP4 10.1.2.3 10.0.0.1 4000 5222\r\n<stream")
        self.assertEqual(
            (info.version, info.source, info.destination),
            (1, ("10.1.2.3", 4000), ("10.0.0.1", 5222)),
        )
        self.assertEqual(rest, b"<stream")

    def test_v1_tcp6_byte_by_byte(self):
        """A v1 TCP6 line fed one byte at a time is read once complete."""
        line = b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n"
        parser = ProxyHeaderParser()
        for index in range(len(line) - 1):
            self.assertEqual(parser.feed(line[index : index + 1]), (None, b""))
        info, rest = parser.feed(line[-1:])
        self.assertEqual(info.source, ("2001:db8::1", 1))

    def test_v1_unknown(self):
        """PROXY UNKNOWN keeps the connection's own address."""
        info, _ = self.parse(b"PROXY UNKNOWN\r\n")
        self.assertIsNone(info.source)

    def test_v1_errors(self):
        """Bad addresses, ports, families and overlong lines are refused."""
        for bad in (
            b"PROXY TCP4 1.2.3 10.0.0.1 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 10.0.0.1 70000 2\r\n",
            b"PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",
            b"PROXY UDP4 1.2.3.4 10.0.0.1 1 2\r\n",
            b"PROXY TCP4 " + b"1" * 200,
            b"<stream:stream>",
            b"GET / HTTP/1.1\r\n",
        ):
            self.assertRaises(ProxyHeaderError, self.parse, bad)

    def v2(self, command, family, body):
        """A v2 header."""
        return V2 + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body

    def test_v2_ipv4_with_tlv(self):
        """A v2 PROXY header for TCP/IPv4 with a TLV after the addresses."""
        body = socket.inet_aton("192.0.2.5") + socket.inet_aton("192.0.2.1")
        body += struct.pack("!HH", 1234, 5222) + b"\x02\x00\x03abc"
        info, rest = self.parse(self.v2(1, 0x11, body) + b"tail")
        self.assertEqual((info.version, info.source), (2, ("192.0.2.5", 1234)))
        self.assertEqual(rest, b"tail")

    def test_v2_local(self):
        """A LOCAL (health check) header keeps the connection's own address."""
        info, _ = self.parse(self.v2(0, 0x00, b""))
        self.assertIsNone(info.source)

    def test_v2_split_signature(self):
        """The v2 signature itself may arrive in pieces."""
        header = self.v2(0, 0x00, b"")
        info, _ = self.parse(header[:3], header[3:11], header[11:])
        self.assertEqual(info.version, 2)

    def test_v2_errors(self):
        """A wrong version, an unknown command or a short address block are refused."""
        self.assertRaises(ProxyHeaderError, self.parse, V2 + b"\x11\x11\x00\x00")
        self.assertRaises(ProxyHeaderError, self.parse, self.v2(5, 0x11, b""))
        self.assertRaises(ProxyHeaderError, self.parse, self.v2(1, 0x11, b"\x01\x02"))


class InflaterTests(SynchronousTestCase):
    """The decompressed-size limit."""

    def test_within_limit(self):
        """Input inflating within the limit comes back whole."""
        data = zlib.compress(b"a" * 1000)
        self.assertEqual(Inflater(1000).decompress(data), b"a" * 1000)

    def test_bomb(self):
        """Input inflating past the limit is refused before it is all inflated."""
        bomb = zlib.compress(b"\0" * 50_000_000, 9)
        self.assertLess(len(bomb), 100_000)
        self.assertRaises(CompressionError, Inflater(100_000).decompress, bomb)

    def test_corrupt(self):
        """Bytes that are not zlib are refused."""
        self.assertRaises(CompressionError, Inflater(1000).decompress, b"not zlib at all")

    def test_deflater_roundtrip(self):
        """What Deflater writes a standard inflater reads back, write by write."""
        deflater = Deflater()
        reader = zlib.decompressobj()
        for chunk in (b"<message/>", b"x" * 10000, b"</stream:stream>"):
            self.assertEqual(reader.decompress(deflater.compress(chunk)), chunk)


def certificate(common_name, xmpp_addrs=()):
    """A self-signed certificate with a CN and xmppAddr names."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if xmpp_addrs:
        oid = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.5")
        others = []
        for addr in xmpp_addrs:
            raw = addr.encode()
            others.append(x509.OtherName(oid, bytes([0x0C, len(raw)]) + raw))
        builder = builder.add_extension(x509.SubjectAlternativeName(others), critical=False)
    return builder.sign(key, hashes.SHA256())


class CertificateUserTests(SynchronousTestCase):
    """How auth.sasl_external maps a verified certificate to a user."""

    def auth(self, *ways, prefix="", suffix=""):
        """HostAuth with the given sasl_external ways."""
        from mongoose.c2s.context import HostAuth

        return HostAuth(
            password=True,
            anonymous=False,
            external=True,
            mechanisms=("external",),
            scram_hashes=(),
            scram_iterations=10,
            sasl_external=ways,
            cn_prefix=prefix,
            cn_suffix=suffix,
        )

    def user(self, cert, authzid, auth, verified=True):
        """certificate_user for a report on ``cert``."""
        from mongoose.c2s.authentication import certificate_user
        from mongoose.xmpp.tls import PeerCertificate

        return certificate_user(PeerCertificate(cert, verified), "localhost", authzid, auth)

    def test_standard(self):
        """standard: the one xmppAddr of this domain, or the one the authzid names."""
        cert = certificate("x", ["alice@localhost", "alice@other.org"])
        self.assertEqual(self.user(cert, None, self.auth("standard")), "alice")
        self.assertEqual(self.user(cert, "alice@localhost", self.auth("standard")), "alice")
        self.assertIsNone(self.user(cert, "bob@localhost", self.auth("standard")))

    def test_standard_ambiguous(self):
        """Two xmppAddrs of this domain and no authzid: refused."""
        cert = certificate("x", ["alice@localhost", "bob@localhost"])
        self.assertIsNone(self.user(cert, None, self.auth("standard")))
        self.assertEqual(self.user(cert, "bob@localhost", self.auth("standard")), "bob")

    def test_common_name(self):
        """common_name: prefix + CN + suffix, prepared as a localpart."""
        cert = certificate("Carol")
        auth = self.auth("common_name", prefix="ext-", suffix="-1")
        self.assertEqual(self.user(cert, None, auth), "ext-carol-1")
        self.assertIsNone(self.user(cert, "dave@localhost", auth))

    def test_auth_id(self):
        """auth_id: the authzid the client asks for, when the certificate is verified."""
        cert = certificate("x")
        self.assertEqual(self.user(cert, "dave@localhost", self.auth("auth_id")), "dave")
        self.assertIsNone(self.user(cert, None, self.auth("auth_id")))

    def test_ways_in_order(self):
        """The ways are tried in the configured order."""
        cert = certificate("carol", ["alice@localhost"])
        self.assertEqual(self.user(cert, None, self.auth("common_name", "standard")), "carol")
        self.assertEqual(self.user(cert, None, self.auth("standard", "common_name")), "alice")

    def test_unverified(self):
        """An unverified certificate authenticates nobody."""
        cert = certificate("carol", ["alice@localhost"])
        self.assertIsNone(self.user(cert, None, self.auth("standard"), verified=False))


class InterfaceTests(SynchronousTestCase):
    """The TCP protocol and the session provide the interfaces they claim."""

    def test_verify(self):
        """C2SProtocol provides IC2STransport; C2SSession provides ISession."""
        from zope.interface.verify import verifyClass

        from mongoose.c2s.interfaces import IC2STransport
        from mongoose.c2s.session import C2SSession
        from mongoose.c2s.tcp import C2SProtocol
        from mongoose.router.interfaces import ISession

        self.assertTrue(verifyClass(IC2STransport, C2SProtocol))
        self.assertTrue(verifyClass(ISession, C2SSession))

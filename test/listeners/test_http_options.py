"""[[listen.http]] options over real sockets: max_connections, compress, TLS, body limits, errors."""

from __future__ import annotations

import gzip
import json
import os

from prometheus_client.parser import text_string_to_metric_families
from twisted.trial.unittest import TestCase

from mongoose.config.loader import parse_config
from mongoose.listeners import http as http_listener
from mongoose.node import Node, StartupError
from mongoose.xmpp.tls import client_connection_creator, generate_certificates
from test.metrics.httpnode import (
    hold_connection,
    http,
    parse_response,
    raw_exchange,
    request_bytes,
    start_http_node,
    wait_until,
)

CREDENTIALS_BODY = json.dumps({"username": "alice", "password": "secret"}).encode()


def assert_json_error(testcase, response, status: int, error: str) -> None:
    """The response has ``status`` and a JSON body naming ``error``, and no traceback."""
    testcase.assertEqual(response.status, status, response.raw[:300])
    testcase.assertEqual(response.headers.get("content-type"), "application/json")
    testcase.assertEqual(json.loads(response.body)["error"], error)
    testcase.assertNotIn(b"Traceback", response.raw)


async def metric(port: int, name: str, **labels: str) -> float | None:
    """Scrape the node and return one sample's value (None when absent)."""
    response = await http(port, "GET", "/metrics")
    for family in text_string_to_metric_families(response.body.decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


class MaxConnectionsTests(TestCase):
    """transport.max_connections refuses the next connection and keeps serving."""

    async def setUp(self):
        self.http = await start_http_node(
            self, "  transport.max_connections = 2\n  transport.num_acceptors = 10\n"
        )

    async def test_third_connection_refused_then_served_again(self):
        """With two connections open the third gets a JSON 503; after one closes, 200."""
        factory = self.http.factory
        first = await hold_connection(self, self.http.port)
        await hold_connection(self, self.http.port)
        await wait_until(lambda: factory.open_connections == 2)
        response, _ = await raw_exchange(self.http.port, request_bytes("GET", "/api/commands"))
        assert_json_error(self, response, 503, "too_many_connections")
        self.assertEqual(factory.open_connections, 2)
        await first.close()
        await wait_until(lambda: factory.open_connections == 1)
        response = await http(self.http.port, "GET", "/api/commands")
        self.assertEqual(response.status, 200)
        self.assertIsInstance(json.loads(response.body), list)
        await wait_until(lambda: factory.open_connections == 1)
        refused = await metric(
            self.http.port, "mongoose_http_connections_refused_total", listener="listen.http[0]"
        )
        self.assertEqual(refused, 1.0)


class CompressTests(TestCase):
    """protocol.compress gzips bodies for clients that accept gzip."""

    async def test_gzip_when_accepted(self):
        """Accept-Encoding: gzip gives a gzip body decoding to the same JSON."""
        node = await start_http_node(self, "  protocol.compress = true\n")
        plain = await http(node.port, "GET", "/api/commands")
        self.assertNotIn("content-encoding", plain.headers)
        self.assertEqual(plain.headers.get("vary"), "Accept-Encoding")
        zipped = await http(node.port, "GET", "/api/commands", {"Accept-Encoding": "gzip, br"})
        self.assertEqual(zipped.headers.get("content-encoding"), "gzip")
        self.assertEqual(json.loads(gzip.decompress(zipped.body)), json.loads(plain.body))
        self.assertNotEqual(zipped.body, plain.body)

    async def test_refused_coding_and_metrics(self):
        """gzip;q=0 means no gzip; the metrics endpoint is compressed too."""
        node = await start_http_node(self, "  protocol.compress = true\n")
        response = await http(node.port, "GET", "/api/commands", {"Accept-Encoding": "gzip;q=0"})
        self.assertNotIn("content-encoding", response.headers)
        json.loads(response.body)
        response = await http(node.port, "GET", "/metrics", {"Accept-Encoding": "gzip"})
        self.assertEqual(response.headers.get("content-encoding"), "gzip")
        self.assertIn(b"mongoose_sessions", gzip.decompress(response.body))

    async def test_off_by_default(self):
        """Without protocol.compress the body is plain even when gzip is accepted."""
        node = await start_http_node(self)
        response = await http(node.port, "GET", "/api/commands", {"Accept-Encoding": "gzip"})
        self.assertNotIn("content-encoding", response.headers)
        self.assertIsInstance(json.loads(response.body), list)


class HTTPSTests(TestCase):
    """tls.* makes the listener serve HTTPS."""

    def setUp(self):
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.certs = generate_certificates(directory, "localhost")

    def tls_lines(self, **extra: str) -> str:
        """TOML lines for the listener's tls table."""
        options = {
            "certfile": f'"{self.certs.cert}"',
            "keyfile": f'"{self.certs.key}"',
            "verify_mode": '"none"',
            **extra,
        }
        return "".join(f"  tls.{key} = {value}\n" for key, value in options.items())

    async def test_admin_api_over_https(self):
        """A client trusting the test CA reaches the admin API; plain HTTP gets no answer."""
        node = await start_http_node(self, self.tls_lines(versions='["tlsv1.3"]'))
        creator = client_connection_creator("localhost", {"cacertfile": str(self.certs.ca_cert)})
        response = await http(node.port, "GET", "/api/commands", tls_creator=creator)
        self.assertEqual(response.status, 200)
        self.assertIsInstance(json.loads(response.body), list)
        plain, raw = await raw_exchange(node.port, request_bytes("GET", "/api/commands"))
        self.assertIsNone(plain)
        self.assertNotIn(b"HTTP/1.1 200", raw)

    async def test_client_certificate_required_by_verify_peer(self):
        """verify_mode = "peer" refuses a client certificate the CA did not sign.

        A CA-signed certificate is served; a client with no certificate is
        served too (it simply cannot authenticate with it).
        """
        node = await start_http_node(
            self, self.tls_lines(verify_mode='"peer"', cacertfile=f'"{self.certs.ca_cert}"')
        )
        with_cert = client_connection_creator("localhost", {
            "cacertfile": str(self.certs.ca_cert),
            "certfile": str(self.certs.client_cert),
            "keyfile": str(self.certs.client_key),
        })
        response = await http(node.port, "GET", "/api/commands", tls_creator=with_cert)
        self.assertEqual(response.status, 200)
        without = client_connection_creator("localhost", {"cacertfile": str(self.certs.ca_cert)})
        response = await http(node.port, "GET", "/api/commands", tls_creator=without)
        self.assertEqual(response.status, 200)
        self_signed = client_connection_creator("localhost", {
            "cacertfile": str(self.certs.ca_cert),
            "certfile": str(self.certs.self_signed_cert),
            "keyfile": str(self.certs.self_signed_key),
        })
        refused, _ = await raw_exchange(
            node.port, request_bytes("GET", "/api/commands"), tls_creator=self_signed
        )
        self.assertIsNone(refused)

    def test_unusable_certificate_is_one_line_startup_error(self):
        """A certificate file that holds no certificate stops the node with one line."""
        bogus = os.path.abspath(self.mktemp())
        with open(bogus, "w") as handle:
            handle.write("not a certificate\n")
        config = parse_config(
            f'[general]\n  hosts = ["localhost"]\n  default_server_domain = "localhost"\n'
            f"[[listen.http]]\n  port = 5280\n  tls.certfile = \"{bogus}\"\n"
            f'  [[listen.http.handlers.mongoose_admin_api]]\n    host = "_"\n    path = "/api"\n'
        )
        with self.assertRaises(StartupError) as caught:
            Node(config)
        message = str(caught.exception)
        self.assertTrue(message.startswith("listen.http[0].tls: "), message)
        self.assertIn(bogus, message)
        self.assertNotIn("\n", message)


class BodyLimitTests(TestCase):
    """Oversized bodies are refused with a JSON 413 while they are being read."""

    async def setUp(self):
        self.http = await start_http_node(self)

    async def test_declared_length_refused_before_body(self):
        """A 100 MB Content-Length gets 413 after only part of the body was sent."""
        head = (
            b"POST /api/users/localhost HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
        )
        response, _ = await raw_exchange(self.http.port, head, b"x" * 65536)
        assert_json_error(self, response, 413, "too_large")
        self.assertEqual(response.headers.get("connection"), "close")
        count = await metric(
            self.http.port, "mongoose_http_requests_total", listener="listen.http[0]",
            handler="mongoose_admin_api", method="POST", status="413",
        )
        self.assertEqual(count, 1.0)

    async def test_expect_continue_not_granted_for_too_large(self):
        """A client asking 100-continue for a too large body gets 413 and no 100."""
        head = (
            b"PUT /api/users/localhost/alice HTTP/1.1\r\nHost: localhost\r\n"
            b"Expect: 100-continue\r\nContent-Length: 5000000\r\n\r\n"
        )
        response, raw = await raw_exchange(self.http.port, head)
        assert_json_error(self, response, 413, "too_large")
        self.assertNotIn(b"100 Continue", raw)

    async def test_chunked_body_refused_when_it_grows_too_large(self):
        """A chunked body is refused once its chunks pass the limit."""
        head = (
            b"POST /api/users/localhost HTTP/1.1\r\nHost: localhost\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
        response, _ = await raw_exchange(self.http.port, head, chunk * 20)
        assert_json_error(self, response, 413, "too_large")

    async def test_limit_is_per_handler(self):
        """A handler's own max_body_bytes applies to its path; small bodies pass elsewhere."""
        response = await http(self.http.port, "POST", "/boom", body=b"z" * 100)
        assert_json_error(self, response, 413, "too_large")
        self.assertIn(b"64 bytes", response.body)
        response = await http(
            self.http.port, "POST", "/api/users/localhost",
            {"Content-Type": "application/json"}, CREDENTIALS_BODY,
        )
        self.assertEqual(response.status, 201, response.body)

    async def test_refused_connection_is_closed_by_the_server(self):
        """After a 413 the server drains briefly, then closes the connection itself."""
        self.patch(http_listener, "REFUSED_LINGER_SECONDS", 0.05)
        client = await hold_connection(self, self.http.port)
        client.transport.write(
            b"POST /api/users/localhost HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Length: 9999999\r\n\r\n" + b"x" * 1000
        )
        await client.lost
        response = parse_response(client.received)
        assert_json_error(self, response, 413, "too_large")


class MalformedRequestTests(TestCase):
    """Malformed requests get JSON errors, never a traceback."""

    async def setUp(self):
        self.http = await start_http_node(self)

    async def exchange(self, data: bytes):
        """Send raw bytes; return the parsed response."""
        response, raw = await raw_exchange(self.http.port, data)
        self.assertIsNotNone(response, raw[:300])
        return response

    async def test_garbage_request_line(self):
        """A request line that is not HTTP gets a JSON 400."""
        assert_json_error(self, await self.exchange(b"GARBAGE\r\n\r\n"), 400, "bad_request")

    async def test_header_without_colon(self):
        """A header line without a colon gets a JSON 400."""
        data = b"GET /api/commands HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n"
        assert_json_error(self, await self.exchange(data), 400, "bad_request")

    async def test_bad_content_length(self):
        """A Content-Length that is not a number gets a JSON 400."""
        data = b"POST /api/commands HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\n"
        assert_json_error(self, await self.exchange(data), 400, "bad_request")

    async def test_bad_chunk(self):
        """A chunk size that is not hexadecimal gets a JSON 400."""
        data = (
            b"POST /api/users/localhost HTTP/1.1\r\nHost: localhost\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
        )
        assert_json_error(self, await self.exchange(data), 400, "bad_request")

    async def test_bad_json_body(self):
        """A body that is not JSON gets the API's JSON 400."""
        response = await http(
            self.http.port, "POST", "/api/users/localhost",
            {"Content-Type": "application/json"}, b"{not json",
        )
        assert_json_error(self, response, 400, "bad_request")

    async def test_failing_handler_is_json_500(self):
        """A handler that raises gets a JSON 500 without the exception's details."""
        response = await http(self.http.port, "GET", "/boom")
        assert_json_error(self, response, 500, "internal_error")
        self.assertNotIn(b"secret internal detail", response.raw)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

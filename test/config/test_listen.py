"""Listener tables: [[listen.c2s]], [[listen.s2s]], [[listen.service]], [[listen.http]]."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from .helpers import MINIMAL, FakeGreeter, errors_of, parse, registry


class AddressTests(SynchronousTestCase):
    """ip_address and ip_version fill each other in."""

    def listener(self, extra: str):
        """The first c2s listener of a config with ``extra`` options."""
        return parse(MINIMAL + "[[listen.c2s]]\n  port = 5222\n" + extra).listeners("c2s")[0]

    def test_all_ipv4_interfaces_by_default(self):
        """No address: every IPv4 interface."""
        listener = self.listener("")
        self.assertEqual((listener.ip_address, listener.ip_version), ("0.0.0.0", 4))

    def test_ipv6_without_address(self):
        """ip_version 6 alone: every IPv6 interface."""
        listener = self.listener("  ip_version = 6\n")
        self.assertEqual((listener.ip_address, listener.ip_version), ("::", 6))

    def test_version_follows_the_address(self):
        """An IPv6 address makes the listener IPv6."""
        listener = self.listener('  ip_address = "::1"\n')
        self.assertEqual(listener.ip_version, 6)

    def test_contradiction(self):
        """An IPv4 address with ip_version 6 is an error."""
        errors = errors_of(
            MINIMAL
            + '[[listen.c2s]]\n  port = 5222\n  ip_address = "127.0.0.1"\n  ip_version = 6\n'
        )
        self.assertEqual(
            errors, ['listen.c2s[0].ip_version: 6 does not match ip_address "127.0.0.1"']
        )

    def test_host_name_is_not_an_address(self):
        """ip_address must be an IP literal."""
        errors = errors_of(MINIMAL + '[[listen.c2s]]\n  port = 5222\n  ip_address = "localhost"\n')
        self.assertEqual(errors, ['listen.c2s[0].ip_address: "localhost" is not an IP address'])


class C2STests(SynchronousTestCase):
    """Client listener options."""

    def test_tls_table_enables_tls(self):
        """tls options turn TLS on with the documented defaults."""
        text = MINIMAL + '[[listen.c2s]]\n  port = 5222\n  tls.certfile = "cert.pem"\n'
        tls = parse(text).listeners("c2s")[0].tls
        self.assertEqual(tls.mode, "starttls")
        self.assertEqual(tls.verify_mode, "peer")
        self.assertEqual(tls.certfile, "cert.pem")

    def test_no_tls_table_no_tls(self):
        """Without a tls table there is no tls option at all."""
        self.assertNotIn(
            "tls", parse(MINIMAL + "[[listen.c2s]]\n  port = 5222\n").listeners("c2s")[0]
        )

    def test_old_and_new_state_timeout(self):
        """state_timeout (6.3) is read as c2s_state_timeout."""
        text = MINIMAL + "[[listen.c2s]]\n  port = 5222\n  state_timeout = 100\n"
        self.assertEqual(parse(text).listeners("c2s")[0].c2s_state_timeout, 100)

    def test_fast_tls_options_are_accepted(self):
        """MongooseIM 6.0 TLS options still load."""
        text = MINIMAL + (
            "[[listen.c2s]]\n  port = 5222\n  zlib = 10000\n  max_fsm_queue = 1000\n"
            '  tls.module = "fast_tls"\n  tls.protocol_options = ["no_tlsv1"]\n'
        )
        listener = parse(text).listeners("c2s")[0]
        self.assertEqual((listener.zlib, listener.tls.module), (10000, "fast_tls"))

    def test_infinity(self):
        """max_stanza_size takes a number or "infinity", nothing else."""
        text = MINIMAL + '[[listen.c2s]]\n  port = 5222\n  max_stanza_size = "infinite"\n'
        self.assertEqual(
            errors_of(text),
            ['listen.c2s[0].max_stanza_size: "infinite" is not a positive integer or "infinity"'],
        )


class ComponentTests(SynchronousTestCase):
    """[[listen.service]] and its 6.4 name [[listen.component]]."""

    def test_both_spellings(self):
        """Both names fill the same list; shaper_rule is read as shaper."""
        for key, shaper_key in (("service", "shaper_rule"), ("component", "shaper")):
            text = MINIMAL + (
                f"[shaper.fast]\n  max_rate = 10\n[[listen.{key}]]\n  port = 8888\n"
                f'  password = "secret"\n  {shaper_key} = "fast"\n'
            )
            config = parse(text)
            (listener,) = config.listeners("service")
            self.assertEqual(config.listeners("component"), (listener,))
            self.assertEqual((listener.password, listener.shaper), ("secret", "fast"))
            self.assertNotIn("tls", listener)

    def test_giving_both_is_an_error(self):
        """service and component together are refused."""
        text = MINIMAL + (
            '[[listen.service]]\n  port = 8888\n  password = "a"\n'
            '[[listen.component]]\n  port = 8889\n  password = "b"\n'
        )
        self.assertEqual(
            errors_of(text), ["listen.component: same option as 'service'; give only one of them"]
        )

    def test_password_is_required(self):
        """A component listener needs a password."""
        self.assertEqual(
            errors_of(MINIMAL + "[[listen.component]]\n  port = 8888\n"),
            ["listen.component[0].password: required option is missing"],
        )

    def test_component_tls_defaults_to_direct_tls(self):
        """Component TLS starts with TLS, not STARTTLS."""
        text = (
            MINIMAL
            + '[[listen.component]]\n  port = 8888\n  password = "a"\n  tls.certfile = "c"\n'
        )
        self.assertEqual(parse(text).listeners("service")[0].tls.mode, "tls")


class HTTPHandlerTests(SynchronousTestCase):
    """[[listen.http.handlers.NAME]]."""

    def handlers(self, body: str):
        """The handlers of one HTTP listener on port 5280."""
        text = MINIMAL + "[[listen.http]]\n  port = 5280\n" + body
        return parse(text).listeners("http")[0].handlers

    def test_old_and_new_bosh_and_websocket_names(self):
        """mod_bosh/mod_websockets and their 6.6 names give one list each."""
        handlers = self.handlers(
            '[[listen.http.handlers.mod_bosh]]\n  host = "_"\n  path = "/http-bind"\n'
            '[[listen.http.handlers.mongoose_bosh_handler]]\n  host = "a"\n  path = "/bosh"\n'
            '[[listen.http.handlers.mod_websockets]]\n  host = "_"\n  path = "/ws"\n'
        )
        self.assertEqual(sorted(handlers), ["mongoose_bosh_handler", "mongoose_websocket_handler"])
        self.assertEqual([h.path for h in handlers.mongoose_bosh_handler], ["/http-bind", "/bosh"])
        websocket = handlers.mongoose_websocket_handler[0]
        self.assertEqual((websocket.timeout, websocket.max_stanza_size), (60000, "infinity"))

    def test_websocket_components(self):
        """The WebSocket service table takes component options."""
        handlers = self.handlers(
            '[[listen.http.handlers.mod_websockets]]\n  host = "_"\n  path = "/ws"\n'
            '  service.password = "secret"\n'
        )
        service = handlers.mongoose_websocket_handler[0].service
        self.assertEqual(
            (service.password, service.access, service.shaper), ("secret", "all", "none")
        )

    def test_graphql(self):
        """GraphQL handlers need an endpoint; credentials only for admin."""
        handlers = self.handlers(
            '[[listen.http.handlers.mongoose_graphql_handler]]\n  host = "_"\n  path = "/api"\n'
            '  schema_endpoint = "admin"\n  username = "admin"\n  password = "secret"\n'
        )
        graphql = handlers.mongoose_graphql_handler[0]
        self.assertEqual((graphql.schema_endpoint, graphql.sse_idle_timeout), ("admin", 3600000))
        text = MINIMAL + (
            "[[listen.http]]\n  port = 5280\n"
            '[[listen.http.handlers.mongoose_graphql_handler]]\n  host = "_"\n  path = "/api"\n'
            '  schema_endpoint = "user"\n  username = "u"\n'
        )
        self.assertEqual(
            errors_of(text),
            [
                "listen.http[0].handlers.mongoose_graphql_handler[0].username: only allowed "
                'when schema_endpoint is "admin" (here "user")'
            ],
        )

    def test_admin_api_credentials_go_together(self):
        """username without password is refused."""
        text = MINIMAL + (
            "[[listen.http]]\n  port = 5280\n"
            '[[listen.http.handlers.mongoose_admin_api]]\n  host = "_"\n  path = "/api"\n'
            '  username = "admin"\n'
        )
        self.assertEqual(
            errors_of(text),
            [
                "listen.http[0].handlers.mongoose_admin_api[0].password: required when the "
                "other credential is given"
            ],
        )

    def test_api_parts_default_to_all(self):
        """The REST APIs serve every part unless limited."""
        handlers = self.handlers(
            '[[listen.http.handlers.mongoose_admin_api]]\n  host = "_"\n  path = "/api"\n'
            '[[listen.http.handlers.mongoose_client_api]]\n  host = "_"\n  path = "/api/c"\n'
            '  handlers = ["messages"]\n'
        )
        self.assertIn("domain", handlers.mongoose_admin_api[0].handlers)
        self.assertEqual(handlers.mongoose_client_api[0].handlers, ("messages",))

    def test_path_must_be_absolute(self):
        """A handler path starts with a slash."""
        text = MINIMAL + (
            "[[listen.http]]\n  port = 5280\n"
            "[[listen.http.handlers.mongoose_prometheus_handler]]\n"
            '  host = "_"\n  path = "metrics"\n'
        )
        self.assertEqual(
            errors_of(text),
            [
                'listen.http[0].handlers.mongoose_prometheus_handler[0].path: "metrics" does not '
                'start with "/"'
            ],
        )

    def test_third_party_handler(self):
        """A handler from the registry gets host, path and its own options."""
        handlers = self.handlers('[[listen.http.handlers.greeter]]\n  host = "_"\n  path = "/hi"\n')
        self.assertEqual(handlers.greeter[0], {"host": "_", "path": "/hi", "greeting": "hello"})

    def test_third_party_handler_options_are_checked(self):
        """The third-party handler's schema refuses unknown options."""
        text = MINIMAL + (
            "[[listen.http]]\n  port = 5280\n"
            '[[listen.http.handlers.greeter]]\n  host = "_"\n  path = "/hi"\n  volume = 11\n'
        )
        (error,) = errors_of(text)
        self.assertTrue(
            error.startswith("listen.http[0].handlers.greeter[0].volume: unknown option")
        )

    def test_installed_handler_replaces_declared_options(self):
        """An installed handler for a declared name checks the options itself."""
        extensions = registry(http_handlers={"mongoose_admin_api": FakeGreeter})
        text = MINIMAL + (
            "[[listen.http]]\n  port = 5280\n"
            '[[listen.http.handlers.mongoose_admin_api]]\n  host = "_"\n  path = "/api"\n'
        )
        (handler,) = parse(text, extensions).listeners("http")[0].handlers.mongoose_admin_api
        self.assertEqual(handler, {"host": "_", "path": "/api", "greeting": "hello"})

    def test_broken_handler(self):
        """A handler whose code cannot be imported is reported with the reason."""
        extensions = registry(http_handlers={"broken": "mongoose_no_such_package:Handler"})
        text = MINIMAL + (
            "[[listen.http]]\n  port = 5280\n"
            '[[listen.http.handlers.broken]]\n  host = "_"\n  path = "/x"\n'
        )
        self.assertEqual(
            errors_of(text, extensions),
            [
                "listen.http[0].handlers.broken: cannot be loaded: ModuleNotFoundError: "
                "No module named 'mongoose_no_such_package'"
            ],
        )

    def test_unknown_handler(self):
        """A handler nobody provides."""
        text = MINIMAL + (
            "[[listen.http]]\n  port = 5280\n"
            '[[listen.http.handlers.foo]]\n  host = "_"\n  path = "/foo"\n'
        )
        self.assertEqual(errors_of(text), ["listen.http[0].handlers.foo: unknown HTTP handler"])

    def test_transport_and_protocol_defaults(self):
        """HTTP transport and protocol tables are always present."""
        listener = parse(MINIMAL + "[[listen.http]]\n  port = 5280\n").listeners("http")[0]
        self.assertEqual(listener.transport, {"num_acceptors": 100, "max_connections": 1024})
        self.assertEqual(listener.protocol, {"compress": False})
        self.assertEqual(listener.handlers, {})

    def test_unknown_listener_kind(self):
        """listeners() refuses a kind that does not exist."""
        self.assertRaises(ValueError, parse(MINIMAL).listeners, "udp")

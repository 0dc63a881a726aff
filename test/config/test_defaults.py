"""Defaults: the documented MongooseIM defaults, and every declared default of the schema."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from mongoose.config.root import root_spec
from mongoose.config.schema import (
    MISSING,
    ConfigError,
    DynamicSection,
    Field,
    ListOf,
    MapOf,
    OneOf,
    Section,
    Spec,
)

from .helpers import MINIMAL, parse, registry


def walk(spec: Spec, path: str):
    """Yield (path, section) for every table reachable from ``spec``."""
    if isinstance(spec, Section):
        yield path, spec
        for name, fld in spec.fields.items():
            yield from walk(fld.spec, f"{path}.{name}" if path else name)
    elif isinstance(spec, ListOf):
        yield from walk(spec.item, f"{path}[]")
    elif isinstance(spec, MapOf):
        yield from walk(spec.value, f"{path}.<{spec.key_doc}>")
    elif isinstance(spec, DynamicSection):
        for name, entry in spec.entries.items():
            yield from walk(entry, f"{path}.{name}")
    elif isinstance(spec, OneOf):
        for choice in spec.specs:
            yield from walk(choice, path)


def all_fields():
    """Yield (path, field) for every option of the schema."""
    for path, section in walk(root_spec(registry()), ""):
        for name, fld in section.fields.items():
            yield (f"{path}.{name}" if path else name), fld


class DeclaredDefaultsTests(SynchronousTestCase):
    """Each declared default is a value the option accepts and is what an empty table gets."""

    def test_every_default_is_valid(self):
        """Parsing a default with its own option's type gives no error."""
        problems = []
        for path, fld in all_fields():
            if fld.default is MISSING:
                continue
            if isinstance(fld.spec, Section) and any(f.required for f in fld.spec.fields.values()):
                continue  # an always-present table whose required options the user gives
            errors: list[ConfigError] = []
            fld.spec.parse(fld.default, path, errors)
            problems += [str(e) for e in errors]
        self.assertEqual(problems, [])

    def test_empty_tables_get_the_declared_defaults(self):
        """A table given empty holds exactly the options with a default."""
        problems = []
        for path, section in walk(root_spec(registry()), ""):
            if any(f.required for f in section.fields.values()) or section.validate:
                continue
            parsed = section.check({}, path, [])
            expected = {
                name: Section.default_of(fld)
                for name, fld in section.fields.items()
                if fld.default is not MISSING
            }
            if parsed != expected:
                problems.append(path)
        self.assertEqual(problems, [])

    def test_every_option_is_documented(self):
        """Every option has a description for the reference."""
        undocumented = [path for path, fld in all_fields() if not fld.doc]
        self.assertEqual(undocumented, [])

    def test_required_options_have_no_default(self):
        """An option is either required or has a default, never both."""
        both = [path for path, fld in all_fields() if fld.required and fld.default is not MISSING]
        self.assertEqual(both, [])

    def test_fields_are_fields(self):
        """Sections hold Field values only."""
        self.assertTrue(all(isinstance(f, Field) for _, f in all_fields()))


LISTENERS = MINIMAL + (
    "[[listen.c2s]]\n  port = 5222\n"
    "[[listen.s2s]]\n  port = 5269\n"
    '[[listen.service]]\n  port = 8888\n  password = "secret"\n'
    "[[listen.http]]\n  port = 5280\n"
)


class MongooseIMDefaultsTests(SynchronousTestCase):
    """The defaults the MongooseIM 6.x documentation gives."""

    def setUp(self):
        self.options = parse(LISTENERS).options

    def test_general(self):
        """[general] defaults."""
        general = self.options.general
        self.assertEqual(general.loglevel, "warning")
        self.assertEqual(general.registration_timeout, 600)
        self.assertEqual(general.language, "en")
        self.assertEqual(general.sm_backend, "mnesia")
        self.assertEqual(general.component_backend, "mnesia")
        self.assertEqual(general.s2s_backend, "mnesia")
        self.assertEqual(general.replaced_wait_timeout, 2000)
        self.assertEqual(general.hide_service_name, False)
        self.assertEqual(general.all_metrics_are_global, False)
        self.assertEqual(general.host_types, ())
        self.assertEqual(general.routing_modules[0], "mongoose_router_global")
        self.assertEqual(general.routing_modules[-1], "ejabberd_s2s")
        self.assertEqual(general.data_dir, "data")
        for absent in ("route_subdomains", "max_fsm_queue", "http_server_name"):
            self.assertNotIn(absent, general)

    def test_xmpp_listeners(self):
        """General and XMPP listener defaults."""
        for kind in ("c2s", "s2s", "service"):
            listener = parse(LISTENERS).listeners(kind)[0]
            self.assertEqual(listener.proto, "tcp")
            self.assertEqual(listener.backlog, 1024)
            self.assertEqual(listener.proxy_protocol, False)
            self.assertEqual(listener.hibernate_after, 0)
            self.assertEqual(listener.num_acceptors, 100)
            self.assertEqual(listener.max_stanza_size, "infinity")
            self.assertEqual(listener.max_connections, "infinity")
            self.assertEqual(listener.reuse_port, False)
            self.assertEqual(listener.shaper, "none")

    def test_c2s(self):
        """C2S listener defaults."""
        c2s = self.options.listen.c2s[0]
        self.assertEqual(c2s.access, "all")
        self.assertEqual(c2s.backwards_compatible_session, True)
        self.assertEqual(c2s.c2s_state_timeout, 5000)
        self.assertNotIn("zlib", c2s)
        self.assertNotIn("allowed_auth_methods", c2s)

    def test_component(self):
        """Component listener defaults."""
        service = self.options.listen.service[0]
        self.assertEqual(service.access, "all")
        self.assertEqual(service.check_from, True)
        self.assertEqual(service.hidden_components, False)
        self.assertEqual(service.conflict_behaviour, "disconnect")

    def test_tls(self):
        """TLS table defaults."""
        tls = parse(MINIMAL + "[[listen.c2s]]\n  port = 5222\n  tls = {}\n").listeners("c2s")[0].tls
        self.assertEqual(
            tls.to_dict(),
            {
                "mode": "starttls",
                "verify_mode": "peer",
                "disconnect_on_failure": True,
                "crl_files": [],
                "early_data": False,
                "keep_secrets": False,
            },
        )

    def test_http(self):
        """HTTP listener defaults."""
        http = self.options.listen.http[0]
        self.assertEqual(http.transport.num_acceptors, 100)
        self.assertEqual(http.transport.max_connections, 1024)
        self.assertEqual(http.protocol.compress, False)

    def test_auth(self):
        """[auth] defaults."""
        auth = self.options.auth
        self.assertEqual(auth.password.format, "scram")
        self.assertEqual(auth.password.scram_iterations, 10000)
        self.assertEqual(auth.password.hash, ("sha", "sha224", "sha256", "sha384", "sha512"))
        self.assertEqual(auth.sasl_external, ("standard",))
        self.assertEqual(auth.max_users_per_domain, "infinity")
        self.assertEqual(
            auth.sasl_mechanisms,
            (
                "scram_sha512_plus",
                "scram_sha512",
                "scram_sha384_plus",
                "scram_sha384",
                "scram_sha256_plus",
                "scram_sha256",
                "scram_sha224_plus",
                "scram_sha224",
                "scram_sha1_plus",
                "scram_sha1",
                "plain",
                "anonymous",
                "oauth",
            ),
        )

    def test_pools(self):
        """Worker pool defaults differ for rdbms and cassandra."""
        pools = parse(
            MINIMAL + "[outgoing_pools.cassandra.default]\n[outgoing_pools.http.api]\n"
            '  connection.host = "http://localhost:8000"\n'
        ).options.outgoing_pools
        cassandra, http = pools.cassandra.default, pools.http.api
        self.assertEqual((cassandra.workers, cassandra.call_timeout), (20, 5000))
        self.assertEqual((http.workers, http.strategy, http.scope), (10, "best_worker", "global"))
        self.assertEqual(http.connection.path_prefix, "/")
        self.assertEqual(http.connection.request_timeout, 2000)

    def test_s2s(self):
        """[s2s] outgoing defaults."""
        outgoing = self.options.s2s.outgoing
        self.assertEqual(outgoing.connection_timeout, 10000)
        self.assertEqual(outgoing.max_retry_delay, 300)
        self.assertEqual(outgoing.state_timeout, 5000)
        self.assertEqual(outgoing.stream_timeout, 600000)
        self.assertNotIn("tls", outgoing)

    def test_instrumentation(self):
        """[instrumentation] defaults."""
        self.assertEqual(self.options.instrumentation.probe_interval, 15)

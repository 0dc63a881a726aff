"""Sections other than [listen]: general, auth, pools, s2s, access rules, host_config."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from .helpers import MINIMAL, errors_of, parse


class GeneralTests(SynchronousTestCase):
    """[general]."""

    def test_domains_are_lower_cased(self):
        """Domains are kept in their canonical lower-case form."""
        config = parse(
            '[general]\n  hosts = ["Example.COM"]\n  default_server_domain = "Example.COM"\n'
        )
        self.assertEqual(config.hosts, ("example.com",))
        self.assertEqual(config.options.general.default_server_domain, "example.com")

    def test_bad_domain(self):
        """A JID is not a domain."""
        errors = errors_of('[general]\n  hosts = ["a@b"]\n  default_server_domain = "b"\n')
        self.assertEqual(errors, ['general.hosts[0]: "a@b" is not a valid domain name'])

    def test_host_and_host_type_overlap(self):
        """A name cannot be both a static domain and a host type."""
        text = '[general]\n  hosts = ["a.com"]\n  host_types = ["a.com"]\n'
        self.assertEqual(
            errors_of(text + '  default_server_domain = "a.com"\n'),
            ["general.host_types: a.com also listed in general.hosts"],
        )

    def test_host_types_only(self):
        """Dynamic domains alone are enough."""
        config = parse('[general]\n  host_types = ["basic"]\n  default_server_domain = "a.com"\n')
        self.assertEqual((config.hosts, config.host_types), ((), ("basic",)))

    def test_registration_timeout(self):
        """registration_timeout takes seconds or "infinity"."""
        config = parse(MINIMAL + '  registration_timeout = "infinity"\n')
        self.assertEqual(config.options.general.registration_timeout, "infinity")

    def test_routing_modules_are_known_names(self):
        """Only MongooseIM's routing stages may be listed."""
        (error,) = errors_of(MINIMAL + '  routing_modules = ["my_router"]\n')
        self.assertTrue(error.startswith('general.routing_modules[0]: "my_router" is not one of'))

    def test_mongooseimctl_access_commands(self):
        """The 6.0 command rules load."""
        text = MINIMAL + (
            "[general.mongooseimctl_access_commands.local]\n"
            '  commands = ["join_cluster"]\n  argument_restrictions.node = "mongooseim@prime"\n'
        )
        rule = parse(text).options.general.mongooseimctl_access_commands.local
        self.assertEqual(rule.argument_restrictions, {"node": "mongooseim@prime"})


class AuthTests(SynchronousTestCase):
    """[auth]."""

    def test_methods_default_to_the_tables_present(self):
        """Without methods, the method tables present are used alphabetically."""
        config = parse(MINIMAL + "[auth.rdbms]\n[auth.anonymous]\n")
        self.assertEqual(config.options.auth.methods, ("anonymous", "rdbms"))

    def test_no_method_table(self):
        """No method table: the internal user database, so the file stays usable."""
        auth = parse(MINIMAL).options.auth
        self.assertEqual((auth.methods, auth.internal), (("internal",), {}))

    def test_explicit_empty_methods(self):
        """methods = [] is kept: no method is enabled."""
        self.assertEqual(parse(MINIMAL + "[auth]\n  methods = []\n").options.auth.methods, ())

    def test_listed_method_without_table_uses_defaults(self):
        """A method in methods without its table gets the table's defaults."""
        auth = parse(MINIMAL + '[auth]\n  methods = ["internal", "rdbms"]\n').options.auth
        self.assertEqual(auth.methods, ("internal", "rdbms"))
        self.assertEqual(auth.internal, {})
        self.assertEqual(auth.rdbms["users_number_estimate"], False)

    def test_password_and_scram(self):
        """password.* options parse; hash names are checked."""
        config = parse(
            MINIMAL + '[auth]\n  password.hash = ["sha256"]\n  password.scram_iterations = 20_000\n'
        )
        self.assertEqual(
            config.options.auth.password,
            {"format": "scram", "hash": ("sha256",), "scram_iterations": 20000},
        )
        (error,) = errors_of(MINIMAL + '[auth]\n  password.hash = ["md5"]\n')
        self.assertTrue(error.startswith('auth.password.hash[0]: "md5" is not one of "sha"'))

    def test_sasl_mechanisms(self):
        """Only known SASL mechanism names are accepted."""
        config = parse(MINIMAL + '[auth]\n  sasl_mechanisms = ["external", "plain"]\n')
        self.assertEqual(config.options.auth.sasl_mechanisms, ("external", "plain"))
        (error,) = errors_of(MINIMAL + '[auth]\n  sasl_mechanisms = ["cram_md5"]\n')
        self.assertTrue(error.startswith('auth.sasl_mechanisms[0]: "cram_md5" is not one of'))

    def test_anonymous_and_external(self):
        """Method tables have their own defaults and required options."""
        config = parse(MINIMAL + '[auth.anonymous]\n  protocol = "both"\n')
        self.assertEqual(
            config.options.auth.anonymous,
            {"backend": "mnesia", "allow_multiple_connections": False, "protocol": "both"},
        )
        self.assertEqual(
            errors_of(MINIMAL + "[auth.external]\n"),
            ["auth.external.program: required option is missing"],
        )

    def test_jwt_secret_is_one_source(self):
        """The JWT secret comes from exactly one place."""
        text = MINIMAL + (
            '[auth.jwt]\n  algorithm = "HS256"\n  username_key = "user"\n'
            '  secret.value = "k"\n  secret.env = "K"\n'
        )
        self.assertEqual(errors_of(text), ["auth.jwt.secret: give exactly one of file, env, value"])

    def test_ldap_defaults(self):
        """An empty [auth.ldap] has the documented defaults."""
        ldap = parse(MINIMAL + "[auth.ldap]\n").options.auth.ldap
        self.assertEqual(ldap.uids[0], {"attr": "uid", "format": "%u"})
        self.assertEqual(
            (ldap.pool_tag, ldap.bind_pool_tag, ldap.deref), ("default", "bind", "never")
        )


class PoolTests(SynchronousTestCase):
    """[outgoing_pools]."""

    def test_pgsql_pool(self):
        """A PostgreSQL pool gets its port and the RDBMS call timeout."""
        config = parse(
            MINIMAL
            + "[outgoing_pools.rdbms.default]\n  workers = 5\n"
            + '  connection = {driver = "pgsql", host = "localhost", database = "mim", '
            + 'username = "u", password = "p"}\n'
        )
        pool = config.rdbms_pool()
        self.assertEqual((pool.workers, pool.call_timeout, pool.scope), (5, 60000, "global"))
        self.assertEqual((pool.connection.port, pool.connection.query_timeout), (5432, 5000))

    def test_network_driver_needs_credentials(self):
        """pgsql without host and credentials lists each missing option."""
        errors = errors_of(
            MINIMAL + '[outgoing_pools.rdbms.default.connection]\n  driver = "mysql"\n'
        )
        self.assertEqual(
            errors,
            [
                f"outgoing_pools.rdbms.default.connection.{key}: "
                'required option is missing (driver "mysql")'
                for key in ("host", "database", "username", "password")
            ],
        )

    def test_sqlite_pool(self):
        """The sqlite driver is a file and takes no network options."""
        config = parse(
            MINIMAL + '[outgoing_pools.rdbms.default.connection]\n  driver = "sqlite"\n'
            '  database = "data/mongoose.db"\n'
        )
        self.assertEqual(config.rdbms_pool().connection.database, "data/mongoose.db")
        errors = errors_of(
            MINIMAL + '[outgoing_pools.rdbms.default.connection]\n  driver = "sqlite"\n'
            '  database = "x.db"\n  host = "localhost"\n'
        )
        self.assertEqual(
            errors, ['outgoing_pools.rdbms.default.connection.host: not used by driver "sqlite"']
        )

    def test_odbc_pool(self):
        """ODBC needs its connection string; other drivers refuse one."""
        base = MINIMAL + "[outgoing_pools.rdbms.default.connection]\n"
        self.assertEqual(
            errors_of(base + '  driver = "odbc"\n'),
            [
                "outgoing_pools.rdbms.default.connection.settings: required option is missing "
                '(driver "odbc")'
            ],
        )
        self.assertEqual(
            errors_of(
                base + '  driver = "pgsql"\n  host = "h"\n  database = "d"\n  username = "u"\n'
                '  password = "p"\n  settings = "DSN=x"\n'
            ),
            ['outgoing_pools.rdbms.default.connection.settings: only used by driver "odbc"'],
        )

    def test_no_rdbms_pool(self):
        """rdbms_pool() is None without a global default pool."""
        self.assertIsNone(parse(MINIMAL).rdbms_pool())
        config = parse(
            MINIMAL + '[outgoing_pools.rdbms.default]\n  scope = "host_type"\n'
            '  connection = {driver = "sqlite", database = "x.db"}\n'
        )
        self.assertIsNone(config.rdbms_pool())

    def test_old_host_scope(self):
        """scope = "host" is read as host_type; single_host needs its host."""
        config = parse(MINIMAL + '[outgoing_pools.redis.default]\n  scope = "host"\n')
        self.assertEqual(config.options.outgoing_pools.redis.default.scope, "host_type")
        self.assertEqual(
            errors_of(MINIMAL + '[outgoing_pools.redis.default]\n  scope = "single_host"\n'),
            ['outgoing_pools.redis.default.host: required option is missing (scope "single_host")'],
        )

    def test_redis_defaults(self):
        """An empty redis pool connects to the local Redis."""
        pool = parse(
            MINIMAL + "[outgoing_pools.redis.default]\n"
        ).options.outgoing_pools.redis.default
        self.assertEqual(pool.connection, {"host": "127.0.0.1", "port": 6379, "database": 0})

    def test_ldap_port_follows_tls(self):
        """LDAP uses 389, or 636 with TLS."""
        pools = parse(
            MINIMAL + "[outgoing_pools.ldap.default]\n[outgoing_pools.ldap.secure]\n"
            '  connection.tls.verify_mode = "none"\n'
        ).options.outgoing_pools.ldap
        self.assertEqual((pools.default.connection.port, pools.secure.connection.port), (389, 636))

    def test_queue_length_needs_best_worker(self):
        """max_worker_queue_len only with the best_worker strategy."""
        text = MINIMAL + (
            '[outgoing_pools.http.api]\n  strategy = "random_worker"\n  max_worker_queue_len = 5\n'
            '  connection.host = "https://example.com"\n'
        )
        self.assertEqual(
            errors_of(text),
            [
                "outgoing_pools.http.api.max_worker_queue_len: "
                'only allowed with strategy "best_worker"'
            ],
        )

    def test_unknown_pool_type(self):
        """riak pools are gone."""
        (error,) = errors_of(MINIMAL + "[outgoing_pools.riak.default]\n")
        self.assertTrue(error.startswith("outgoing_pools.riak: unknown option"))


class S2STests(SynchronousTestCase):
    """[s2s]."""

    def test_defaults(self):
        """An absent [s2s] allows federation with the documented outgoing defaults."""
        s2s = parse(MINIMAL).options.s2s
        self.assertEqual(s2s.default_policy, "allow")
        self.assertEqual(s2s.outgoing.port, 5269)
        self.assertEqual(s2s.outgoing.dns, {"timeout": 10, "retries": 2})
        self.assertEqual(s2s.outgoing.ip_versions, (4, 6))

    def test_old_spellings_move_to_outgoing(self):
        """6.0-6.2 address, dns and max_retry_delay are read as outgoing.*."""
        text = MINIMAL + (
            '[s2s]\n  use_starttls = "optional"\n  max_retry_delay = 30\n  dns.timeout = 3\n'
            '  address = [{host = "a.org", ip_address = "192.0.2.1"}]\n'
        )
        s2s = parse(text).options.s2s
        self.assertEqual(s2s.outgoing.max_retry_delay, 30)
        self.assertEqual(s2s.outgoing.dns, {"timeout": 3, "retries": 2})
        self.assertEqual(s2s.outgoing.address[0].host, "a.org")
        self.assertNotIn("address", s2s)
        self.assertEqual(s2s.use_starttls, "optional")

    def test_both_spellings(self):
        """An option in both places is refused."""
        text = MINIMAL + "[s2s]\n  max_retry_delay = 30\n  outgoing.max_retry_delay = 40\n"
        self.assertEqual(
            errors_of(text),
            [
                "s2s.max_retry_delay: same option as 'outgoing.max_retry_delay'; "
                "give only one of them"
            ],
        )


class AccessTests(SynchronousTestCase):
    """[shaper], [acl] and [access]."""

    def test_acl_patterns(self):
        """{} matches the current domain; regex spellings are accepted."""
        text = (
            MINIMAL + '[acl]\n  local = [{}]\n  admin = [{user = "alice"}, {user_regex = "^adm"}]\n'
        )
        acl = parse(text).options.acl
        self.assertEqual(acl.local, ({"match": "current_domain"},))
        self.assertEqual(acl.admin[1].user_regexp, "^adm")

    def test_access_values(self):
        """Clause values are names or integers; both keys are required."""
        text = MINIMAL + '[access]\n  max_user_sessions = [{acl = "all", value = 10}]\n'
        self.assertEqual(parse(text).options.access.max_user_sessions[0].value, 10)
        self.assertEqual(
            errors_of(MINIMAL + '[access]\n  c2s = [{acl = "all"}]\n'),
            ["access.c2s[0].value: required option is missing"],
        )


class HostConfigTests(SynchronousTestCase):
    """[[host_config]] and the per-host views of Config."""

    TEXT = (
        '[general]\n  hosts = ["a.com", "b.com"]\n  default_server_domain = "a.com"\n'
        "  replaced_wait_timeout = 1000\n"
        '[auth]\n  password.format = "plain"\n[auth.internal]\n'
        "[modules.mod_roster]\n"
        '[acl]\n  blocked = [{user = "spammer"}]\n'
        '[access]\n  c2s = [{acl = "admin", value = "allow"}, {acl = "all", value = "allow"}]\n'
        '  register = [{acl = "all", value = "allow"}, {acl = "x", value = "deny"}]\n'
        '[[host_config]]\n  host = "b.com"\n'
        "  [host_config.general]\n    replaced_wait_timeout = 2000\n"
        "  [host_config.auth.anonymous]\n"
        "  [host_config.modules.mod_roster]\n    versioning = true\n"
        '  [host_config.acl]\n    blocked = [{user = "hacker"}]\n'
        '  [host_config.access]\n    c2s = [{acl = "blocked", value = "deny"}]\n'
        '    register = [{acl = "y", value = "deny"}]\n'
        '  [host_config.s2s]\n    default_policy = "deny"\n'
    )

    def setUp(self):
        self.config = parse(self.TEXT)

    def test_modules_are_replaced(self):
        """host_config.modules replaces [modules] for its host only."""
        self.assertEqual(self.config.modules_for("a.com").mod_roster.versioning, False)
        self.assertEqual(self.config.modules_for("b.com").mod_roster.versioning, True)

    def test_auth_is_replaced(self):
        """host_config.auth replaces [auth], defaults included."""
        self.assertEqual(self.config.auth_for("a.com").methods, ("internal",))
        self.assertEqual(self.config.auth_for("b.com").methods, ("anonymous",))
        self.assertEqual(self.config.auth_for("b.com").password.format, "scram")

    def test_general_is_overridden_option_by_option(self):
        """host_config.general overrides only what it sets."""
        self.assertEqual(self.config.general_for("a.com").replaced_wait_timeout, 1000)
        self.assertEqual(self.config.general_for("b.com").replaced_wait_timeout, 2000)
        self.assertEqual(self.config.general_for("b.com").language, "en")

    def test_acl_is_merged(self):
        """A class defined in both places matches both sets of patterns."""
        users = [p.user for p in self.config.acl_for("b.com").blocked]
        self.assertEqual(users, ["spammer", "hacker"])
        self.assertEqual(len(self.config.acl_for("a.com").blocked), 1)

    def test_access_is_merged_before_the_catch_all(self):
        """Host clauses go before a trailing allow-all clause, else after."""
        c2s = [(c.acl, c.value) for c in self.config.access_for("b.com").c2s]
        self.assertEqual(c2s, [("admin", "allow"), ("blocked", "deny"), ("all", "allow")])
        register = [c.acl for c in self.config.access_for("b.com").register]
        self.assertEqual(register, ["all", "x", "y"])

    def test_s2s_is_replaced(self):
        """host_config.s2s replaces [s2s]."""
        self.assertEqual(self.config.s2s_for("a.com").default_policy, "allow")
        self.assertEqual(self.config.s2s_for("b.com").default_policy, "deny")

    def test_unknown_host(self):
        """Asking for a host that is not served is a KeyError."""
        self.assertRaises(KeyError, self.config.modules_for, "c.com")

    def test_host_pools(self):
        """Host pools override global ones of the same type and tag."""
        config = parse(
            MINIMAL + "[outgoing_pools.redis.default]\n  workers = 2\n"
            '[[host_config]]\n  host = "localhost"\n'
            "  [host_config.outgoing_pools.redis.default]\n    workers = 7\n"
        )
        self.assertEqual(config.pools_for("localhost").redis.default.workers, 7)
        self.assertEqual(config.options.outgoing_pools.redis.default.workers, 2)

    def test_host_pools_have_no_scope(self):
        """scope is not allowed in host_config pools."""
        (error,) = errors_of(
            MINIMAL + '[[host_config]]\n  host = "localhost"\n'
            '  [host_config.outgoing_pools.redis.default]\n    scope = "global"\n'
        )
        self.assertTrue(
            error.startswith("host_config[0].outgoing_pools.redis.default.scope: unknown option")
        )

    def test_host_and_host_type_together(self):
        """An entry names a host or a host type, not both."""
        text = MINIMAL + '[[host_config]]\n  host = "localhost"\n  host_type = "localhost"\n'
        self.assertEqual(
            errors_of(text), ["host_config[0].host_type: give either host or host_type, not both"]
        )

    def test_general_options_not_allowed_per_host(self):
        """Only some general options may be set per host."""
        (error,) = errors_of(
            MINIMAL + '[[host_config]]\n  host = "localhost"\n  general.loglevel = "info"\n'
        )
        self.assertEqual(
            error,
            "host_config[0].general.loglevel: unknown option; allowed here: "
            "replaced_wait_timeout, route_subdomains",
        )


class InstrumentationTests(SynchronousTestCase):
    """[instrumentation] and [internal_databases]."""

    def test_handlers_are_enabled_by_their_table(self):
        """prometheus and log are on when present."""
        text = MINIMAL + "[instrumentation.prometheus]\n[instrumentation.log]\n"
        instrumentation = parse(text).options.instrumentation
        self.assertEqual(instrumentation.prometheus, {})
        self.assertEqual(instrumentation.log.level, "debug")
        self.assertNotIn("exometer", instrumentation)

    def test_internal_databases(self):
        """Absent means mnesia; given means exactly what is given."""
        self.assertEqual(parse(MINIMAL).options.internal_databases, {"mnesia": {}})
        databases = parse(MINIMAL + "[internal_databases.cets]\n").options.internal_databases
        self.assertEqual(
            databases.to_dict(), {"cets": {"backend": "rdbms", "cluster_name": "mongooseim"}}
        )

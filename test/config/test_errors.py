"""Every kind of configuration error, as the user reads it."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from mongoose.config.loader import parse_config
from mongoose.config.schema import ConfigErrors

from .helpers import MINIMAL, errors_of, registry


class SchemaErrorTests(SynchronousTestCase):
    """Problems found by checking single options."""

    def test_unknown_option(self):
        """A misspelt option is refused with the allowed spellings."""
        (error,) = errors_of(MINIMAL + "  log_level = 'info'\n")
        self.assertTrue(error.startswith("general.log_level: unknown option; allowed here: "))
        self.assertIn("loglevel", error)

    def test_unknown_top_level_table(self):
        """A table MongooseIM does not have is refused."""
        (error,) = errors_of(MINIMAL + "[modulez.mod_roster]\n")
        self.assertTrue(error.startswith("modulez: unknown option; allowed here: access, acl"))

    def test_wrong_type(self):
        """A string where an integer belongs names the value."""
        errors = errors_of(MINIMAL + '[[listen.c2s]]\n  port = "5222"\n')
        self.assertEqual(errors, ['listen.c2s[0].port: "5222" is not an integer'])

    def test_out_of_range(self):
        """A port beyond 65535 is refused with the range."""
        errors = errors_of(MINIMAL + "[[listen.c2s]]\n  port = 70000\n")
        self.assertEqual(errors, ["listen.c2s[0].port: 70000 is not an integer from 1 to 65535"])

    def test_enum(self):
        """A value outside an enumeration lists the allowed ones (the documented format)."""
        text = MINIMAL + (
            '[[listen.c2s]]\n  port = 5222\n[[listen.c2s]]\n  port = 5223\n  tls.mode = "startls"\n'
        )
        self.assertEqual(
            errors_of(text),
            [
                'listen.c2s[1].tls.mode: "startls" is not one of '
                '"tls", "starttls", "starttls_required"'
            ],
        )

    def test_missing_required(self):
        """A listener without a port (the documented format)."""
        text = MINIMAL + '[[listen.http]]\n  ip_address = "127.0.0.1"\n'
        self.assertEqual(errors_of(text), ["listen.http[0].port: required option is missing"])

    def test_missing_default_server_domain(self):
        """A file without [general] still says which option is missing."""
        self.assertEqual(
            errors_of("[auth.internal]\n"),
            ["general.default_server_domain: required option is missing"],
        )

    def test_no_hosts(self):
        """hosts and host_types may not both be empty."""
        errors = errors_of('[general]\n  default_server_domain = "localhost"\n')
        self.assertEqual(
            errors,
            ["general.hosts: give at least one domain here or one host type in general.host_types"],
        )

    def test_udp_is_refused(self):
        """proto = "udp" is refused with a clear reason."""
        errors = errors_of(MINIMAL + '[[listen.c2s]]\n  port = 5222\n  proto = "udp"\n')
        self.assertEqual(
            errors, ['listen.c2s[0].proto: "udp" is not supported: listeners use "tcp" only']
        )

    def test_all_errors_are_collected(self):
        """Several problems in one file are all reported, in file order."""
        text = (
            '[general]\n  hosts = ["localhost"]\n  default_server_domain = "localhost"\n'
            '  loglevel = "loud"\n'
            "[[listen.c2s]]\n  port = 0\n"
            "[modules.mod_rooster]\n"
            "[shaper.fast]\n"
        )
        self.assertEqual(
            errors_of(text),
            [
                'general.loglevel: "loud" is not one of "none", "emergency", "alert", '
                '"critical", "error", "warning", "notice", "info", "debug", "all"',
                "listen.c2s[0].port: 0 is not an integer from 1 to 65535",
                "modules.mod_rooster: unknown module",
                "shaper.fast.max_rate: required option is missing",
            ],
        )


class ExtensionErrorTests(SynchronousTestCase):
    """Problems with module and service names."""

    def test_unknown_module(self):
        """A module name nobody knows (the documented format)."""
        self.assertEqual(
            errors_of(MINIMAL + "[modules.mod_rooster]\n"), ["modules.mod_rooster: unknown module"]
        )

    def test_module_not_available(self):
        """A MongooseIM module this version lacks is named as such."""
        self.assertEqual(
            errors_of(MINIMAL + "[modules.mod_mam]\n"),
            ["modules.mod_mam: not available in this version"],
        )

    def test_unknown_and_unavailable_services(self):
        """Services get the same two messages."""
        text = MINIMAL + "[services.service_admin_extra]\n[services.service_x]\n"
        self.assertEqual(
            errors_of(text),
            [
                "services.service_admin_extra: not available in this version",
                "services.service_x: unknown service",
            ],
        )

    def test_broken_module(self):
        """A module whose code cannot be imported is reported with the reason."""
        extensions = registry(modules={"mod_broken": "mongoose_no_such_package.mod:Broken"})
        (error,) = errors_of(MINIMAL + "[modules.mod_broken]\n", extensions)
        self.assertEqual(
            error,
            "modules.mod_broken: cannot be loaded: ModuleNotFoundError: "
            "No module named 'mongoose_no_such_package'",
        )

    def test_module_options_are_checked_by_the_module(self):
        """A module's own schema checks its table."""
        errors = errors_of(MINIMAL + "[modules.mod_roster]\n  versioning = 1\n")
        self.assertEqual(errors, ["modules.mod_roster.versioning: 1 is not true or false"])

    def test_module_options_are_parsed(self):
        """A known module's options get their defaults."""
        config = parse_config(MINIMAL + "[modules.mod_roster]\n", registry())
        self.assertEqual(
            config.options.modules.mod_roster, {"versioning": False, "backend": "rdbms"}
        )


class CrossCheckTests(SynchronousTestCase):
    """Problems that need more than one table to see."""

    def test_undefined_shaper(self):
        """A listener's shaper must exist (the documented format)."""
        errors = errors_of(MINIMAL + '[[listen.c2s]]\n  port = 5222\n  shaper = "fast"\n')
        self.assertEqual(
            errors, ['listen.c2s[0].shaper: "fast" is not a shaper defined in [shaper]']
        )

    def test_defined_and_builtin_shapers(self):
        """Defined shapers, "none" and (MongooseIM 6.0 style) access rules pass."""
        text = MINIMAL + (
            "[shaper.fast]\n  max_rate = 1000\n"
            '[access]\n  c2s_shaper = [{acl = "all", value = "fast"}]\n'
            '[[listen.c2s]]\n  port = 5222\n  shaper = "c2s_shaper"\n'
            '[[listen.s2s]]\n  port = 5269\n  shaper = "fast"\n'
            '[[listen.service]]\n  port = 8888\n  password = "x"\n'
        )
        config = parse_config(text, registry())
        self.assertEqual(config.listeners("service")[0].shaper, "none")

    def test_undefined_s2s_shaper(self):
        """s2s.outgoing.shaper must exist too."""
        errors = errors_of(MINIMAL + '[s2s]\n  outgoing.shaper = "slow"\n')
        self.assertEqual(
            errors, ['s2s.outgoing.shaper: "slow" is not a shaper defined in [shaper]']
        )

    def test_undefined_access_rule(self):
        """A listener's access rule must exist; "all" is built in."""
        text = MINIMAL + (
            '[[listen.c2s]]\n  port = 5222\n  access = "c2s"\n'
            '[[listen.service]]\n  port = 8888\n  password = "x"\n  access = "all"\n'
        )
        self.assertEqual(
            errors_of(text),
            ['listen.c2s[0].access: "c2s" is not an access rule defined in [access]'],
        )

    def test_host_config_host_must_be_served(self):
        """A host_config entry for an unknown domain is an error."""
        text = MINIMAL + '[[host_config]]\n  host = "example.com"\n'
        self.assertEqual(
            errors_of(text),
            ['host_config[0].host: "example.com" is not in general.hosts or general.host_types'],
        )

    def test_host_config_host_type_must_be_declared(self):
        """host_type must be listed in general.host_types."""
        text = MINIMAL + '[[host_config]]\n  host_type = "basic"\n'
        self.assertEqual(
            errors_of(text), ['host_config[0].host_type: "basic" is not in general.host_types']
        )

    def test_host_config_twice(self):
        """Two entries for one host are an error."""
        text = (
            MINIMAL
            + '[[host_config]]\n  host = "localhost"\n[[host_config]]\n  host = "localhost"\n'
        )
        self.assertEqual(
            errors_of(text), ['host_config[1].host: "localhost" is also set up by host_config[0]']
        )

    def test_host_config_needs_a_target(self):
        """An entry without host or host_type is an error."""
        text = MINIMAL + "[[host_config]]\n  [host_config.general]\n    replaced_wait_timeout = 1\n"
        self.assertEqual(
            errors_of(text), ["host_config[0].host: required option is missing (or give host_type)"]
        )

    def test_redis_sessions_need_a_pool(self):
        """sm_backend = "redis" needs outgoing_pools.redis.default."""
        text = MINIMAL.replace("[general]", '[general]\n  sm_backend = "redis"')
        self.assertEqual(
            errors_of(text),
            ['general.sm_backend: "redis" needs a pool at outgoing_pools.redis.default'],
        )
        parse_config(text + "[outgoing_pools.redis.default]\n", registry())

    def test_listener_auth_methods_must_be_enabled(self):
        """allowed_auth_methods may only name enabled methods."""
        text = MINIMAL + (
            "[auth.internal]\n"
            '[[listen.c2s]]\n  port = 5222\n  allowed_auth_methods = ["internal", "pki"]\n'
        )
        self.assertEqual(
            errors_of(text),
            ['listen.c2s[0].allowed_auth_methods[1]: "pki" is not enabled in [auth]'],
        )

    def test_duplicate_listener(self):
        """Two listeners on one port and address are an error."""
        text = MINIMAL + "[[listen.c2s]]\n  port = 5222\n[[listen.http]]\n  port = 5222\n"
        self.assertEqual(
            errors_of(text),
            ["listen.http[0].port: 5222 on 0.0.0.0 is already used by listen.c2s[0]"],
        )


class SyntaxErrorTests(SynchronousTestCase):
    """Files that are not TOML."""

    def test_line_and_column(self):
        """A TOML syntax error names the file, line and column."""
        exc = self.assertRaises(
            ConfigErrors, parse_config, "[general]\n  loglevel = \n", registry(), "etc/x.toml"
        )
        self.assertEqual(
            str(exc), "etc/x.toml: TOML syntax error at line 2, column 14: Invalid value"
        )

    def test_duplicate_key(self):
        """A key given twice is a syntax error too."""
        exc = self.assertRaises(ConfigErrors, parse_config, "a = 1\na = 2\n", registry(), "x.toml")
        self.assertEqual(
            str(exc), "x.toml: TOML syntax error at line 2, column 6: Cannot overwrite a value"
        )

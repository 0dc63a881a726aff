"""The plugin started as a real process: ``twistd -n mongooseim -c FILE``.

Covers the acceptance path of the foundation: start on the shipped kind of
config, create a user over the admin REST API (201, then 409, bad JSON 400),
list it with ``mongooseimctl``, stop cleanly on SIGTERM; and start-up
failures that must exit non-zero with one clear line and no traceback.
"""

import os
import signal
import subprocess

from twisted.trial.unittest import SynchronousTestCase

from test.support.processes import (
    ServerProcess,
    bin_path,
    free_port,
    http_json,
    write_config,
)

CONFIG = """
[general]
  loglevel = "info"
  hosts = ["localhost", "example.net"]
  default_server_domain = "localhost"
  data_dir = "data"

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {port}
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"

[auth.internal]
"""


class RunningServerTests(SynchronousTestCase):
    """A real server process on an ephemeral loopback port."""

    def setUp(self):
        self.workdir = os.path.abspath(self.mktemp())
        os.makedirs(self.workdir)
        self.port = free_port()
        self.config = write_config(self.workdir, CONFIG.format(port=self.port))
        self.server = ServerProcess(self.config, self.workdir)
        self.addCleanup(self.server.kill)
        self.startup_seconds = self.server.wait_for_port(self.port)

    def assertStoppedCleanly(self, status):
        """twistd re-raises SIGTERM after a clean shutdown, so -15 (or 0) is success."""
        self.assertIn(status, (0, -signal.SIGTERM), self.server.output())
        self.assertIn("mongooseim stopped", self.server.output())

    def ctl(self, *args):
        """Run mongooseimctl against the server; return (status, stdout, stderr)."""
        done = subprocess.run(
            [bin_path("mongooseimctl"), "-c", self.config, *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.workdir,
        )
        return done.returncode, done.stdout, done.stderr

    def test_users_rest_ctl_and_sigterm(self):
        """POST creates alice (201), again 409, bad JSON 400; ctl lists her; SIGTERM exits 0."""
        url = f"http://127.0.0.1:{self.port}/api/users/localhost"
        status, _ = http_json("POST", url, {"username": "alice", "password": "pw"})
        self.assertEqual(status, 201)
        status, body = http_json("POST", url, {"username": "alice", "password": "pw"})
        self.assertEqual(status, 409)
        status, body = http_json("POST", url, b'{"username": "bob", ')
        self.assertEqual(status, 400)
        self.assertIsInstance(body, dict)
        self.assertTrue(any("json" in str(v).lower() for v in body.values()), body)
        status, body = http_json("GET", url)
        self.assertEqual((status, body), (200, ["alice@localhost"]))

        code, out, err = self.ctl("account", "listUsers", "--domain", "localhost")
        self.assertEqual(code, 0, err)
        self.assertIn("alice@localhost", out)
        code, out, err = self.ctl("account", "countUsers", "--domain", "example.net")
        self.assertEqual((code, out.strip()), (0, "0"), err)

        self.assertStoppedCleanly(self.server.terminate())
        output = self.server.output()
        self.assertIn("mongooseim stopped", output)
        self.assertNotIn("Traceback", output)
        self.assertTrue(os.path.exists(os.path.join(self.workdir, "data", "mongooseim.db")))

    def test_users_survive_restart(self):
        """Users are stored in the data directory and are there after a restart."""
        url = f"http://127.0.0.1:{self.port}/api/users/example.net"
        self.assertEqual(http_json("POST", url, {"username": "carol", "password": "x"})[0], 201)
        self.assertStoppedCleanly(self.server.terminate())
        self.server = ServerProcess(self.config, self.workdir)
        self.addCleanup(self.server.kill)
        self.server.wait_for_port(self.port)
        self.assertEqual(http_json("GET", url), (200, ["carol@example.net"]))

    def test_startup_time(self):
        """The node accepts connections quickly after the process starts (target < 2 s)."""
        # Generous bound: this guards against a regression to many seconds on a loaded
        # CI machine; the 2 s figure is measured and reported in the issue note.
        self.assertLess(self.startup_seconds, 10.0)


class StartupFailureTests(SynchronousTestCase):
    """Problems found at start-up exit non-zero with one clear line each."""

    def run_twistd(self, text, *extra):
        """Run twistd on a config text; return (status, combined output)."""
        workdir = os.path.abspath(self.mktemp())
        os.makedirs(workdir)
        path = write_config(workdir, text)
        done = subprocess.run(
            [bin_path("twistd"), "--pidfile=", "-n", "mongooseim", "-c", path, *extra],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=workdir,
        )
        return done.returncode, done.stdout + done.stderr

    def test_config_errors(self):
        """Each config problem is one line with its path; exit status 1; no traceback."""
        status, output = self.run_twistd(
            """
            [general]
              hosts = ["localhost"]
              default_server_domain = "localhost"
            [[listen.http]]
              ip_address = "127.0.0.1"
            [modules.mod_rooster]
            """
        )
        self.assertEqual(status, 1)
        self.assertIn("listen.http[0].port: required option is missing", output)
        self.assertIn("modules.mod_rooster: unknown module", output)
        self.assertNotIn("Traceback", output)

    def test_toml_syntax_error(self):
        """A TOML syntax error names the line and column."""
        status, output = self.run_twistd('[general]\nhosts = ["localhost"\n')
        self.assertEqual(status, 1)
        self.assertIn("line", output)
        self.assertIn("column", output)
        self.assertNotIn("Traceback", output)

    def test_port_in_use(self):
        """A port that cannot be bound stops the node with exit status 1 and the reason."""
        import socket

        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            status, output = self.run_twistd(CONFIG.format(port=port))
        self.assertEqual(status, 1)
        self.assertIn("listen.http[0]: cannot listen", output)
        self.assertNotIn("Traceback", output)

    def test_unreadable_certificate(self):
        """A TLS certificate that cannot be read stops start-up with one line, no traceback."""
        status, output = self.run_twistd(
            CONFIG.format(port=free_port()).replace(
                "  [[listen.http.handlers",
                '  tls.certfile = "/nonexistent/cert.pem"\n  tls.keyfile = "/nonexistent/key.pem"\n'
                "  [[listen.http.handlers",
                1,
            )
        )
        self.assertEqual(status, 1, output)
        self.assertIn("/nonexistent/cert.pem", output)
        self.assertNotIn("Traceback", output)

    def test_check_config(self):
        """--check-config validates and exits 0 without starting anything."""
        status, output = self.run_twistd(CONFIG.format(port=free_port()), "--check-config")
        self.assertEqual(status, 0, output)
        self.assertIn("configuration is valid", output)

    def test_help_documents_config(self):
        """twistd mongooseim --help documents -c/--config."""
        done = subprocess.run(
            [bin_path("twistd"), "mongooseim", "--help"], capture_output=True, text=True, timeout=60
        )
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("--config", done.stdout)
        self.assertIn("-c", done.stdout)

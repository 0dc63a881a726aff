"""schemathesis fuzzes the served OpenAPI document of a running server (issue 5).

A real ``twistd mongooseim`` process serves the admin REST API; the
``schemathesis`` command line tool (PyPI, ``test`` extra) reads
``/api/openapi.json`` from it and sends a bounded number of generated
requests per operation.  The check is MongooseIM's acceptance rule for the
generated API: no request may end in a server error (5xx).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from test.support.processes import ServerProcess, bin_path, free_port, http_json, write_config

CONFIG = """
[general]
  loglevel = "warning"
  hosts = ["localhost", "example.net"]
  default_server_domain = "localhost"
  data_dir = "data"

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {port}
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"
    username = "admin"
    password = "secret"

[auth.internal]

[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
"""

#: Generated examples per operation and phase: bounded so ``make test`` stays quick.
MAX_EXAMPLES = 25
#: A fixed seed keeps ``make test`` reproducible; set MONGOOSE_SCHEMATHESIS_SEED to explore.
SEED = os.environ.get("MONGOOSE_SCHEMATHESIS_SEED", "20261122")


def _schemathesis() -> str:
    path = bin_path("schemathesis")
    if os.path.exists(path):
        return path
    found = shutil.which("schemathesis")
    if found is None:
        raise SkipTest("schemathesis is not installed (pip install -e '.[test]')")
    return found


class SchemathesisTests(SynchronousTestCase):
    """The admin REST API under generated requests."""

    def setUp(self):
        self.tool = _schemathesis()
        self.workdir = os.path.abspath(self.mktemp())
        os.makedirs(self.workdir)
        self.port = free_port()
        config = write_config(self.workdir, CONFIG.format(port=self.port))
        self.server = ServerProcess(config, self.workdir)
        self.addCleanup(self.server.kill)
        self.server.wait_for_port(self.port)
        self.base = f"http://127.0.0.1:{self.port}/api"

    def test_served_document_is_openapi(self):
        """The document names the users, sessions and contacts routes of the running node."""
        status, document = http_json("GET", self.base + "/openapi.json",
                                     headers={"Authorization": "Basic YWRtaW46c2VjcmV0"})
        self.assertEqual(status, 200)
        self.assertTrue(document["openapi"].startswith("3."))
        for path in ("/users/{XMPPHost}", "/sessions/{XMPPHost}", "/contacts/{user}",
                     "/messages"):
            self.assertIn(path, document["paths"])

    def test_no_server_errors(self):
        """schemathesis finds no 5xx response on any operation of the served document."""
        done = subprocess.run(
            [self.tool, "run", self.base + "/openapi.json", "--auth", "admin:secret",
             "--checks", "not_a_server_error", "--max-examples", str(MAX_EXAMPLES),
             "--phases", "examples,coverage,fuzzing", "--workers", "1",
             "--request-timeout", "10", "--seed", SEED, "--no-color"],
            cwd=self.workdir, capture_output=True, text=True, timeout=600,
        )
        report = done.stdout[-4000:] + done.stderr[-2000:]
        self.assertEqual(done.returncode, 0, report + "\n" + self.server.output()[-4000:])
        self.assertIn("passed", done.stdout)
        self.assertNotIn("Traceback", self.server.output())

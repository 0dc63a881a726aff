"""Real third-party clients against ``twistd -n mongooseim``: slixmpp and go-sendxmpp.

Each test starts the server as a real process with a c2s listener that
requires STARTTLS (a certificate made by the test) and creates users over
the admin REST API, then runs client scripts from ``test/integration/clients``
in subprocesses and reads the JSON events they print.

The roster and offline scenarios need ``mod_roster``, ``mod_presence`` and
``mod_offline``; they are skipped (with the reason) while those modules are
not available.  go-sendxmpp is a Debian package: when it is missing the test
tries ``apt-get install -y go-sendxmpp`` and otherwise skips, except with
``CI=true``, where a missing tool is a failure.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from mongoose.extensions import ExtensionRegistry
from mongoose.xmpp.tls import generate_certificates
from test.support.debian import require_debian_package
from test.support.processes import REPO, ServerProcess, free_port, http_json, write_config

CONFIG = """
[general]
  loglevel = "warning"
  hosts = ["localhost"]
  default_server_domain = "localhost"
  data_dir = "data"

[[listen.http]]
  ip_address = "127.0.0.1"
  port = {http}
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"

[[listen.c2s]]
  ip_address = "127.0.0.1"
  port = {c2s}
  [listen.c2s.tls]
    mode = "starttls_required"
    certfile = "{cert}"
    keyfile = "{key}"
    verify_mode = "none"

[auth.internal]
{modules}
"""

IM_MODULES = ("mod_roster", "mod_presence", "mod_offline")
PASSWORD = "s3cret-pw"


def missing_modules() -> list[str]:
    """The IM modules this version does not have yet."""
    registry = ExtensionRegistry()
    missing = []
    for name in IM_MODULES:
        try:
            if registry.module(name) is None:
                missing.append(name)
        except LookupError:
            missing.append(name)
    return missing


class ClientProcess:
    """A client script running in a subprocess, read line by line."""

    def __init__(self, script: str, *args: str):
        env = dict(os.environ, PYTHONPATH=REPO)
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"test.integration.clients.{script}", *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.events: list[dict] = []

    def event(self, name: str, timeout: float = 30.0) -> dict:
        """Wait for the event called ``name``; fail on an error event or exit."""
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([stdout], [], [], 0.1)
            if not ready:
                if self.process.poll() is not None:
                    break
                continue
            line = stdout.readline()
            if not line:
                break
            event = json.loads(line)
            self.events.append(event)
            if event["event"] == "error":
                raise AssertionError(f"client error: {event['message']}\n{self.stderr()}")
            if event["event"] == name:
                return event
        raise AssertionError(f"no {name!r} event; got {self.events}\n{self.stderr()}")

    def stderr(self) -> str:
        """What the client wrote on stderr (after it exited or was killed)."""
        if self.process.poll() is None:
            return ""
        return self.process.stderr.read().decode("utf-8", "replace")[-3000:]

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the exit status."""
        return self.process.wait(timeout)

    def kill(self) -> None:
        """Make sure it is gone (clean-up)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process.stdout.close()
        self.process.stderr.close()


class SlixmppTestCase(SynchronousTestCase):
    """A server process with STARTTLS required, users alice and bob."""

    modules = ""

    def setUp(self):
        """Start the server and create the users."""
        self.workdir = os.path.abspath(self.mktemp())
        os.makedirs(self.workdir)
        self.certs = generate_certificates(self.workdir, "localhost")
        self.http = free_port()
        self.c2s = free_port()
        text = CONFIG.format(
            http=self.http,
            c2s=self.c2s,
            cert=self.certs.cert,
            key=self.certs.key,
            modules=self.modules,
        )
        self.server = ServerProcess(write_config(self.workdir, text), self.workdir)
        self.addCleanup(self.server.kill)
        self.server.wait_for_port(self.c2s)
        for user in ("alice", "bob"):
            status, body = http_json(
                "POST",
                f"http://127.0.0.1:{self.http}/api/users/localhost",
                {"username": user, "password": PASSWORD},
            )
            self.assertEqual(status, 201, body)

    def client(self, script: str, *args: str) -> ClientProcess:
        """Start a client script against the server."""
        process = ClientProcess(
            script, *args, "--port", str(self.c2s), "--ca", str(self.certs.ca_cert)
        )
        self.addCleanup(process.kill)
        return process

    def assertServerClean(self):
        """The server logged no traceback."""
        self.assertNotIn("Traceback", self.server.output())


class SlixmppLoginTests(SlixmppTestCase):
    """Login and a message exchange (no IM modules needed)."""

    def test_scram_sha256_over_starttls(self):
        """slixmpp logs in with SCRAM-SHA-256 after STARTTLS and gets a bound JID."""
        login = self.client("login", "--jid", "alice@localhost", "--password", PASSWORD)
        event = login.event("session_start")
        self.assertEqual(event["mechanism"], "SCRAM-SHA-256")
        self.assertIn(event["tls"], ("TLSv1.2", "TLSv1.3"))
        self.assertTrue(event["jid"].startswith("alice@localhost/"))
        self.assertEqual(login.wait(), 0, login.stderr())
        self.assertServerClean()

    def test_wrong_password(self):
        """A wrong password fails the login (and the client says so)."""
        login = self.client(
            "login", "--jid", "alice@localhost", "--password", "nope", "--timeout", "5"
        )
        self.assertRaises(AssertionError, login.event, "session_start")
        self.assertIn("failed_auth", [e["event"] for e in login.events])

    def test_message_exchange(self):
        """A message from alice reaches bob's slixmpp client."""
        bob = self.client("chat", "receive", "--jid", "bob@localhost", "--password", PASSWORD)
        bob.event("ready")
        alice = self.client(
            "chat",
            "send",
            "--jid",
            "alice@localhost",
            "--password",
            PASSWORD,
            "--to",
            "bob@localhost",
            "--body",
            "hello bob",
        )
        alice.event("sent")
        message = bob.event("message")
        self.assertEqual(message["body"], "hello bob")
        self.assertTrue(message["sender"].startswith("alice@localhost/"))
        self.assertEqual(bob.wait(), 0, bob.stderr())
        self.assertEqual(alice.wait(), 0, alice.stderr())
        self.assertServerClean()


class SlixmppIMTests(SlixmppTestCase):
    """Roster subscription and offline delivery (need the IM modules)."""

    modules = "\n".join(f"[modules.{name}]" for name in IM_MODULES)

    def setUp(self):
        """Skip while the IM modules are missing, else start the server."""
        missing = missing_modules()
        if missing:
            raise SkipTest(f"needs {', '.join(missing)} (not available in this version yet)")
        super().setUp()

    def test_subscription_handshake(self):
        """alice and bob add each other; both roster items end in 'both'."""
        both = self.client(
            "subscribe",
            "--alice",
            "alice@localhost",
            "--bob",
            "bob@localhost",
            "--password",
            PASSWORD,
        )
        rosters = both.event("rosters", timeout=60)
        self.assertEqual((rosters["alice"], rosters["bob"]), ("both", "both"))
        self.assertEqual(rosters["alice_name"], "Bob")
        self.assertEqual(both.wait(), 0, both.stderr())
        self.assertServerClean()

    def test_offline_message(self):
        """A message to offline bob is delivered, with a delay stamp, when he logs in."""
        alice = self.client(
            "chat",
            "send",
            "--jid",
            "alice@localhost",
            "--password",
            PASSWORD,
            "--to",
            "bob@localhost",
            "--body",
            "while you were out",
        )
        alice.event("sent")
        self.assertEqual(alice.wait(), 0, alice.stderr())
        bob = self.client("chat", "receive", "--jid", "bob@localhost", "--password", PASSWORD)
        message = bob.event("message")
        self.assertEqual(message["body"], "while you were out")
        self.assertTrue(message["delay"])
        self.assertServerClean()


class GoSendxmppTests(SlixmppTestCase):
    """go-sendxmpp (another client library, in Go) sends a message slixmpp receives."""

    def test_go_sendxmpp_message(self):
        """go-sendxmpp's message over STARTTLS reaches bob's slixmpp client."""
        tool = require_debian_package("go-sendxmpp", "go-sendxmpp")
        bob = self.client("chat", "receive", "--jid", "bob@localhost", "--password", PASSWORD)
        bob.event("ready")
        done = subprocess.run(
            [
                tool,
                "-u",
                "alice@localhost",
                "-p",
                PASSWORD,
                "-j",
                f"127.0.0.1:{self.c2s}",
                "-n",
                "bob@localhost",
            ],
            input=b"hello from go",
            capture_output=True,
            timeout=60,
            check=False,
        )
        self.assertEqual(done.returncode, 0, (done.stdout + done.stderr).decode("utf-8", "replace"))
        message = bob.event("message")
        self.assertEqual(message["body"], "hello from go")
        self.assertTrue(message["sender"].startswith("alice@localhost"))
        self.assertServerClean()

"""slixmpp (a real client) against ``twistd -n mongooseim``: XEP-0077 and XEP-0198.

The client scripts are :mod:`test.c2s.slixmpp_account` (in-band
registration) and :mod:`test.c2s.slixmpp_resume` (stream management); the
server set-up is the one of :mod:`test.integration.test_slixmpp_c2s`
(STARTTLS required).
"""

from __future__ import annotations

import os
import subprocess
import sys

from test.integration.test_slixmpp_c2s import PASSWORD, ClientProcess, SlixmppTestCase
from test.support.processes import REPO, http_json


class _Script(ClientProcess):
    """One of this folder's client scripts in a subprocess (stdin is a pipe)."""

    def __init__(self, module: str, *args: str):
        env = dict(os.environ, PYTHONPATH=REPO)
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"test.c2s.{module}", *args],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.events: list[dict] = []

    def kill(self) -> None:
        """Make sure it is gone (clean-up)."""
        super().kill()
        self.process.stdin.close()


class SlixmppRegisterTests(SlixmppTestCase):
    """Create, log in, change password, cancel."""

    modules = "[modules.mod_register]\n"

    def test_account_lifecycle(self):
        """slixmpp registers carol, logs in, changes the password, logs in again and cancels."""
        script = _Script(
            "slixmpp_account", "--port", str(self.c2s), "--ca", str(self.certs.ca_cert),
            "--jid", "carol@localhost", "--password", "first-pw",
            "--new-password", "second-pw",
        )
        self.addCleanup(script.kill)
        script.event("registered")
        self.assertTrue(script.event("logged_in")["jid"].startswith("carol@localhost/"))
        script.event("password_changed")
        script.event("logged_in_again")
        script.event("cancelled")
        script.event("disconnected")
        self.assertEqual(script.wait(), 0, script.stderr())
        status, body = http_json(
            "GET", f"http://127.0.0.1:{self.http}/api/users/localhost"
        )
        self.assertEqual(status, 200, body)
        self.assertIn("alice", str(body))
        self.assertNotIn("carol", str(body))
        self.assertNotIn("Traceback", self.server.output())


class SlixmppResumeTests(SlixmppTestCase):
    """A killed connection resumed by slixmpp."""

    modules = """
[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
[modules.mod_stream_management]
"""

    def test_resume_after_killed_connection(self):
        """slixmpp resumes and gets the message sent while it was away exactly once."""
        alice = _Script(
            "slixmpp_resume", "--port", str(self.c2s), "--ca", str(self.certs.ca_cert),
            "--jid", "alice@localhost", "--password", PASSWORD,
        )
        self.addCleanup(alice.kill)
        alice.event("ready")
        self.send_from_bob("first")
        alice.event("message")
        alice.event("aborted")
        self.send_from_bob("while away")
        alice.process.stdin.write(b"go\n")
        alice.process.stdin.flush()
        alice.event("resumed")
        done = alice.event("done")
        self.assertEqual(done["bodies"], ["first", "while away"])
        self.assertEqual(alice.wait(), 0, alice.stderr())
        self.assertNotIn("Traceback", self.server.output())

    def send_from_bob(self, body: str) -> None:
        """bob sends alice a message with the integration chat script."""
        bob = self.client(
            "chat", "send", "--jid", "bob@localhost", "--password", PASSWORD,
            "--to", "alice@localhost", "--body", body,
        )
        bob.event("sent")
        self.assertEqual(bob.wait(), 0, bob.stderr())

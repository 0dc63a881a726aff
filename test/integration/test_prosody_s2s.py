"""Federation with a real Prosody (the Debian package) as the peer server.

Each test starts a private Prosody for ``prosody.example`` (its own config,
data and ports in a temporary directory owned by the ``prosody`` user) and
``twistd -n mongooseim`` for ``mongoose.example``, then runs slixmpp clients
on both servers and checks that messages cross in both directions.

Name resolution without touching the system: our server reaches Prosody
through an ``s2s.outgoing.address`` override.  Prosody finds our server by
DNS: with ``lua-unbound`` installed it resolves through libunbound, and its
``unbound = { forward = "127.0.0.1@PORT" }`` setting sends every question
to a small DNS server run by the test (:mod:`test.support.dns`), which
answers the SRV record ``_xmpp-server._tcp.mongoose.example`` with our s2s
listener's ephemeral port.

``prosody`` and ``lua-unbound`` are installed with apt-get when missing; a
Prosody service started by the package is stopped again.  Without them the
tests are skipped (with the reason printed), except under ``CI=true``, where
they fail.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from twisted.trial.unittest import SynchronousTestCase

from mongoose.xmpp.tls import generate_certificates
from test.integration.test_slixmpp_c2s import ClientProcess
from test.s2s.certs import s2s_certificates
from test.support.debian import require_debian_package
from test.support.dns import StaticDNSServer
from test.support.processes import ServerProcess, free_port, http_json, write_config

OUR_DOMAIN = "mongoose.example"
PROSODY_DOMAIN = "prosody.example"
PASSWORD = "s3cret-pw"

#: The Lua module of lua-unbound (any architecture, Lua 5.4 as used by Prosody 0.12).
LUNBOUND = "/usr/lib/*/lua/5.*/lunbound.so"

OUR_CONFIG = """
[general]
  loglevel = "info"
  hosts = ["{domain}"]
  default_server_domain = "{domain}"
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

[[listen.s2s]]
  ip_address = "127.0.0.1"
  port = {s2s}
{s2s_listener}

[auth.internal]
[modules.mod_presence]
[modules.mod_roster]

[s2s]
  shared = "mongoose-dialback-secret"
{s2s_options}
  [[s2s.outgoing.address]]
    host = "{peer}"
    ip_address = "127.0.0.1"
    port = {peer_port}
"""

PROSODY_CONFIG = """
data_path = "{dir}/data"
certificates = "{dir}/certs"
log = {{ {{ levels = {{ min = "debug" }}, to = "file", filename = "{dir}/prosody.log" }} }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
s2s_ports = {{ {s2s} }}
c2s_direct_tls_ports = {{ }}
s2s_direct_tls_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
modules_enabled = {{ "roster", "saslauth", "tls", "dialback", "disco", "ping" }}
modules_disabled = {{ "posix" }}
authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = true
s2s_require_encryption = {s2s_require_encryption}
s2s_secure_auth = {s2s_secure_auth}
unbound = {{ forward = "127.0.0.1@{dns}", resolvconf = false, hoststxt = false }}

VirtualHost "{domain}"
  ssl = {{ certificate = "{cert}", key = "{key}"{cafile} }}
"""


def _wait_for_port(port: int, process: subprocess.Popen, log: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"prosody exited early ({process.returncode}):\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"prosody did not open port {port}:\n{_tail(log)}")


def _tail(path: str, size: int = 6000) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-size:]
    except OSError:
        return "(no log)"


def _system_prosody_pids() -> list[int]:
    """Prosody processes running with the system configuration (a package-started service)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"/prosody") for part in argv) and b"--config" not in argv:
            pids.append(int(entry))
    return pids


def _stop_system_prosody() -> None:
    """Stop a Prosody the package installation may have started (system config)."""
    if not _system_prosody_pids():
        return
    ctl = shutil.which("prosodyctl")
    if ctl:
        subprocess.run([ctl, "stop"], capture_output=True, timeout=30, check=False)
    for pid in _system_prosody_pids():
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def require_prosody() -> str:
    """Path of the prosody program, installing ``prosody`` and ``lua-unbound`` when missing."""
    had_prosody = shutil.which("prosody") is not None
    binary = require_debian_package("prosody", "prosody")
    require_debian_package("lua-unbound", LUNBOUND)
    if not had_prosody:
        _stop_system_prosody()
    return binary


class ProsodyProcess:
    """A private Prosody run as the ``prosody`` user from a temporary directory.

    Args:
        domain: the VirtualHost it serves.
        dns_port: UDP port of the DNS server it must use.
        s2s_require_encryption: Prosody's option of that name.
        secure_auth: one CA signs both servers' certificates and Prosody
            trusts it, with ``s2s_secure_auth = true`` (certificates instead
            of dialback; ``s2s_certs`` then holds ours too).

    Attributes:
        client_ca: the CA file clients use to check Prosody's certificate.
    """

    def __init__(self, domain: str, dns_port: int, s2s_require_encryption: bool = False,
                 secure_auth: bool = False):
        self.domain = domain
        self.dir = tempfile.mkdtemp(prefix="mongoose-prosody-")
        cafile = ""
        if secure_auth:
            self.s2s_certs = s2s_certificates(self.dir, [domain, OUR_DOMAIN])
            own = self.s2s_certs.domains[domain]
            cert, key, self.client_ca = own.cert, own.key, self.s2s_certs.ca_cert
            cafile = f', cafile = "{self.client_ca}"'
        else:
            generated = generate_certificates(self.dir, domain)
            cert, key, self.client_ca = generated.cert, generated.key, generated.ca_cert
        os.makedirs(os.path.join(self.dir, "data"))
        os.makedirs(os.path.join(self.dir, "certs"))
        self.c2s, self.s2s = free_port(), free_port()
        self.config = os.path.join(self.dir, "prosody.cfg.lua")
        self.log = os.path.join(self.dir, "prosody.log")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(
                PROSODY_CONFIG.format(
                    dir=self.dir, c2s=self.c2s, s2s=self.s2s, dns=dns_port, domain=domain,
                    s2s_require_encryption="true" if s2s_require_encryption else "false",
                    s2s_secure_auth="true" if secure_auth else "false",
                    cert=cert, key=key, cafile=cafile,
                )
            )
        account = pwd.getpwnam("prosody")
        for root, dirs, files in os.walk(self.dir):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.chown(name, account.pw_uid, account.pw_gid)
        self.process: subprocess.Popen | None = None
        self._output = open(os.path.join(self.dir, "stdout.log"), "wb")

    def _as_prosody(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "prosody", "--", *argv]

    def start(self) -> None:
        """Start Prosody in the foreground (its own process group) and wait for c2s."""
        self.process = subprocess.Popen(
            self._as_prosody("prosody", "-F", "--config", self.config),
            cwd=self.dir,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for_port(self.c2s, self.process, self.log)
        _wait_for_port(self.s2s, self.process, self.log)

    def register(self, user: str, password: str) -> None:
        """Create an account with prosodyctl."""
        done = subprocess.run(
            self._as_prosody("prosodyctl", "--config", self.config, "register", user,
                             self.domain, password),
            capture_output=True, timeout=60, check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"prosodyctl register failed: {done.stdout!r} {done.stderr!r}")

    def output(self) -> str:
        """Prosody's debug log."""
        return _tail(self.log, 200000)

    def stop(self, keep_log: str | None = None) -> None:
        """End the process group started by :meth:`start`; remove the directory.

        Args:
            keep_log: copy Prosody's log to this path first.
        """
        process = self.process
        if process is not None:
            _end_group(process)
        self._output.close()
        if keep_log and os.path.exists(self.log):
            shutil.copyfile(self.log, keep_log)
        shutil.rmtree(self.dir, ignore_errors=True)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp ...; zombies are already dead.
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM the process group of ``process`` (runuser and Prosody), SIGKILL what stays."""
    pgid = process.pid
    # Prosody first, so that runuser sees its child exit and reaps it.
    for pid in _group_members(pgid):
        if pid != pgid:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(pgid, signal.SIGTERM)
    except OSError:
        pass
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None and not _group_members(pgid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    process.wait(10)


class ProsodyFederationTestCase(SynchronousTestCase):
    """Prosody for prosody.example and mongoose for mongoose.example, federating.

    Subclasses set ``tls`` to run with STARTTLS on our s2s listener and
    encryption required by Prosody, and ``secure_auth`` to authenticate with
    certificates (SASL EXTERNAL) instead of dialback.
    """

    tls = False
    secure_auth = False

    def setUp(self):
        """Start the DNS server, Prosody and our server; create two users on each."""
        require_prosody()
        self.workdir = os.path.abspath(self.mktemp())
        os.makedirs(self.workdir)
        self.addCleanup(self._no_prosody_left)
        self.our_certs = generate_certificates(self.workdir, OUR_DOMAIN)
        self.http, self.c2s, self.s2s = free_port(), free_port(), free_port()

        self.dns = StaticDNSServer()
        self.dns.add_srv(f"_xmpp-server._tcp.{OUR_DOMAIN}", OUR_DOMAIN, self.s2s)
        self.dns.add_a(OUR_DOMAIN, "127.0.0.1")
        self.dns.start()
        self.addCleanup(self.dns.stop)

        self.prosody = ProsodyProcess(
            PROSODY_DOMAIN, self.dns.port, self.tls or self.secure_auth, self.secure_auth
        )
        self.addCleanup(self.prosody.stop, os.path.join(self.workdir, "prosody.log"))
        self.prosody.start()
        for user in ("carol", "dave"):
            self.prosody.register(user, PASSWORD)

        s2s_listener = s2s_options = ""
        if self.tls:
            s2s_listener = (
                '  tls.mode = "starttls"\n'
                f'  tls.certfile = "{self.our_certs.cert}"\n'
                f'  tls.keyfile = "{self.our_certs.key}"\n'
            )
            s2s_options = (
                '  outgoing.tls.mode = "starttls_required"\n'
                f'  outgoing.tls.cacertfile = "{self.prosody.client_ca}"\n'
            )
        if self.secure_auth:
            ours = self.prosody.s2s_certs.domains[OUR_DOMAIN]
            ca = self.prosody.s2s_certs.ca_cert
            s2s_listener = (
                '  tls.mode = "starttls"\n'
                f'  tls.certfile = "{ours.cert}"\n  tls.keyfile = "{ours.key}"\n'
                f'  tls.cacertfile = "{ca}"\n'
            )
            s2s_options = (
                '  outgoing.tls.mode = "starttls_required"\n'
                f'  outgoing.tls.cacertfile = "{ca}"\n'
                f'  outgoing.tls.certfile = "{ours.cert}"\n'
                f'  outgoing.tls.keyfile = "{ours.key}"\n'
            )
        text = OUR_CONFIG.format(
            domain=OUR_DOMAIN, http=self.http, c2s=self.c2s, s2s=self.s2s,
            cert=self.our_certs.cert, key=self.our_certs.key, peer=PROSODY_DOMAIN,
            peer_port=self.prosody.s2s, s2s_listener=s2s_listener, s2s_options=s2s_options,
        )
        self.server = ServerProcess(write_config(self.workdir, text), self.workdir)
        self.addCleanup(self.server.kill)
        self.server.wait_for_port(self.c2s)
        self.server.wait_for_port(self.s2s)
        for user in ("alice", "bob"):
            status, body = http_json(
                "POST", f"http://127.0.0.1:{self.http}/api/users/{OUR_DOMAIN}",
                {"username": user, "password": PASSWORD},
            )
            self.assertEqual(status, 201, body)

    def _no_prosody_left(self) -> None:
        prosody = getattr(self, "prosody", None)
        process = prosody.process if prosody is not None else None
        if process is not None:
            self.assertEqual(_group_members(process.pid), [], "a Prosody process is left")

    def client(self, on_prosody: bool, *args: str) -> ClientProcess:
        """A slixmpp chat client connected to Prosody or to our server."""
        # Prosody 0.12 stores SCRAM-SHA-1 credentials (internal_hashed).
        port, ca, mech = (
            (self.prosody.c2s, self.prosody.client_ca, "SCRAM-SHA-1") if on_prosody
            else (self.c2s, self.our_certs.ca_cert, "SCRAM-SHA-256")
        )
        process = ClientProcess(
            "chat", *args, "--password", PASSWORD, "--port", str(port), "--ca", str(ca),
            "--mech", mech, "--timeout", "40",
        )
        self.addCleanup(process.kill)
        return process

    def diagnostics(self) -> str:
        """Both servers' logs, for failure messages."""
        return (
            f"--- mongoose ---\n{self.server.output()[-6000:]}\n"
            f"--- prosody ---\n{self.prosody.output()[-8000:]}\n"
            f"--- dns queries ---\n{self.dns.queries}"
        )

    def exchange(self) -> None:
        """alice -> carol and dave -> bob, each received by a logged-in client."""
        carol = self.client(True, "receive", "--jid", f"carol@{PROSODY_DOMAIN}")
        bob = self.client(False, "receive", "--jid", f"bob@{OUR_DOMAIN}")
        carol.event("ready", timeout=60)
        bob.event("ready", timeout=60)

        alice = self.client(
            False, "send", "--jid", f"alice@{OUR_DOMAIN}", "--to", f"carol@{PROSODY_DOMAIN}",
            "--body", "hello prosody",
        )
        alice.event("sent", timeout=60)
        try:
            message = carol.event("message", timeout=45)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.diagnostics()}") from None
        self.assertEqual(message["body"], "hello prosody")
        self.assertTrue(message["sender"].startswith(f"alice@{OUR_DOMAIN}/"), message)

        dave = self.client(
            True, "send", "--jid", f"dave@{PROSODY_DOMAIN}", "--to", f"bob@{OUR_DOMAIN}",
            "--body", "hello mongoose",
        )
        dave.event("sent", timeout=60)
        try:
            message = bob.event("message", timeout=45)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.diagnostics()}") from None
        self.assertEqual(message["body"], "hello mongoose")
        self.assertTrue(message["sender"].startswith(f"dave@{PROSODY_DOMAIN}/"), message)
        for process in (alice, dave, carol, bob):
            self.assertEqual(process.wait(60), 0, process.stderr())
        self.assertNotIn("Traceback", self.server.output())


class ProsodyDialbackTests(ProsodyFederationTestCase):
    """Plain TCP federation with Prosody, authenticated by dialback both ways."""

    def test_messages_both_ways(self):
        """A mongoose user and a Prosody user exchange messages over s2s."""
        self.exchange()
        self.assertIn(("_xmpp-server._tcp.mongoose.example", "SRV"), self.dns.queries)
        log = self.prosody.output()
        self.assertIn("Outgoing s2s connection prosody.example->mongoose.example complete", log)
        self.assertIn("Incoming s2s connection mongoose.example->prosody.example complete", log)
        self.assertNotIn("is offering TLS, taking up the offer", log)


class ProsodyStartTLSTests(ProsodyFederationTestCase):
    """Federation with Prosody over STARTTLS (Prosody requires encryption)."""

    tls = True

    def test_messages_both_ways(self):
        """Messages cross both ways over encrypted s2s streams."""
        self.exchange()
        log = self.prosody.output()
        # Prosody's own outgoing stream to us took up our STARTTLS offer.
        self.assertIn("mongoose.example is offering TLS, taking up the offer", log)
        self.assertIn("Outgoing s2s connection prosody.example->mongoose.example complete", log)
        self.assertIn("Incoming s2s connection mongoose.example->prosody.example complete", log)



class ProsodyExternalTests(ProsodyFederationTestCase):
    """Certificates from one CA: both directions use SASL EXTERNAL (XEP-0178), no dialback."""

    secure_auth = True

    def test_messages_both_ways(self):
        """Prosody accepts our EXTERNAL and uses the EXTERNAL we offer."""
        self.exchange()
        log = self.prosody.output()
        self.assertIn("Accepting SASL EXTERNAL identity from mongoose.example", log)
        self.assertIn("SASL EXTERNAL with mongoose.example succeeded", log)
        self.assertNotIn("asking mongoose.example if key", log)
        self.assertIn("authenticated by SASL EXTERNAL", self.server.output())

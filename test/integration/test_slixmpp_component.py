"""slixmpp's ComponentXMPP (a real third-party XEP-0114 library) against our component listener.

The node runs in the test process; the component runs in a subprocess with
its own asyncio loop and reports what happens on stdout, one line per event.
A user's message reaches it and its answer comes back; a wrong secret is
refused with ``not-authorized``.

The user is a real slixmpp client over the c2s listener when ``mongoose.c2s``
exists; without it the user is a session bound in the node and the message is
routed in-process.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap

from twisted.internet import defer, reactor, task
from twisted.internet.protocol import ProcessProtocol
from twisted.trial.unittest import SkipTest, TestCase

from test.component.support import SECRET, component_listener, start_node
from test.modules.nodes import login, xml
from test.support.processes import free_port

COMPONENT_SCRIPT = textwrap.dedent(
    '''
    """An echo component: answers every chat message with "echo: BODY"."""
    import asyncio
    import sys

    from slixmpp import ComponentXMPP

    jid, secret, port = sys.argv[1], sys.argv[2], int(sys.argv[3])


    def say(*words):
        print(*words, flush=True)


    class Echo(ComponentXMPP):
        def __init__(self):
            super().__init__(jid, secret)
            self.done = asyncio.get_event_loop().create_future()
            self.add_event_handler("session_start", lambda _: say("READY"))
            self.add_event_handler("message", self.on_message)
            self.add_event_handler("stream_error", self.on_stream_error)
            self.add_event_handler("disconnected", self.on_disconnected)

        def on_message(self, msg):
            if msg["type"] in ("chat", "normal"):
                msg.reply("echo: " + msg["body"]).send()
                say("ECHOED", msg["from"], msg["body"])

        def on_stream_error(self, error):
            say("STREAM-ERROR", error["condition"])

        def on_disconnected(self, reason):
            say("DISCONNECTED")
            if not self.done.done():
                self.done.set_result(None)


    async def main():
        xmpp = Echo()
        xmpp.connect("127.0.0.1", port)
        try:
            await asyncio.wait_for(xmpp.done, 30)
        except asyncio.TimeoutError:
            say("TIMEOUT")


    asyncio.run(main())
    '''
)

CLIENT_SCRIPT = textwrap.dedent(
    '''
    """A user who sends "hi" to the echo component and prints the answer."""
    import asyncio
    import sys

    from slixmpp import ClientXMPP

    jid, password, port, target = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]


    def say(*words):
        print(*words, flush=True)


    class User(ClientXMPP):
        def __init__(self):
            super().__init__(jid, password)
            self.done = asyncio.get_event_loop().create_future()
            # The test listener has no TLS: a plain TCP stream, SCRAM or PLAIN.
            self.enable_direct_tls = False
            self.enable_starttls = False
            self.enable_plaintext = True
            self.plugin["feature_mechanisms"].unencrypted_plain = True
            self.add_event_handler("session_start", self.started)
            self.add_event_handler("message", self.on_message)
            self.add_event_handler("failed_auth", lambda _: say("AUTH-FAILED"))

        async def started(self, _):
            say("ONLINE")
            self.send_message(mto=target, mbody="hi", mtype="chat")

        def on_message(self, msg):
            say("GOT", msg["from"], msg["body"])
            if not self.done.done():
                self.done.set_result(None)


    async def main():
        user = User()
        user.connect(host="127.0.0.1", port=port)
        try:
            await asyncio.wait_for(user.done, 30)
        except asyncio.TimeoutError:
            say("TIMEOUT")
        user.disconnect()
        await asyncio.sleep(0.2)


    asyncio.run(main())
    '''
)


def _have_slixmpp() -> bool:
    return importlib.util.find_spec("slixmpp") is not None


def _have_c2s() -> bool:
    return importlib.util.find_spec("mongoose.c2s") is not None


class LineProcess(ProcessProtocol):
    """A subprocess whose stdout lines can be awaited."""

    def __init__(self):
        self.lines: list[str] = []
        self.stderr = b""
        self._buffer = b""
        self._waiting: list[tuple[str, defer.Deferred]] = []
        self.ended: defer.Deferred = defer.Deferred()

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").strip()
            self.lines.append(line)
            for entry in list(self._waiting):
                prefix, waiter = entry
                if line.startswith(prefix):
                    self._waiting.remove(entry)
                    waiter.callback(line)

    def errReceived(self, data: bytes) -> None:
        self.stderr += data

    def processEnded(self, reason) -> None:
        for _, waiter in self._waiting:
            waiter.errback(AssertionError(f"process ended; output {self.lines}"))
        self._waiting = []
        self.ended.callback(reason.value.exitCode)

    def line(self, prefix: str, timeout: float = 20.0) -> defer.Deferred:
        """Fires with the first line starting with ``prefix`` (earlier lines count too)."""
        for line in self.lines:
            if line.startswith(prefix):
                return defer.succeed(line)
        if self.ended.called:
            return defer.fail(AssertionError(f"process ended; output {self.lines}"))
        waiter: defer.Deferred = defer.Deferred()
        self._waiting.append((prefix, waiter))
        waiter.addTimeout(timeout, reactor)
        return waiter.addErrback(self._explain, prefix)

    def _explain(self, failure, prefix: str):
        if failure.check(AssertionError):
            return failure
        raise AssertionError(
            f"no line starting with {prefix!r}; stdout {self.lines}; "
            f"stderr {self.stderr.decode('utf-8', 'replace')[-2000:]}"
        )

    def kill(self) -> defer.Deferred:
        """Stop the process if it still runs; fires when it has ended."""
        if not self.ended.called:
            try:
                self.transport.signalProcess("KILL")
            except Exception:
                pass
        return self.ended


class SlixmppComponentTests(TestCase):
    """slixmpp ComponentXMPP as an external component."""

    timeout = 60

    def setUp(self):
        if not _have_slixmpp():
            raise SkipTest("slixmpp is not installed (pip install slixmpp; setup.cfg test extra)")
        self.workdir = os.path.abspath(self.mktemp())
        os.makedirs(self.workdir)

    def spawn(self, source: str, *args: str) -> LineProcess:
        """Run a script with this interpreter; killed at cleanup."""
        path = os.path.join(self.workdir, f"script{len(os.listdir(self.workdir))}.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        process = LineProcess()
        env = dict(os.environ)
        reactor.spawnProcess(
            process, sys.executable, [sys.executable, path, *args], env=env, path=self.workdir
        )
        self.addCleanup(process.kill)
        return process

    async def start(self) -> None:
        self.port = free_port()
        extra = ""
        if _have_c2s():
            self.c2s_port = free_port()
            extra = f'\n[[listen.c2s]]\n  ip_address = "127.0.0.1"\n  port = {self.c2s_port}\n'
        self.node = await start_node(self, component_listener(self.port) + extra)

    async def test_echo_component_answers_user(self):
        """The component receives a user's chat message and its answer reaches the user."""
        await self.start()
        component = self.spawn(COMPONENT_SCRIPT, "echo.localhost", SECRET, str(self.port))
        await component.line("READY")
        self.assertEqual(self.node.components.domains(), ["echo.localhost"])
        if _have_c2s():
            await self.node.auth.register("alice", "localhost", "secret-pw")
            user = self.spawn(
                CLIENT_SCRIPT, "alice@localhost/phone", "secret-pw", str(self.c2s_port),
                "echo.localhost",
            )
            line = await user.line("GOT")
            self.assertEqual(line.split(" ", 2)[1:], ["echo.localhost", "echo: hi"])
        else:
            alice = await login(self.node, "alice", "phone")
            await self.node.router.route(xml(
                "<message from='alice@localhost/phone' to='echo.localhost' type='chat'>"
                "<body>hi</body></message>"
            ))
            await component.line("ECHOED")
            deadline = reactor.seconds() + 10
            while not alice.received and reactor.seconds() < deadline:
                await task.deferLater(reactor, 0.02)
            [answer] = alice.received
            self.assertEqual(answer["from"], "echo.localhost")
            self.assertEqual(str(next(answer.elements("jabber:client", "body"))), "echo: hi")
        echoed = await component.line("ECHOED")
        self.assertEqual(echoed, "ECHOED alice@localhost/phone hi")

    async def test_wrong_secret_refused(self):
        """A wrong secret is refused with not-authorized and nothing is registered."""
        await self.start()
        component = self.spawn(COMPONENT_SCRIPT, "echo.localhost", "wrong", str(self.port))
        line = await component.line("STREAM-ERROR")
        self.assertEqual(line, "STREAM-ERROR not-authorized")
        await component.line("DISCONNECTED")
        self.assertNotIn("READY", component.lines)
        self.assertEqual(self.node.router.routes, {})

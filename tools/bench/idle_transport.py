"""Memory per idle session over TCP and over WebSocket, under ../shared/bench.

The shared harness's own ``idle`` scenario speaks plain TCP only, so this
tool plugs into its ``custom`` server adapter and ``external`` scenario:

``start``
    writes a config (c2s on ``$BENCH_PORT``; one HTTP listener on the next
    port with the RFC 7395 WebSocket endpoint ``/ws-xmpp`` and the admin REST
    API) into ``$BENCH_WORKDIR`` and replaces itself with ``twistd``, so the
    harness measures the server process it started.
``register``
    creates ``prefix1..prefixN`` through the admin REST API.
``hold``
    logs N users in over one transport (SASL PLAIN, bind, initial presence,
    then an IQ round trip as a barrier), waits ``--settle`` seconds, reads the
    server's VmRSS before and after, prints one JSON line and closes.

The harness records the server's CPU time and the output's tail; the
``bytes_per_session`` printed here is (RSS with N idle sessions - RSS
before) / N for the transport asked.  See doc/operations.md "Benchmarks".
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import http.client
import json
import os
import re
import sys
import time

CONFIG = """# written by tools/bench/idle_transport.py
[general]
  loglevel = "warning"
  hosts = ["{domain}"]
  default_server_domain = "{domain}"

[[listen.c2s]]
  port = {port}
  ip_address = "127.0.0.1"
  backlog = 4096

[[listen.http]]
  port = {http_port}
  ip_address = "127.0.0.1"
  transport.max_connections = "infinity"
  [[listen.http.handlers.mongoose_websocket_handler]]
    host = "_"
    path = "/ws-xmpp"
  [[listen.http.handlers.mongoose_admin_api]]
    host = "_"
    path = "/api"

[auth]
  methods = ["internal"]
  sasl_mechanisms = ["plain"]
  password.format = "plain"

[modules.mod_roster]
[modules.mod_disco]
[modules.mod_ping]
"""


def start(args) -> None:
    """Write the config into ``$BENCH_WORKDIR`` and exec twistd (keeping this PID)."""
    workdir = os.environ["BENCH_WORKDIR"]
    port = int(os.environ["BENCH_PORT"])
    path = os.path.join(workdir, "mongooseim.toml")
    with open(path, "w") as handle:
        handle.write(CONFIG.format(domain=args.domain, port=port, http_port=port + 1))
    twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
    os.chdir(workdir)
    os.execv(twistd, [twistd, "-n", "--pidfile", os.path.join(workdir, "twistd.pid"),
                      "mongooseim", "-c", path])


def register(args) -> None:
    """Create ``prefix1..prefixN`` with ``POST /api/users/DOMAIN`` (8 in flight)."""
    def create(index: int) -> bool:
        body = json.dumps({"username": f"{args.prefix}{index}", "password": args.password})
        for _attempt in range(3):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", args.port + 1, timeout=30)
                conn.request("POST", f"/api/users/{args.domain}", body,
                             {"Content-Type": "application/json"})
                status = conn.getresponse().status
                conn.close()
                if status in (201, 409):
                    return True
            except OSError:
                time.sleep(0.2)
        return False

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        created = sum(pool.map(create, range(1, args.users + 1)))
    if created != args.users:
        raise SystemExit(f"created {created} of {args.users} users")


class TcpLink:
    """Raw XML over a TCP stream."""

    def __init__(self, reader, writer):
        self.reader, self.writer, self.buffer = reader, writer, ""

    @classmethod
    async def open(cls, host, port):
        """Connect."""
        return cls(*await asyncio.open_connection(host, port))

    async def send(self, text: str) -> None:
        """Write some XML."""
        self.writer.write(text.encode())

    async def expect(self, pattern: str) -> str:
        """Read until ``pattern`` (a regular expression) matches; return what was read."""
        while not re.search(pattern, self.buffer):
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("closed while waiting for " + pattern)
            self.buffer += data.decode()
        text, self.buffer = self.buffer, ""
        return text

    def close(self) -> None:
        """Close the socket."""
        self.writer.close()


class WebSocketLink(TcpLink):
    """RFC 6455 client framing (masked text frames) carrying RFC 7395 XMPP."""

    @classmethod
    async def open(cls, host, port):
        """Connect and upgrade to WebSocket with the ``xmpp`` subprotocol."""
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /ws-xmpp HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.decode(errors="replace"))
        return cls(reader, writer)

    async def send(self, text: str) -> None:
        """Send one masked text frame."""
        payload = text.encode()
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            header = bytes([0x81, 0x80 | size])
        else:
            header = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)

    async def _frame(self) -> tuple[int, bytes]:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = int.from_bytes(await self.reader.readexactly(2), "big")
        elif size == 127:
            size = int.from_bytes(await self.reader.readexactly(8), "big")
        return first & 0x0F, await self.reader.readexactly(size)

    async def expect(self, pattern: str) -> str:
        """Read frames until ``pattern`` matches, answering pings."""
        while not re.search(pattern, self.buffer):
            opcode, payload = await self._frame()
            if opcode == 0x9:
                mask = os.urandom(4)
                self.writer.write(bytes([0x8A, 0x80 | len(payload)]) + mask
                                  + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            elif opcode == 0x8:
                raise ConnectionError("server closed the WebSocket")
            elif opcode in (0x1, 0x0):
                self.buffer += payload.decode()
        text, self.buffer = self.buffer, ""
        return text


def _stream_open(transport: str, domain: str) -> str:
    if transport == "ws":
        return f'<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="{domain}" version="1.0"/>'
    return (f"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            f"xmlns:stream='http://etherx.jabber.org/streams' to='{domain}' version='1.0'>")


async def login(args, index: int):
    """One full login; returns the open link."""
    link_class = WebSocketLink if args.transport == "ws" else TcpLink
    link = await link_class.open(args.host, args.port + (1 if args.transport == "ws" else 0))
    user = f"{args.prefix}{index}"
    token = base64.b64encode(f"\0{user}\0{args.password}".encode()).decode()
    await link.send(_stream_open(args.transport, args.domain))
    await link.expect(r"</stream:features>|</features>")
    await link.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
    reply = await link.expect(r"<success|<failure")
    if "<success" not in reply:
        raise ConnectionError(f"{user}: authentication failed")
    await link.send(_stream_open(args.transport, args.domain))
    await link.expect(r"</stream:features>|</features>")
    await link.send("<iq type='set' id='b1' xmlns='jabber:client'><bind "
                    "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>")
    await link.expect(r"</iq>")
    await link.send("<presence xmlns='jabber:client'/>")
    await link.send(f"<iq type='get' id='s1' to='{args.domain}' xmlns='jabber:client'>"
                    "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
    await link.expect(r"id=['\"]s1['\"]")
    return link


def server_rss(pid: int) -> int:
    """VmRSS of the server process in bytes."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def hold(args) -> None:
    """Log N users in over one transport, settle, measure, print JSON, close."""
    with open(os.path.join(args.workdir, "twistd.pid")) as handle:
        pid = int(handle.read().strip())
    before = server_rss(pid)
    gate = asyncio.Semaphore(args.concurrency)
    links: list = []
    failures = 0
    started = time.monotonic()

    async def one(index: int) -> None:
        nonlocal failures
        async with gate:
            try:
                links.append(await asyncio.wait_for(login(args, index), 60))
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
                failures += 1

    await asyncio.gather(*(one(i) for i in range(1, args.users + 1)))
    login_s = time.monotonic() - started
    await asyncio.sleep(args.settle)
    after = server_rss(pid)
    sessions = len(links)
    print(json.dumps({
        "transport": args.transport, "sessions": sessions, "failures": failures,
        "login_s": round(login_s, 2), "rss_before_bytes": before, "rss_after_bytes": after,
        "bytes_per_session": round((after - before) / sessions) if sessions else None,
    }))
    for link in links:
        link.close()


def main(argv=None) -> None:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "register", "hold"])
    parser.add_argument("--transport", choices=["tcp", "ws"], default="tcp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", 37222)))
    parser.add_argument("--domain", default="localhost")
    parser.add_argument("--prefix", default="user")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--workdir", default=os.environ.get("BENCH_WORKDIR", "."))
    args = parser.parse_args(argv)
    if args.action == "start":
        start(args)
    elif args.action == "register":
        register(args)
    else:
        asyncio.run(hold(args))


if __name__ == "__main__":
    main()

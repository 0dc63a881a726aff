"""Fake client sessions that drive a real node the way the c2s stream does.

:class:`FakeSession` is an ``ISession`` that records what it is sent.
:class:`Client` sends stanzas for it along the c2s path (``user_send_packet``
fold, then broadcast presence through ``user_presence_broadcast`` or
everything else through the router) and ends it with ``sessions.unbind``.
:func:`track_hooks` lets a test wait until every hook chain the node started
(also those nobody awaits, like ``sm_remove_connection``) has finished.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import defer, reactor
from twisted.words.xish.domish import Element
from zope.interface import implementer

from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from mongoose.router.interfaces import ISession
from mongoose.xmpp.framing import parse_element
from mongoose.xmpp.jid import JID

__all__ = [
    "IM_MODULES",
    "Client",
    "FakeSession",
    "connect",
    "module_instance",
    "settle",
    "start_im_node",
    "track_hooks",
    "xml",
]


def xml(text: str) -> Element:
    """Parse one stanza written in the jabber:client namespace."""
    return parse_element(text, default_namespace="jabber:client")


@implementer(ISession)
class FakeSession:
    """An ISession that keeps every stanza delivered to it."""

    def __init__(self) -> None:
        self.jid: JID | None = None
        self.priority: int | None = None
        self.presence: Element | None = None
        self.roster_requested = False
        self.info: dict[str, Any] = {}
        self.received: list[Element] = []
        self.closed: tuple[str, str | None] | None = None

    def deliver(self, stanza: Element) -> None:
        """Record the stanza."""
        self.received.append(stanza)

    def close(self, condition: str, text: str | None = None) -> None:
        """Record the stream error."""
        self.closed = (condition, text)

    def take(self) -> list[Element]:
        """Return and forget what was delivered so far."""
        taken, self.received = self.received, []
        return taken


def track_hooks(node: Any) -> list[defer.Deferred]:
    """Record the Deferred of every hook chain ``node`` runs from now on (for :func:`settle`)."""
    pending = getattr(node, "_test_pending_hooks", None)
    if pending is None:
        pending = []
        original = node.hooks.run

        def run(name: str, host: str | None, *args: Any) -> defer.Deferred:
            d = original(name, host, *args)
            pending.append(d)
            return d

        node.hooks.run = run
        node._test_pending_hooks = pending
    return pending


async def settle(node: Any) -> None:
    """Wait until every hook chain started through :func:`track_hooks` has finished."""
    pending = track_hooks(node)
    while pending:
        batch = list(pending)
        pending.clear()
        await defer.DeferredList(batch, consumeErrors=True)


def _priority(stanza: Element) -> int:
    for child in stanza.elements():
        if child.name == "priority":
            try:
                return int(str(child).strip())
            except ValueError:
                return 0
    return 0


class Client:
    """A bound FakeSession plus the c2s behaviour around it.

    Args:
        node: a started mongoose.node.Node.
        session: a FakeSession already bound in ``node.sessions``.
    """

    def __init__(self, node: Any, session: FakeSession):
        self.node = node
        self.session = session
        track_hooks(node)

    @property
    def jid(self) -> JID:
        """The session's full JID."""
        return self.session.jid

    async def send(self, stanza: Element | str) -> None:
        """Send one stanza as the client would, and wait for the server to finish with it."""
        if isinstance(stanza, str):
            stanza = xml(stanza)
        session = self.session
        stanza["from"] = session.jid.full()
        host = session.jid.host
        result = await self.node.hooks.fold("user_send_packet", host, stanza, session)
        if result is not None:
            if result.name == "presence" and not result.getAttribute("to"):
                await self._broadcast(result)
            else:
                to = result.getAttribute("to")
                to_jid = JID.parse(to) if to else session.jid.bare()
                await self.node.router.route(result, session.jid, to_jid)
        await settle(self.node)

    async def _broadcast(self, presence: Element) -> None:
        session = self.session
        kind = presence.getAttribute("type")
        if kind not in (None, "unavailable"):
            return
        was_available = session.priority is not None
        if kind is None:
            session.priority = _priority(presence)
            session.presence = presence
        else:
            session.priority = None
            session.presence = None
        await self.node.hooks.run(
            "user_presence_broadcast", session.jid.host, session, presence, was_available
        )

    async def available(self, priority: int | None = None, show: str | None = None) -> None:
        """Send broadcast available presence."""
        parts = []
        if show:
            parts.append(f"<show>{show}</show>")
        if priority is not None:
            parts.append(f"<priority>{priority}</priority>")
        await self.send(f"<presence>{''.join(parts)}</presence>")

    async def get_roster(self, ver: str | None = None) -> Element:
        """Fetch the roster; return the IQ result."""
        attr = "" if ver is None else f" ver='{ver}'"
        await self.send(f"<iq type='get' id='r1'><query xmlns='jabber:iq:roster'{attr}/></iq>")
        return self.last("iq", id="r1")

    def last(self, name: str, **attributes: str) -> Element:
        """The last received stanza with this name and attributes (AssertionError if none)."""
        for stanza in reversed(self.session.received):
            if stanza.name == name and all(
                stanza.getAttribute(k) == v for k, v in attributes.items()
            ):
                return stanza
        raise AssertionError(f"no <{name}> with {attributes} among {self.dump()}")

    def dump(self) -> list[str]:
        """What the session received, as XML text (for failure messages)."""
        return [s.toXml() for s in self.session.received]

    def take(self) -> list[Element]:
        """Return and forget what the session received."""
        return self.session.take()

    async def disconnect(self) -> None:
        """End the session as a dropped connection does, and wait for the hooks."""
        self.node.sessions.unbind(self.session)
        await settle(self.node)


async def connect(
    node: Any, user: str, resource: str = "res", host: str = "localhost",
    register: bool = True, password: str = "pw",
) -> Client:
    """Register ``user@host`` (unless it exists) and bind a new FakeSession for it."""
    if register and not await node.auth.user_exists(user, host):
        await node.auth.register(user, host, password)
    session = FakeSession()
    node.sessions.bind(session, user, host, resource)
    client = Client(node, session)
    await settle(node)
    return client


IM_MODULES = """
[modules.mod_presence]
[modules.mod_roster]
[modules.mod_offline]
"""

_BASE = """
[general]
  hosts = ["localhost", "other.test"]
  default_server_domain = "localhost"
  data_dir = "{data}"
[auth]
  methods = ["internal"]
  password.format = "plain"
[auth.internal]
"""


async def start_im_node(testcase: Any, extra: str = IM_MODULES, data: str | None = None) -> Any:
    """Start a node serving ``localhost`` and ``other.test`` on a SQLite file.

    Args:
        testcase: the running trial TestCase (for mktemp and cleanup).
        extra: TOML appended to the base config (by default the three IM modules).
        data: the data directory; reuse one to restart on the same database.

    Returns:
        The started node, with hooks tracked for :func:`settle`; it is stopped
        at cleanup unless the test stopped it.
    """
    data = data or os.path.abspath(testcase.mktemp())
    config = parse_config(_BASE.format(data=data) + extra)
    node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
    node.startService()
    await node.ready
    node.test_data_dir = data
    track_hooks(node)

    async def stop() -> None:
        if node.running:
            await node.stopService()

    testcase.addCleanup(lambda: defer.ensureDeferred(stop()))
    return node


def module_instance(node: Any, name: str, host: str = "localhost") -> Any:
    """The running instance of module ``name`` on ``host``."""
    for module_name, module_host, instance, _ctx in node.modules.running:
        if module_name == name and module_host == host:
            return instance
    raise LookupError(f"{name} does not run on {host}")

"""A started Node with a fake client session, for module tests through the real router."""

from __future__ import annotations

import os

from twisted.words.xish.domish import Element
from zope.interface import implementer

from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from mongoose.router.interfaces import ISession
from mongoose.xmpp.framing import parse_element

__all__ = ["RecordingSession", "start_node", "xml"]

BASE = """
[general]
  hosts = ["localhost"]
  default_server_domain = "localhost"
  data_dir = "{data}"
[auth.internal]
"""


@implementer(ISession)
class RecordingSession:
    """An ISession that keeps what it is sent."""

    def __init__(self):
        self.jid = None
        self.priority = None
        self.presence = None
        self.roster_requested = False
        self.info = {}
        self.received: list[Element] = []
        self.closed = None

    def deliver(self, stanza):
        self.received.append(stanza)

    def close(self, condition, text=None):
        self.closed = (condition, text)


def xml(text: str) -> Element:
    """Parse one element from text."""
    return parse_element(text, default_namespace="jabber:client")


async def start_node(testcase, modules_toml: str, reactor=None) -> Node:
    """Start a node on a temporary SQLite database with the given module tables."""
    from twisted.internet import reactor as default_reactor

    data = os.path.abspath(testcase.mktemp())
    config = parse_config(BASE.format(data=data) + modules_toml)
    node = Node(config, reactor=reactor or default_reactor, extensions=ExtensionRegistry())
    node.startService()
    await node.ready
    testcase.addCleanup(node.stopService)
    return node


async def login(node: Node, user: str, resource: str = "res", password: str = "pw"):
    """Register ``user@localhost`` (once) and bind a RecordingSession for it."""
    await node.auth.register(user, "localhost", password)
    session = RecordingSession()
    node.sessions.bind(session, user, "localhost", resource)
    return session

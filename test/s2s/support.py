"""Two federating nodes in one process, for the s2s tests.

:func:`start_pair` starts node A (``a.test``) and node B (``b.test``), each
with an s2s listener on a free loopback port and an ``s2s.outgoing.address``
override pointing the other domain at it.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet import defer, reactor, task

from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from test.support.processes import free_port
from test.support.sessions import track_hooks

__all__ = ["node_config", "start_node", "start_pair", "wait_for"]


def node_config(
    domain: str, data: str, port: int, peer: str, peer_port: int, extra: str = "",
    s2s: str = "",
) -> str:
    """TOML for a node serving ``domain`` that reaches ``peer`` on 127.0.0.1:peer_port."""
    return f"""
[general]
  hosts = ["{domain}"]
  default_server_domain = "{domain}"
  data_dir = "{data}"
[auth]
  methods = ["internal"]
  password.format = "plain"
[auth.internal]
[modules.mod_presence]
[modules.mod_roster]
[[listen.s2s]]
  port = {port}
  ip_address = "127.0.0.1"
{extra}
[s2s]
  shared = "secret-of-{domain}"
  outgoing.connection_timeout = 3000
{s2s}
  [[s2s.outgoing.address]]
    host = "{peer}"
    ip_address = "127.0.0.1"
    port = {peer_port}
"""


async def start_node(testcase: Any, toml: str) -> Node:
    """Start a node from TOML; it is stopped at cleanup."""
    node = Node(parse_config(toml), reactor=reactor, extensions=ExtensionRegistry())
    node.startService()
    await node.ready
    track_hooks(node)

    async def stop() -> None:
        if node.running:
            await node.stopService()

    testcase.addCleanup(lambda: defer.ensureDeferred(stop()))
    return node


async def start_pair(
    testcase: Any, extra_a: str = "", extra_b: str = "", s2s_a: str = "", s2s_b: str = ""
) -> tuple[Node, Node]:
    """Start nodes for ``a.test`` and ``b.test`` that federate over loopback.

    Args:
        testcase: the running TestCase.
        extra_a: TOML lines added to A's ``[[listen.s2s]]`` table.
        extra_b: the same for B.
        s2s_a: TOML lines added to A's ``[s2s]`` table.
        s2s_b: the same for B.

    Returns:
        (node A, node B).
    """
    port_a, port_b = free_port(), free_port()
    data_a = os.path.abspath(testcase.mktemp())
    data_b = os.path.abspath(testcase.mktemp())
    os.makedirs(data_a)
    os.makedirs(data_b)
    a = await start_node(
        testcase, node_config("a.test", data_a, port_a, "b.test", port_b, extra_a, s2s_a)
    )
    b = await start_node(
        testcase, node_config("b.test", data_b, port_b, "a.test", port_a, extra_b, s2s_b)
    )
    return a, b


async def wait_for(predicate, timeout: float = 10.0) -> None:
    """Let the reactor run until ``predicate()`` is true (AssertionError after ``timeout``)."""
    deadline = reactor.seconds() + timeout
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError("condition not met in time")
        await task.deferLater(reactor, 0.02)

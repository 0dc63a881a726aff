"""What the WebSocket and BOSH handlers share: c2s settings and element serialisation.

Both handlers run the ordinary client state machine
(:class:`mongoose.c2s.session.C2SSession`, DESIGN.md principle 2) with the
options of their ``[[listen.http.handlers.*]]`` table mapped onto the c2s
listener options they correspond to (MongooseIM "HTTP-based services").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.words.xish.domish import Element

from mongoose.c2s.context import C2SContext, C2SSettings
from mongoose.xmpp.namespaces import NS_STREAMS, NS_XML
from mongoose.xmpp.serialize import element_to_str

__all__ = ["handler_context", "serialize", "peer_of"]


def handler_context(node: Any, name: str, options: Mapping[str, Any]) -> C2SContext:
    """A c2s context for the sessions of one HTTP handler.

    Args:
        node: the mongoose.node.Node.
        name: the handler's name (used in log lines).
        options: the handler's options; ``max_stanza_size``,
            ``c2s_state_timeout`` and ``backwards_compatible_session`` are read.

    Returns:
        The context (no TLS, no shaper, access rule ``all``).
    """
    c2s_options = {
        key: options[key]
        for key in ("max_stanza_size", "c2s_state_timeout", "backwards_compatible_session")
        if key in options
    }
    path = f"{name} {options.get('path', '/')}"
    settings = C2SSettings.from_options(path, c2s_options, node.config, node.access)
    return C2SContext(node, settings)


def serialize(el: Element, default_uri: str | None = None) -> str:
    """An element as text that stands on its own (RFC 7395 section 3.3.3).

    Stanzas carry their ``xmlns``; ``stream:`` elements keep the prefix and
    declare it themselves.
    """
    text = element_to_str(el, default_uri=default_uri, prefixes={NS_STREAMS: "stream", NS_XML: "xml"})
    if el.uri == NS_STREAMS:
        tag = f"<stream:{el.name}"
        text = f"{tag} xmlns:stream='{NS_STREAMS}'{text[len(tag):]}"
    return text


def peer_of(address: Any) -> tuple[str, int]:
    """``(host, port)`` of a Twisted address (``("", 0)`` when unknown)."""
    return str(getattr(address, "host", "") or ""), int(getattr(address, "port", 0) or 0)

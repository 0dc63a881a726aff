"""``mod_csi``: Client State Indication (XEP-0352), as MongooseIM's "mod_csi".

The ``<csi xmlns='urn:xmpp:csi:0'/>`` stream feature is advertised after
authentication.  A bound client that says ``<inactive/>`` gets its stanzas
held back; ``<active/>`` sends them all, in order.  Like MongooseIM (and
Prosody), every stanza is held, since the XEP does not say which are
urgent; when more than ``buffer_max`` wait, they are all sent at once and
holding starts again.  Held stanzas are never lost: when the connection
drops they move on to stream management's buffer, or to offline storage.

The module plugs into the client stream through the ``c2s_stream_element``
hook and an :class:`~mongoose.c2s.interfaces.IStreamFilter` per session.
"""

from __future__ import annotations

from typing import Any

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.c2s.interfaces import IStreamFilter
from mongoose.config.schema import Field, Int, Section
from mongoose.hooks import STOP
from mongoose.interfaces import IModule, IModuleFactory

__all__ = ["NS_CSI", "CSIModule", "ClientState"]

NS_CSI = "urn:xmpp:csi:0"


@implementer(IStreamFilter)
class ClientState:
    """The state one client indicated, and the stanzas held while it is inactive.

    Args:
        session: the c2s session.
        buffer_max: most stanzas held before they are all sent.
    """

    order = 10
    owns_undelivered = False

    def __init__(self, session: Any, buffer_max: int):
        self.session = session
        self.buffer_max = buffer_max
        self.active = True
        self.held: list[Element] = []

    def outgoing(self, stanza: Element) -> None:
        """Send now when active, else hold (all of them go once too many wait)."""
        if self.active:
            self.session.forward(self, stanza)
            return
        self.held.append(stanza)
        if len(self.held) > self.buffer_max:
            self.flush()

    def incoming(self, stanza: Element) -> None:
        """Nothing to do for client stanzas."""

    def flush(self) -> None:
        """Send every held stanza in order."""
        held, self.held = self.held, []
        for stanza in held:
            self.session.forward(self, stanza)

    def set_active(self, active: bool) -> None:
        """Record the client's state; becoming active sends what was held."""
        self.active = active
        if active:
            self.flush()

    def connection_lost(self) -> bool:
        """Pass held stanzas on to stream management's buffer, if it keeps them.

        Otherwise they stay here until :meth:`session_ended` stores them
        offline, once the session has left the session manager.
        """
        later = [f for f in self.session.filters if f.order > self.order]
        if any(getattr(f, "owns_undelivered", False) for f in later):
            self.active = True
            self.flush()
        return False

    def session_ended(self) -> None:
        """Held stanzas go to offline storage."""
        held, self.held = self.held, []
        if held:
            self.session.store_undelivered(held)


@provider(IModuleFactory)
@implementer(IModule)
class CSIModule:
    """XEP-0352 for the client streams of one host."""

    name = "mod_csi"
    dependencies = ()
    options_spec = Section(
        {
            "buffer_max": Field(Int(min=0), default=20,
                                doc="Most stanzas held for an inactive client."),
        },
        doc="Client State Indication (XEP-0352).",
    )

    def start(self, ctx: Any) -> None:
        """Advertise ``<csi/>`` and take ``<active/>``/``<inactive/>``."""
        self.ctx = ctx
        ctx.add_stream_feature(Element((NS_CSI, "csi")))
        ctx.hook("c2s_stream_element", self.on_element)

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    def state_of(self, session: Any) -> ClientState | None:
        """The client state filter of a session, if it indicated a state."""
        for stream_filter in getattr(session, "filters", ()):
            if isinstance(stream_filter, ClientState):
                return stream_filter
        return None

    def on_element(self, session: Any, el: Element) -> Any:
        """Handle ``<active/>`` and ``<inactive/>``."""
        if el.uri != NS_CSI or el.name not in ("active", "inactive"):
            return None
        if session.jid is None:
            return STOP  # before binding there is nothing to hold
        state = self.state_of(session)
        if state is None:
            if el.name == "active":
                return STOP
            state = ClientState(session, self.ctx.options["buffer_max"])
            session.add_filter(state)
        state.set_active(el.name == "active")
        return STOP

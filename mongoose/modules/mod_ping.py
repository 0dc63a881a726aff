"""``mod_ping``: XMPP Ping (XEP-0199), answered and optionally sent to clients.

The server answers pings to its domain and, on behalf of the account, to a
user's bare JID.  With ``send_pings = true`` it pings every client session
after ``ping_interval`` seconds and, when no answer comes within
``ping_req_timeout`` seconds, runs ``timeout_action`` (``kill`` closes the
session with a ``connection-timeout`` stream error; ``none`` only logs).
"""

from __future__ import annotations

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.config.schema import Bool, Enum, Field, Int, Section
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError

__all__ = ["PingModule", "NS_PING"]

NS_PING = "urn:xmpp:ping"


@provider(IModuleFactory)
@implementer(IModule)
class PingModule:
    """Answers pings and keeps an eye on idle client sessions."""

    name = "mod_ping"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "send_pings": Field(Bool(), default=False,
                                doc="Ping client sessions every ping_interval seconds."),
            "ping_interval": Field(Int(min=1), default=60,
                                   doc="Seconds between server pings to a client."),
            "timeout_action": Field(Enum("none", "kill"), default="none",
                                    doc="What to do when a client does not answer a ping."),
            "ping_req_timeout": Field(Int(min=1), default=32,
                                      doc="Seconds to wait for the answer to a ping."),
        },
        doc="XMPP Ping (XEP-0199).",
    )

    def start(self, ctx) -> None:
        """Answer pings; schedule client pings when configured."""
        self.ctx = ctx
        self.timers: dict[int, object] = {}
        ctx.add_feature(NS_PING)
        ctx.iq_handler(NS_PING, self.answer, scope="server")
        ctx.iq_handler(NS_PING, self.answer, scope="user")
        if ctx.options["send_pings"]:
            ctx.hook("sm_register_connection", self._schedule)
            ctx.hook("sm_remove_connection", self._forget)
            ctx.hook("user_send_packet", self._activity, priority=10)

    def stop(self) -> None:
        """Cancel pending pings."""
        for call in self.timers.values():
            if call.active():
                call.cancel()
        self.timers.clear()

    def answer(self, iq: Element, from_jid, to_jid) -> Element:
        """Reply to a ping with an empty result."""
        if iq["type"] != "get":
            raise StanzaError("bad-request", text="a ping is an IQ get")
        return iq_result(iq)

    def _schedule(self, session) -> None:
        self._forget(session)
        self.timers[id(session)] = self.ctx.clock.callLater(
            self.ctx.options["ping_interval"], self._ping, session
        )

    def _forget(self, session) -> None:
        call = self.timers.pop(id(session), None)
        if call is not None and call.active():
            call.cancel()

    def _activity(self, stanza, session):
        """Any traffic from the client postpones the next ping."""
        call = self.timers.get(id(session))
        if call is not None and call.active():
            call.reset(self.ctx.options["ping_interval"])
        return None

    def _ping(self, session) -> None:
        self.timers.pop(id(session), None)
        iq = Element((None, "iq"))
        iq["type"] = "get"
        iq["from"] = self.ctx.host
        iq["to"] = session.jid.full()
        iq.addElement((NS_PING, "ping"))
        waiting = self.ctx.router.send_iq(
            iq, timeout=self.ctx.options["ping_req_timeout"], clock=self.ctx.clock
        )
        waiting.addCallbacks(lambda reply: self._schedule(session), self._no_answer,
                             errbackArgs=(session,))

    def _no_answer(self, failure, session) -> None:
        failure.trap(TimeoutError)
        if self.ctx.options["timeout_action"] == "kill":
            self.ctx.log.info("{jid} did not answer a ping; closing", jid=session.jid.full())
            session.close("connection-timeout", "No answer to ping")
        else:
            self._schedule(session)

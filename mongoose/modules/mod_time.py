"""``mod_time``: Entity Time (XEP-0202) of the server.

An IQ get of ``urn:xmpp:time`` to the domain is answered with the server's
UTC offset (``tzo``) and the current time in UTC (``utc``, XEP-0082
DateTime).  An IQ set is refused with ``feature-not-implemented``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

from mongoose.config.schema import Section
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError

__all__ = ["TimeModule", "NS_TIME", "format_offset", "format_utc"]

NS_TIME = "urn:xmpp:time"


def format_offset(offset: timedelta | None) -> str:
    """An UTC offset as XEP-0082 TZD text: ``+02:00``, ``-05:30``, ``+00:00``."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def format_utc(moment: datetime) -> str:
    """A moment as XEP-0082 DateTime in UTC with milliseconds and ``Z``."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[:-3] + "Z"


@provider(IModuleFactory)
@implementer(IModule)
class TimeModule:
    """Answers entity time queries to the server's domain."""

    name = "mod_time"
    dependencies = ()
    options_spec = Section({"iqdisc": iqdisc_field()}, doc="Entity Time (XEP-0202).")

    def start(self, ctx) -> None:
        """Register the time IQ handler and feature."""
        self.ctx = ctx
        ctx.add_feature(NS_TIME)
        ctx.iq_handler(NS_TIME, self.answer, scope="server")

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    def answer(self, iq: Element, from_jid, to_jid) -> Element:
        """Reply with the server's time zone offset and the UTC time."""
        if iq["type"] != "get":
            raise StanzaError("feature-not-implemented", text="the server time cannot be set")
        now = datetime.fromtimestamp(self.ctx.clock.seconds(), UTC)
        local = now.astimezone()
        time = Element((NS_TIME, "time"))
        time.addElement("tzo", content=format_offset(local.utcoffset()))
        time.addElement("utc", content=format_utc(now))
        return iq_result(iq, time)

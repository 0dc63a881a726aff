"""``mod_version``: Software Version (XEP-0092) of the server.

An IQ get of ``jabber:iq:version`` to the domain is answered with the
server's name and version and, with ``os_info = true``, the operating
system.  Other entities (users) answer for themselves: IQs to full JIDs go
to their sessions.  An IQ set is refused with ``feature-not-implemented``.
"""

from __future__ import annotations

import platform

from twisted.words.xish.domish import Element
from zope.interface import implementer, provider

import mongoose
from mongoose.config.schema import Bool, Field, Section
from mongoose.interfaces import IModule, IModuleFactory
from mongoose.modules.options import iqdisc_field
from mongoose.router.router import iq_result
from mongoose.xmpp.errors import StanzaError

__all__ = ["VersionModule", "NS_VERSION", "SERVER_NAME", "os_description"]

NS_VERSION = "jabber:iq:version"
#: The name the server gives in version answers.
SERVER_NAME = "mongoose"


def os_description() -> str:
    """The operating system as ``<system> <release>``, e.g. ``Linux 6.1.0``."""
    return " ".join(part for part in (platform.system(), platform.release()) if part)


@provider(IModuleFactory)
@implementer(IModule)
class VersionModule:
    """Answers software version queries to the server's domain."""

    name = "mod_version"
    dependencies = ()
    options_spec = Section(
        {
            "iqdisc": iqdisc_field(),
            "os_info": Field(Bool(), default=False,
                             doc="Include the operating system in the answer."),
        },
        doc="Software Version (XEP-0092).",
    )

    def start(self, ctx) -> None:
        """Register the version IQ handler and feature."""
        self.ctx = ctx
        ctx.add_feature(NS_VERSION)
        ctx.iq_handler(NS_VERSION, self.answer, scope="server")

    def stop(self) -> None:
        """Nothing beyond the registrations the framework removes."""

    def answer(self, iq: Element, from_jid, to_jid) -> Element:
        """Reply to a version query with name, version and (optionally) OS."""
        if iq["type"] != "get":
            raise StanzaError("feature-not-implemented", text="the server version cannot be set")
        query = Element((NS_VERSION, "query"))
        query.addElement("name", content=SERVER_NAME)
        query.addElement("version", content=mongoose.__version__)
        if self.ctx.options["os_info"]:
            query.addElement("os", content=os_description())
        return iq_result(iq, query)

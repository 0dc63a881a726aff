"""``mod_bosh``: the options of BOSH sessions (XEP-0124/XEP-0206; MongooseIM ``mod_bosh``).

The module itself does nothing on its host: the BOSH HTTP handler
(:mod:`mongoose.http.bosh`, ``[[listen.http.handlers.mod_bosh]]``) reads
these options for the domain a client connects to.  MongooseIM 6.6 moved them
to ``[services.service_bosh]``; this is the module form of earlier versions.

Options: ``inactivity`` (seconds without a request before a session is gone,
``infinity``: never), ``max_wait`` (longest ``wait`` granted to a client,
``infinity``: the client's), ``server_acks`` (acknowledge requests,
XEP-0124 section 9), ``max_pause`` (longest ``pause`` allowed, seconds),
``backend`` (where sessions are kept; this node keeps them in its memory
whatever the value).
"""

from __future__ import annotations

from zope.interface import implementer, provider

from mongoose.config.schema import Bool, Enum, Field, Int, Section
from mongoose.config.sections.types import int_or_infinity
from mongoose.interfaces import IModule, IModuleFactory

__all__ = ["BoshModule"]


@provider(IModuleFactory)
@implementer(IModule)
class BoshModule:
    """Holds the BOSH session options of a host."""

    name = "mod_bosh"
    dependencies = ()
    options_spec = Section(
        {
            "backend": Field(Enum("mnesia", "cets"), default="mnesia",
                             doc="Where sessions are kept (this node: in memory)."),
            "inactivity": Field(int_or_infinity(min=1), default=30,
                                doc="Seconds without a request before a session is gone."),
            "max_wait": Field(int_or_infinity(min=1), default="infinity",
                              doc="Longest wait (seconds) granted to a client."),
            "server_acks": Field(Bool(), default=False,
                                 doc="Responses acknowledge requests (XEP-0124 section 9)."),
            "max_pause": Field(Int(min=1), default=120,
                               doc="Longest pause (seconds) a client may ask for."),
        },
        doc="BOSH session options (XEP-0124, XEP-0206).",
    )

    def start(self, ctx) -> None:
        """Nothing to start: the BOSH handler reads the options."""
        self.ctx = ctx

    def stop(self) -> None:
        """Nothing to stop."""

"""``service_admin_extra``: MongooseIM's legacy flat admin commands, by submod.

Follows the MongooseIM "service_admin_extra" documentation: the ``submods``
option (default: all) chooses which groups of commands are registered
(``accounts``, ``gdpr``, ``last``, ``node``, ``private``, ``roster``,
``sessions``, ``stanza``, ``stats``, ``vcard``); a submod that is not listed registers nothing and an
unknown one is a configuration error naming it.  The commands themselves are
defined in :mod:`mongoose.commands.defs.admin_extra` and run the modern
registry commands, so they appear on every surface (REST, ctl, ad-hoc).
"""

from __future__ import annotations

import time

from zope.interface import implementer, provider

from mongoose.commands.defs.admin_extra import SUBMODS, admin_extra_commands
from mongoose.config.schema import Enum, Field, ListOf, Section
from mongoose.interfaces import IGlobalService, IServiceFactory

__all__ = ["AdminExtraService"]


@provider(IServiceFactory)
@implementer(IGlobalService)
class AdminExtraService:
    """Registers the legacy commands of the configured submods."""

    name = "service_admin_extra"
    options_spec = Section(
        {
            "submods": Field(ListOf(Enum(*SUBMODS), unique=True), default=list(SUBMODS),
                             doc="Groups of legacy commands to register."),
        },
        doc="Legacy flat admin commands (mongooseimctl change_password ...).",
    )

    def start(self, ctx) -> None:
        """Register the commands of every configured submod."""
        registry = ctx.commands
        stores = ctx.stores
        commands = admin_extra_commands(
            registry, ctx.options["submods"], time.time(),
            get_secret=lambda domain, user: stores.auth.get_secret(domain, user),
            hosts=lambda: ctx.hosts,
        )
        for command in commands:
            ctx.add_command(command)

    def stop(self) -> None:
        """Nothing beyond the registrations, which the framework removes."""

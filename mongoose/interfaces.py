"""Cross-layer interfaces: the pluggable parts of the server.

A module (``[modules.mod_x]``, started once per host), a global service
(``[services.service_x]``, started once), an HTTP handler kind
(``[[listen.http.handlers.x]]``) and a listener kind (``[[listen.x]]``) are
each found by their MongooseIM name in an
:class:`mongoose.extensions.ExtensionRegistry`.  The registry reads the
``mongoose.modules``, ``mongoose.services`` and ``mongoose.http_handlers``
entry point groups, so a third-party distribution can add one without
editing this package.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

__all__ = [
    "IModuleFactory",
    "IModule",
    "IModuleContext",
    "IServiceFactory",
    "IGlobalService",
    "IServiceContext",
    "IHTTPHandlerFactory",
    "IAuthBackend",
    "IStanzaSink",
    "IRouter",
]


class IModuleFactory(Interface):
    """Makes one :class:`IModule` per host; provided by a module class."""

    name = Attribute("MongooseIM name of the module, e.g. 'mod_roster'.")
    options_spec = Attribute(
        "A mongoose.config.schema.Section declaring the module's options."
    )
    dependencies = Attribute(
        "Names of modules that must run on the same host (started first)."
    )

    def __call__():
        """Return a fresh, not yet started, IModule."""


class IModule(Interface):
    """A feature started per host (Prosody's module, ejabberd's gen_mod)."""

    def start(ctx):
        """Start on one host.

        Args:
            ctx: an IModuleContext. Everything the module registers through
                it is removed by the framework when the module stops.

        Returns:
            None, or a Deferred that fires when the module is ready.
        """

    def stop():
        """Release what the module holds beyond its registrations.

        Returns None or a Deferred.
        """


class IModuleContext(Interface):
    """The facade a module sees: its host, its options and the core registries."""

    host = Attribute("The XMPP domain this module instance serves.")
    options = Attribute("The module's parsed, immutable options.")
    stores = Attribute("The node's storage (a mongoose.storage.Stores).")
    log = Attribute("A twisted.logger.Logger namespaced for the module.")
    clock = Attribute("An IReactorTime for timers.")

    def hook(name, handler, priority=50):
        """Register ``handler`` on hook ``name`` for this host."""

    def add_command(command):
        """Register a mongoose.commands.Command."""

    def add_feature(namespace):
        """Advertise a service discovery feature on this host."""

    def service(name):
        """The running instance of global service ``name`` (e.g. ``service_cache``), or None."""


class IServiceFactory(Interface):
    """Makes the single instance of a global service; provided by its class."""

    name = Attribute("MongooseIM name of the service, e.g. 'service_admin_extra'.")
    options_spec = Attribute("A Section declaring the service's options.")

    def __call__():
        """Return a fresh, not yet started, IGlobalService."""


class IGlobalService(Interface):
    """A feature started once per node, for every host."""

    def start(ctx):
        """Start with an IServiceContext; may return a Deferred."""

    def stop():
        """Stop; may return a Deferred."""


class IServiceContext(Interface):
    """What a global service sees of the node."""

    hosts = Attribute("The XMPP domains served by the node.")
    options = Attribute("The service's parsed, immutable options.")
    stores = Attribute("The node's storage.")
    log = Attribute("A twisted.logger.Logger namespaced for the service.")

    def hook(name, handler, priority=50, host=None):
        """Register a hook handler, for one host or (host=None) globally."""

    def add_command(command):
        """Register a mongoose.commands.Command."""

    def service(name):
        """The running instance of global service ``name`` (e.g. ``service_cache``), or None."""


class IHTTPHandlerFactory(Interface):
    """A kind of handler mounted on a ``[[listen.http]]`` listener."""

    name = Attribute("Handler name as written in the config, e.g. 'mongoose_admin_api'.")
    options_spec = Attribute(
        "A Section with the handler's own options (host and path are added)."
    )

    def __call__(options, node):
        """Return a twisted.web IResource serving this handler.

        Args:
            options: the handler's parsed options, including host and path.
            node: the mongoose.node.Node the listener belongs to.
        """


class IAuthBackend(Interface):
    """Authentication for one or more domains (``[auth]``).

    Every method returns a Deferred.
    """

    def register(username, domain, password):
        """Create a user; fires False if it exists already."""

    def remove(username, domain):
        """Remove a user; fires False if there was none."""

    def user_exists(username, domain):
        """Fire True if the user exists."""

    def check_password(username, domain, password):
        """Fire True if the password is the user's."""

    def set_password(username, domain, password):
        """Change a password; fires False if the user does not exist."""

    def list_users(domain, limit=None, offset=0):
        """Fire a sorted list of usernames."""

    def count_users(domain):
        """Fire the number of users."""

    def get_scram(username, domain, hash_name):
        """Fire SCRAM material (salt, stored_key, server_key, iterations) or None."""


class IStanzaSink(Interface):
    """Anything stanzas can be delivered to: a stream, a pipe, a forwarder."""

    def send(element):
        """Deliver one stanza (a twisted.words.xish.domish.Element)."""


class IRouter(Interface):
    """Delivers stanzas to local sessions, components or remote servers."""

    def route(element):
        """Route one stanza by its 'to' address."""

    def add_route(domain, sink):
        """Send stanzas for ``domain`` to ``sink`` (an IStanzaSink)."""

    def remove_route(domain, sink):
        """Stop routing ``domain`` to ``sink``."""

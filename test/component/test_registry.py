"""Tests for mongoose.component.registry: the component table and its routes."""

from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from mongoose.component.registry import (
    ComponentConflict,
    ComponentRegistry,
    IComponentConnection,
)
from mongoose.component.stream import ComponentEnvironment, ComponentSettings, ComponentStream
from mongoose.hooks import HookRegistry
from mongoose.router.router import Router
from mongoose.router.sessions import SessionManager


@implementer(IComponentConnection)
class FakeConnection:
    """Records how it was closed."""

    def __init__(self, hidden=False):
        self.domains = ()
        self.hidden = hidden
        self.info = {}
        self.closed = None
        self.sent = []

    def send(self, stanza):
        self.sent.append(stanza)

    def close(self, condition, text=None):
        self.closed = (condition, text)


def make_registry():
    hooks = HookRegistry()
    router = Router(hooks, SessionManager(hooks), lambda domain: domain == "localhost")
    return router, ComponentRegistry(router, router.is_local)


class RegistryTests(SynchronousTestCase):
    """Registration, conflicts and routes."""

    def test_stream_provides_interface(self):
        """ComponentStream provides IComponentConnection."""
        stream = ComponentStream(
            ComponentEnvironment(None, None, lambda: (), None), ComponentSettings("pw")
        )
        self.assertTrue(verifyObject(IComponentConnection, stream))

    def test_register_routes_domains(self):
        """Registered domains route to the connection; unregister removes them."""
        router, registry = make_registry()
        conn = FakeConnection()
        self.assertEqual(registry.register(conn, ["a.test", "b.test"]), [])
        self.assertEqual(conn.domains, ("a.test", "b.test"))
        self.assertIs(router.routes["a.test"], conn)
        self.assertEqual(registry.domains(), ["a.test", "b.test"])
        self.assertEqual(registry.connections(), [conn])
        self.assertEqual(registry.unregister(conn), ["a.test", "b.test"])
        self.assertEqual(router.routes, {})
        self.assertEqual(len(registry), 0)

    def test_disconnect_refuses_newcomer(self):
        """With disconnect, a second connection for a taken domain is refused, nothing changes."""
        router, registry = make_registry()
        old, new = FakeConnection(), FakeConnection()
        registry.register(old, ["a.test"])
        with self.assertRaises(ComponentConflict) as caught:
            registry.register(new, ["b.test", "a.test"], "disconnect")
        self.assertEqual(caught.exception.domain, "a.test")
        self.assertIs(router.routes["a.test"], old)
        self.assertNotIn("b.test", router.routes)
        self.assertIsNone(old.closed)

    def test_kick_old(self):
        """With kick_old, the old connection gets conflict and loses all its domains."""
        router, registry = make_registry()
        old, new = FakeConnection(), FakeConnection()
        registry.register(old, ["a.test", "x.test"])
        self.assertEqual(registry.register(new, ["a.test"], "kick_old"), [old])
        self.assertEqual(old.closed[0], "conflict")
        self.assertIs(router.routes["a.test"], new)
        self.assertNotIn("x.test", router.routes)

    def test_local_domain_refused(self):
        """A domain of the node itself is never given to a component."""
        _, registry = make_registry()
        self.assertRaises(
            ComponentConflict, registry.register, FakeConnection(), ["localhost"], "kick_old"
        )

    def test_internal_service_domain_refused(self):
        """A domain routed to something else (an internal service) cannot be taken."""
        router, registry = make_registry()
        service = object()
        router.add_route("muc.localhost", service)
        self.assertRaises(
            ComponentConflict, registry.register, FakeConnection(), ["muc.localhost"], "kick_old"
        )
        self.assertIs(router.routes["muc.localhost"], service)

    def test_unknown_behaviour(self):
        """An unknown conflict_behaviour is a programming error."""
        _, registry = make_registry()
        self.assertRaises(ValueError, registry.register, FakeConnection(), ["a.test"], "merge")

"""Dynamic domains: the ``domain`` commands, REST ``/domains/{domain}`` and logins.

MongooseIM 6.5 REST ``Dynamic domains`` routes and GraphQL ``domain.gql``
names; a disabled domain refuses new c2s streams (host-unknown).
"""

from __future__ import annotations

import json
import os

import treq
from twisted.internet import reactor
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from mongoose.api.rest import AdminAPI
from mongoose.commands.caller import Caller
from mongoose.commands.errors import CommandError
from mongoose.config.loader import parse_config
from mongoose.extensions import ExtensionRegistry
from mongoose.node import Node
from test.c2s.support import HEADER, connect
from test.modules.nodes import RecordingSession
from test.support.processes import free_port

CONFIG = """
[general]
  hosts = ["localhost"]
  host_types = ["type1", "type2"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[[listen.c2s]]
  ip_address = "127.0.0.1"
  port = {port}

[auth.internal]
"""


class NodeAPITestCase(TestCase):
    """A node with host types, its admin REST API on a loopback port and a c2s listener."""

    #: The config file (``{data}`` and ``{port}`` are filled in).
    config_text = CONFIG

    async def start(self, data: str | None = None) -> Node:
        """Start (or restart on ``data``) the node and the API client."""
        self.data = data or os.path.abspath(self.mktemp())
        self.port = free_port()
        config = parse_config(self.config_text.format(data=self.data, port=self.port))
        node = Node(config, reactor=reactor, extensions=ExtensionRegistry())
        node.startService()
        await node.ready
        self.addCleanup(node.stopService)
        root = Resource()
        root.putChild(b"api", AdminAPI(node.commands).resource())
        listening = reactor.listenTCP(0, Site(root), interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        self.base = f"http://127.0.0.1:{listening.getHost().port}/api"
        self.node = node
        return node

    async def call(self, method: str, path: str, body=None):
        """Make an API request; return (status, decoded JSON or None)."""
        kwargs = {}
        if body is not None:
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers"] = {"Content-Type": ["application/json"]}
        response = await treq.request(method, self.base + path, persistent=False, **kwargs)
        content = await treq.content(response)
        return response.code, (json.loads(content) if content else None)



class DomainTests(NodeAPITestCase):
    """Dynamic domains through REST, commands and c2s."""

    async def test_rest_lifecycle(self):
        """Add, read, disable, enable and remove a domain with MongooseIM's statuses."""
        await self.start()
        self.assertEqual(await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"}),
                         (204, None))
        self.assertEqual(await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"}),
                         (204, None))
        status, data = await self.call("GET", "/domains/dyn.example")
        self.assertEqual((status, data), (200, {"host_type": "type1", "status": "enabled"}))
        self.assertEqual(await self.call("PATCH", "/domains/dyn.example", {"enabled": False}),
                         (204, None))
        self.assertEqual((await self.call("GET", "/domains/dyn.example"))[1]["status"],
                         "disabled")
        self.assertFalse(self.node.serves_domain("dyn.example"))
        self.assertEqual(await self.call("PATCH", "/domains/dyn.example", {"enabled": True}),
                         (204, None))
        self.assertTrue(self.node.serves_domain("dyn.example"))
        self.assertEqual(await self.call("DELETE", "/domains/dyn.example", {"host_type": "type1"}),
                         (204, None))
        status, data = await self.call("GET", "/domains/dyn.example")
        self.assertEqual((status, data["error"]), (404, "not_found"))
        self.assertFalse(self.node.serves_domain("dyn.example"))

    async def test_rest_errors(self):
        """Conflicts, unknown host types, static domains and bad bodies get their statuses."""
        await self.start()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        cases = [
            ("PUT", "/domains/dyn.example", {"host_type": "type2"}, 409, "conflict"),
            ("PUT", "/domains/other.example", {"host_type": "nope"}, 403, "not_allowed"),
            ("PUT", "/domains/localhost", {"host_type": "type1"}, 403, "not_allowed"),
            ("PATCH", "/domains/localhost", {"enabled": False}, 403, "not_allowed"),
            ("PATCH", "/domains/missing.example", {"enabled": False}, 404, "not_found"),
            ("PATCH", "/domains/dyn.example", {"enabled": "no"}, 400, "bad_request"),
            ("PUT", "/domains/dyn.example", {}, 400, "bad_request"),
            ("DELETE", "/domains/dyn.example", {"host_type": "type2"}, 403, "not_allowed"),
            ("PUT", "/domains/a@b", {"host_type": "type1"}, 400, "bad_request"),
        ]
        for method, path, body, status, code in cases:
            got_status, data = await self.call(method, path, body)
            self.assertEqual((got_status, data["error"]), (status, code), (method, path, body))
        status, data = await self.call("GET", "/domains/localhost")
        self.assertEqual((status, data), (200, {"host_type": "localhost", "status": "enabled"}))

    async def test_persisted_across_restart(self):
        """Domains and their enabled flag are read back from the store at start-up."""
        node = await self.start()
        await self.call("PUT", "/domains/a.example", {"host_type": "type1"})
        await self.call("PUT", "/domains/b.example", {"host_type": "type2"})
        await self.call("PATCH", "/domains/b.example", {"enabled": False})
        await node.stopService()
        node = await self.start(self.data)
        self.assertTrue(node.serves_domain("a.example"))
        self.assertFalse(node.serves_domain("b.example"))
        admin = Caller.admin()
        self.assertEqual(await node.commands.execute(
            admin, "domain", "domainsByHostType", {"hostType": "type1"}), ["a.example"])
        listed = await node.commands.execute(admin, "domain", "allDomains", {})
        self.assertEqual([(d["domain"], d["status"], d["type"]) for d in listed], [
            ("a.example", "ENABLED", "DYNAMIC"), ("b.example", "DISABLED", "DYNAMIC"),
            ("localhost", "ENABLED", "STATIC")])

    async def test_disabled_domain_refuses_logins(self):
        """A user of an enabled dynamic domain logs in; once disabled, the stream is refused."""
        node = await self.start()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        await node.auth.register("carol", "dyn.example", "secret")
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        await client.open("dyn.example")
        self.assertEqual((await client.auth_plain("carol", "secret")).name, "success")
        await self.call("PATCH", "/domains/dyn.example", {"enabled": False})
        refused = await connect(self.port)
        self.addCleanup(refused.transport.loseConnection)
        refused.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                     "xmlns:stream='http://etherx.jabber.org/streams' to='dyn.example' "
                     "version='1.0'>")
        error = await refused.closed_with()
        self.assertEqual(error.condition, "host-unknown")

    async def test_admin_password(self):
        """The domain admin password is stored hashed and checked; deleting it works once."""
        node = await self.start()
        admin = Caller.admin()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        await node.commands.execute(admin, "domain", "setDomainPassword",
                                    {"domain": "dyn.example", "password": "s3cret-pw"})
        stored = await node.stores.domains.get_admin_secret("dyn.example")
        self.assertNotIn("s3cret-pw", stored)
        self.assertTrue(await node.domains.check_password("dyn.example", "s3cret-pw"))
        self.assertFalse(await node.domains.check_password("dyn.example", "wrong"))
        await node.commands.execute(admin, "domain", "deleteDomainPassword",
                                    {"domain": "dyn.example"})
        self.assertFalse(await node.domains.check_password("dyn.example", "s3cret-pw"))
        with self.assertRaises(CommandError) as raised:
            await node.commands.execute(admin, "domain", "deleteDomainPassword",
                                        {"domain": "dyn.example"})
        self.assertEqual(raised.exception.code, "not_found")
        with self.assertRaises(CommandError) as raised:
            await node.commands.execute(admin, "domain", "setDomainPassword",
                                        {"domain": "missing.example", "password": "x"})
        self.assertEqual(raised.exception.code, "not_found")


LIFECYCLE_CONFIG = CONFIG + """
[modules.mod_disco]

[[host_config]]
  host_type = "type1"
  [host_config.modules.mod_disco]
  [host_config.modules.mod_roster]
  [host_config.modules.mod_presence]
  [host_config.modules.mod_offline]

[[host_config]]
  host_type = "type2"
  [host_config.modules.mod_disco]
"""

NS_ROSTER = "jabber:iq:roster"
NS_DISCO_INFO = "http://jabber.org/protocol/disco#info"


class DomainLifecycleTests(NodeAPITestCase):
    """A dynamic domain runs the modules of its host type while it is enabled."""

    config_text = LIFECYCLE_CONFIG

    async def login(self, user: str, domain: str, password: str = "secret"):
        """A c2s client that logged in as ``user@domain`` over TCP and bound a resource."""
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        await client.open(domain)
        answer = await client.auth_plain(user, password)
        self.assertEqual(answer.name, "success", answer.toXml())
        client.reset()
        await client.open(domain)
        await client.bind("res")
        return client

    async def iq(self, client, to: str, xmlns: str, ident: str):
        """Send an IQ get with an empty ``query`` of ``xmlns``; return the answer."""
        target = f" to='{to}'" if to else ""
        client.send(f"<iq type='get' id='{ident}'{target}><query xmlns='{xmlns}'/></iq>")
        while True:
            answer = await client.element()
            if answer.name == "iq" and answer.getAttribute("id") == ident:
                return answer

    async def register(self, user: str, domain: str) -> None:
        """Register an account through the ``registerUser`` command."""
        await self.node.commands.execute(Caller.admin(), "account", "registerUser",
                                         {"domain": domain, "username": user,
                                          "password": "secret"})

    async def test_added_domain_is_fully_served(self):
        """Roster, disco and offline messages work for a domain added at run time."""
        node = await self.start()
        self.assertEqual(await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"}),
                         (204, None))
        await self.register("carol", "dyn.example")
        await self.register("dave", "dyn.example")
        await node.commands.execute(Caller.admin(), "stanza", "sendMessage", {
            "from": "dave@dyn.example", "to": "carol@dyn.example", "body": "while away"})
        self.assertEqual(await node.stores.offline.count_messages("dyn.example", "carol"), 1)
        client = await self.login("carol", "dyn.example")
        roster = await self.iq(client, "", NS_ROSTER, "r1")
        self.assertEqual(roster["type"], "result", roster.toXml())
        info = await self.iq(client, "dyn.example", NS_DISCO_INFO, "d1")
        self.assertEqual(info["type"], "result", info.toXml())
        client.send("<presence/>")
        while True:
            stanza = await client.element()
            if stanza.name == "message":
                break
        self.assertEqual(str(stanza.body), "while away")

    async def test_modules_follow_the_host_type(self):
        """A type2 domain runs only type2's modules: no roster there."""
        await self.start()
        await self.call("PUT", "/domains/two.example", {"host_type": "type2"})
        await self.register("erin", "two.example")
        client = await self.login("erin", "two.example")
        info = await self.iq(client, "two.example", NS_DISCO_INFO, "d1")
        self.assertEqual(info["type"], "result")
        roster = await self.iq(client, "", NS_ROSTER, "r1")
        self.assertEqual(roster["type"], "error", roster.toXml())
        running = [n for n, h, _, _ in self.node.modules.running if h == "two.example"]
        self.assertEqual(running, ["mod_disco"])

    async def test_disable_closes_streams_and_enable_serves_again(self):
        """Disabling ends sessions with host-gone and stops the modules; enabling restarts them."""
        node = await self.start()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        await self.register("carol", "dyn.example")
        client = await self.login("carol", "dyn.example")
        running = sorted(n for n, h, _, _ in node.modules.running if h == "dyn.example")
        self.assertEqual(running, ["mod_disco", "mod_offline", "mod_presence", "mod_roster"])
        await self.call("PATCH", "/domains/dyn.example", {"enabled": False})
        error = await client.closed_with()
        self.assertEqual((error.condition, error.text), ("host-gone", "dyn.example has been disabled"))
        self.assertEqual([n for n, h, _, _ in node.modules.running if h == "dyn.example"], [])
        self.assertEqual(node.features.get("dyn.example", []), [])
        self.assertEqual(node.sessions.count("dyn.example"), 0)
        refused = await connect(self.port)
        self.addCleanup(refused.transport.loseConnection)
        refused.send(HEADER.format(to="dyn.example"))
        self.assertEqual((await refused.closed_with()).condition, "host-unknown")
        await self.call("PATCH", "/domains/dyn.example", {"enabled": True})
        client = await self.login("carol", "dyn.example")
        roster = await self.iq(client, "", NS_ROSTER, "r2")
        self.assertEqual(roster["type"], "result")

    async def test_remove_closes_streams_and_purges_data(self):
        """Removing ends sessions, stops modules and deletes the domain's users and data."""
        node = await self.start()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        await node.auth.register("keep", "localhost", "secret")
        await self.register("carol", "dyn.example")
        await self.register("dave", "dyn.example")
        await node.commands.execute(Caller.admin(), "stanza", "sendMessage", {
            "from": "carol@dyn.example", "to": "dave@dyn.example", "body": "hi"})
        client = await self.login("carol", "dyn.example")
        client.send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'>"
                    "<item jid='dave@dyn.example'/></query></iq>")
        while (await client.element()).getAttribute("id") != "r1":
            pass
        self.assertEqual(len(await node.stores.roster.get_items("dyn.example", "carol")), 1)
        self.assertEqual(await self.call("DELETE", "/domains/dyn.example",
                                         {"host_type": "type1"}), (204, None))
        error = await client.closed_with()
        self.assertEqual((error.condition, error.text), ("host-gone", "dyn.example has been removed"))
        self.assertEqual(await node.auth.user_exists("carol", "dyn.example"), False)
        self.assertEqual(await node.stores.auth.count_users("dyn.example"), 0)
        self.assertEqual(await node.stores.roster.get_items("dyn.example", "carol"), [])
        self.assertEqual(await node.stores.offline.count_messages("dyn.example", "dave"), 0)
        self.assertTrue(await node.auth.user_exists("keep", "localhost"))
        self.assertEqual([n for n, h, _, _ in node.modules.running if h == "dyn.example"], [])
        # Added again, the domain starts empty and is served.
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        self.assertEqual(await node.stores.auth.count_users("dyn.example"), 0)
        await self.register("carol", "dyn.example")
        await self.login("carol", "dyn.example")

    async def test_persisted_domains_start_their_modules(self):
        """After a restart, enabled dynamic domains run their modules, disabled ones do not."""
        node = await self.start()
        await self.call("PUT", "/domains/a.example", {"host_type": "type1"})
        await self.call("PUT", "/domains/b.example", {"host_type": "type1"})
        await self.call("PATCH", "/domains/b.example", {"enabled": False})
        await node.stopService()
        node = await self.start(self.data)
        hosts = {h for _, h, _, _ in node.modules.running}
        self.assertIn("a.example", hosts)
        self.assertNotIn("b.example", hosts)
        await self.register("carol", "a.example")
        client = await self.login("carol", "a.example")
        self.assertEqual((await self.iq(client, "", NS_ROSTER, "r1"))["type"], "result")


class SessionsRouteTests(NodeAPITestCase):
    """``GET /sessions/{XMPPHost}`` of MongooseIM 6.5 through the generated route."""

    async def test_sessions_are_full_jids(self):
        """The route lists the domain's sessions as full JID strings."""
        node = await self.start()
        node.sessions.bind(RecordingSession(), "alice", "localhost", "phone")
        self.assertEqual(await self.call("GET", "/sessions/localhost"),
                         (200, ["alice@localhost/phone"]))
        status, data = await self.call("GET", "/sessions/a%20b")
        self.assertEqual((status, data["error"]), (400, "bad_request"))


HOST_TYPE_CONFIG = """
[general]
  hosts = ["localhost"]
  host_types = ["type1", "type2"]
  default_server_domain = "localhost"
  data_dir = "{data}"

[[listen.c2s]]
  ip_address = "127.0.0.1"
  port = {port}
  access = "c2s"

[auth]
  sasl_mechanisms = ["plain", "scram_sha256"]
  [auth.internal]

[access]
  c2s = [{{acl = "all", value = "allow"}}]

[[host_config]]
  host_type = "type1"
  [host_config.auth]
    sasl_mechanisms = ["scram_sha256"]
    password.format = "plain"
    [host_config.auth.internal]
  [host_config.acl]
    blocked = [{{user = "mallory"}}]
  [host_config.access]
    c2s = [{{acl = "blocked", value = "deny"}}]

[[host_config]]
  host = "localhost"
  [host_config.acl]
    blocked = [{{user = "trudy"}}]
  [host_config.access]
    c2s = [{{acl = "blocked", value = "deny"}}]
"""

NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


class HostTypeSettingsTests(NodeAPITestCase):
    """A dynamic domain takes auth, ACL and access settings from its host type's host_config."""

    config_text = HOST_TYPE_CONFIG

    async def mechanisms(self, domain: str) -> list[str]:
        """The SASL mechanisms offered on a new c2s stream to ``domain``."""
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        _, features = await client.open(domain)
        for child in features.elements():
            if child.name == "mechanisms" and child.uri == NS_SASL:
                return [str(m) for m in child.elements() if m.name == "mechanism"]
        return []

    async def login(self, user: str, domain: str):
        """Authenticate ``user@domain`` with SCRAM-SHA-256; return (answer, client)."""
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        await client.open(domain)
        return await client.scram("SCRAM-SHA-256", user, "secret"), client

    async def register_all(self, *domains: str) -> None:
        """Register mallory and trudy (password ``secret``) on each domain."""
        for domain in domains:
            for user in ("mallory", "trudy"):
                await self.node.auth.register(user, domain, "secret")

    async def test_sasl_mechanisms_follow_the_host_type(self):
        """type1's sasl_mechanisms apply to its dynamic domain, not to localhost or type2."""
        await self.start()
        await self.call("PUT", "/domains/one.example", {"host_type": "type1"})
        await self.call("PUT", "/domains/two.example", {"host_type": "type2"})
        self.assertEqual(await self.mechanisms("one.example"), ["SCRAM-SHA-256"])
        self.assertEqual(await self.mechanisms("two.example"), ["PLAIN", "SCRAM-SHA-256"])
        self.assertEqual(await self.mechanisms("localhost"), ["PLAIN", "SCRAM-SHA-256"])
        await self.register_all("one.example")
        client = await connect(self.port)
        self.addCleanup(client.transport.loseConnection)
        await client.open("one.example")
        refused = await client.auth_plain("trudy", "secret")
        self.assertEqual(refused.name, "failure", refused.toXml())
        self.assertEqual(refused.firstChildElement().name, "invalid-mechanism")
        answer, _ = await self.login("trudy", "one.example")
        self.assertEqual(answer.name, "success", answer.toXml())

    async def test_access_rules_follow_the_host_type(self):
        """type1 denies mallory on its domains; localhost's own entry denies trudy only there."""
        await self.start()
        await self.call("PUT", "/domains/one.example", {"host_type": "type1"})
        await self.call("PUT", "/domains/two.example", {"host_type": "type2"})
        await self.register_all("localhost", "one.example", "two.example")
        answer, client = await self.login("mallory", "one.example")
        self.assertEqual(answer.name, "failure", answer.toXml())
        self.assertEqual(answer.firstChildElement().name, "not-authorized")
        self.assertEqual((await client.closed_with()).condition, "not-authorized")
        for user, domain in (("trudy", "one.example"), ("mallory", "localhost"),
                             ("mallory", "two.example"), ("trudy", "two.example")):
            answer, _ = await self.login(user, domain)
            self.assertEqual(answer.name, "success", f"{user}@{domain}: {answer.toXml()}")
        answer, client = await self.login("trudy", "localhost")
        self.assertEqual(answer.name, "failure", answer.toXml())

    async def test_domain_added_again_with_another_host_type(self):
        """Removed and added back as type2, the domain gets type2's (top-level) settings."""
        await self.start()
        await self.call("PUT", "/domains/one.example", {"host_type": "type1"})
        self.assertEqual(await self.mechanisms("one.example"), ["SCRAM-SHA-256"])
        await self.register_all("one.example")
        answer, _ = await self.login("mallory", "one.example")
        self.assertEqual(answer.name, "failure")
        self.assertEqual(await self.call("DELETE", "/domains/one.example",
                                         {"host_type": "type1"}), (204, None))
        await self.call("PUT", "/domains/one.example", {"host_type": "type2"})
        self.assertEqual(await self.mechanisms("one.example"), ["PLAIN", "SCRAM-SHA-256"])
        await self.register_all("one.example")
        answer, _ = await self.login("mallory", "one.example")
        self.assertEqual(answer.name, "success", answer.toXml())

    async def test_password_format_follows_the_host_type(self):
        """Accounts of a type1 domain are stored in type1's format (plain), localhost's as SCRAM."""
        await self.start()
        await self.call("PUT", "/domains/one.example", {"host_type": "type1"})
        for domain in ("one.example", "localhost"):
            status, _ = await self.call("POST", f"/users/{domain}",
                                        {"username": "trudy", "password": "secret"})
            self.assertEqual(status, 201)
        dynamic = await self.node.stores.auth.get_secret("one.example", "trudy")
        static = await self.node.stores.auth.get_secret("localhost", "trudy")
        self.assertEqual((dynamic.plain, dynamic.scram), ("secret", {}))
        self.assertIsNone(static.plain)
        self.assertIn("sha256", static.scram)
        answer, _ = await self.login("trudy", "one.example")
        self.assertEqual(answer.name, "success", answer.toXml())

    async def test_settings_after_restart(self):
        """A persisted dynamic domain still takes its host type's settings after a restart."""
        node = await self.start()
        await self.call("PUT", "/domains/one.example", {"host_type": "type1"})
        await node.stopService()
        await self.start(self.data)
        self.assertEqual(await self.mechanisms("one.example"), ["SCRAM-SHA-256"])


ADMIN_EXTRA_CONFIG = CONFIG + """
[modules.mod_roster]

[services.service_admin_extra]
  submods = ["roster"]
"""


class AdminExtraDynamicDomainTests(NodeAPITestCase):
    """The legacy roster commands that walk every domain include enabled dynamic ones."""

    config_text = ADMIN_EXTRA_CONFIG

    async def legacy(self, command: str, expect: int = 200, **args):
        """Run a legacy roster command over REST (as mongooseimctl does); return the body."""
        status, body = await self.call("POST", f"/commands/roster/{command}?source=cli", args)
        self.assertEqual(status, expect, body)
        return body

    async def test_process_rosteritems_sees_dynamic_domains(self):
        """Roster items of users of an enabled dynamic domain are listed; a disabled one's not."""
        node = await self.start()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        await self.call("PUT", "/domains/off.example", {"host_type": "type1"})
        admin = Caller.admin()
        for user, domain in (("alice", "localhost"), ("carol", "dyn.example"),
                             ("erin", "off.example")):
            await node.auth.register(user, domain, "secret")
        await node.commands.execute(admin, "roster", "addContact", {
            "user": "carol@dyn.example", "contact": "alice@localhost"})
        await node.commands.execute(admin, "roster", "addContact", {
            "user": "alice@localhost", "contact": "carol@dyn.example"})
        await node.commands.execute(admin, "roster", "addContact", {
            "user": "erin@off.example", "contact": "alice@localhost"})
        await self.call("PATCH", "/domains/off.example", {"enabled": False})
        listed = await self.legacy("process_rosteritems", action="list", subs="any",
                                   asks="any", users="any", contacts="any")
        self.assertEqual(listed, ["alice@localhost carol@dyn.example",
                                  "carol@dyn.example alice@localhost"])
        deleted = await self.legacy("process_rosteritems", action="delete", subs="any",
                                    asks="any", users="*@dyn.example", contacts="any")
        self.assertEqual(deleted, ["carol@dyn.example alice@localhost"])
        self.assertEqual(await node.stores.roster.get_items("dyn.example", "carol"), [])

    async def test_push_roster_alltoall_on_a_dynamic_domain(self):
        """Every user of a dynamic domain gets the others in the group; unknown domains fail."""
        node = await self.start()
        await self.call("PUT", "/domains/dyn.example", {"host_type": "type1"})
        for user in ("carol", "dave"):
            await node.auth.register(user, "dyn.example", "secret")
        await node.auth.register("alice", "localhost", "secret")
        await self.legacy("push_roster_alltoall", host="dyn.example", group="Team")
        items = await node.commands.execute(Caller.admin(), "roster", "listContacts",
                                            {"user": "carol@dyn.example"})
        self.assertEqual([(i["jid"], i["subscription"], i["groups"]) for i in items],
                         [("dave@dyn.example", "both", ["Team"])])
        body = await self.legacy("push_roster_alltoall", expect=404, host="nowhere.example",
                                 group="Team")
        self.assertEqual(body, {"error": "not_found",
                                "message": "domain nowhere.example is not served here"})

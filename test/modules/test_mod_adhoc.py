"""mod_adhoc through the real router: XEP-0050 commands generated from the registry."""

from twisted.trial.unittest import TestCase

from mongoose.commands.registry import Arg, Command
from mongoose.commands.types import STRING
from test.modules.nodes import login, start_node, xml

NS = "http://jabber.org/protocol/commands"
ADD_USER = "http://jabber.org/protocol/admin#add-user"
ONLINE = "http://jabber.org/protocol/admin#get-online-users-list"

CONFIG = """
[acl]
  admin = [{user = "admin", server = "localhost"}]
[access]
  admin = [{acl = "admin", value = "allow"}]
[modules.mod_disco]
[modules.mod_adhoc]
"""


async def _ask(node, session, jid: str, payload: str, kind: str = "set"):
    await node.router.route(xml(
        f"<iq type='{kind}' id='q' from='{jid}/res' to='localhost'>{payload}</iq>"
    ))
    return session.received[-1]


def _command(reply):
    return next(c for c in reply.elements() if c.name == "command")


def _fields(form) -> dict:
    return {
        f["var"]: [str(v) for v in f.elements() if v.name == "value"]
        for f in form.elements() if f.name == "field"
    }


def _form(element):
    return next(c for c in element.elements() if c.name == "x")


class AdhocTests(TestCase):
    """Listing, executing and refusing ad-hoc commands."""

    async def setUp(self):
        """A node with mod_disco and mod_adhoc, an admin and a plain user online."""
        self.node = await start_node(self, CONFIG)
        self.admin = await login(self.node, "admin")
        self.alice = await login(self.node, "alice")

    async def _items(self, session, jid):
        reply = await _ask(self.node, session, jid,
                           f"<query xmlns='http://jabber.org/protocol/disco#items' node='{NS}'/>",
                           kind="get")
        return {i["node"]: i.getAttribute("name") for i in next(reply.elements()).elements()}

    async def test_admin_lists_xep0133_and_registry_nodes(self):
        """The admin sees add-user, category/name nodes and the ping command."""
        items = await self._items(self.admin, "admin@localhost")
        self.assertIn(ADD_USER, items)
        self.assertIn("account/checkUser", items)
        self.assertIn("ping", items)

    async def test_user_lists_only_user_commands(self):
        """A plain user sees user commands (changePassword) but no admin command."""
        items = await self._items(self.alice, "alice@localhost")
        self.assertIn("account/changePassword", items)
        self.assertNotIn(ADD_USER, items)

    async def test_command_node_disco_info(self):
        """disco#info of a command node names it with the command-node identity."""
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<query xmlns='http://jabber.org/protocol/disco#info' "
                           f"node='{ADD_USER}'/>", kind="get")
        text = reply.toXml()
        self.assertIn("command-node", text)
        self.assertIn("jabber:x:data", text)

    async def test_add_user_two_steps(self):
        """execute returns a form; submitting it registers the user."""
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='{ADD_USER}' action='execute'/>")
        command = _command(reply)
        self.assertEqual(command["status"], "executing")
        form = _form(command)
        types = {f["var"]: f["type"] for f in form.elements() if f.name == "field"}
        self.assertEqual(types["password"], "text-private")
        self.assertIn("domain", types)
        sid = command["sessionid"]
        reply = await _ask(
            self.node, self.admin, "admin@localhost",
            f"<command xmlns='{NS}' node='{ADD_USER}' sessionid='{sid}' action='complete'>"
            "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='domain'><value>localhost</value></field>"
            "<field var='username'><value>carol</value></field>"
            "<field var='password'><value>pw1</value></field></x></command>")
        command = _command(reply)
        self.assertEqual(command["status"], "completed")
        self.assertTrue(await self.node.auth.check_password("carol", "localhost", "pw1"))
        self.assertIn("carol@localhost", _fields(_form(command))["jid"])

    async def test_validation_error_is_a_note(self):
        """A bad argument completes with an error note naming the argument."""
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='{ADD_USER}'/>")
        sid = _command(reply)["sessionid"]
        reply = await _ask(
            self.node, self.admin, "admin@localhost",
            f"<command xmlns='{NS}' node='{ADD_USER}' sessionid='{sid}'>"
            "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='domain'><value>a b</value></field>"
            "<field var='password'><value>x</value></field></x></command>")
        note = next(e for e in _command(reply).elements() if e.name == "note")
        self.assertEqual(note["type"], "error")
        self.assertIn("domain", str(note))

    async def test_non_admin_refused(self):
        """A plain user executing add-user gets forbidden."""
        reply = await _ask(self.node, self.alice, "alice@localhost",
                           f"<command xmlns='{NS}' node='{ADD_USER}'/>")
        self.assertEqual(reply["type"], "error")
        self.assertIn("forbidden", reply.toXml())

    async def test_unknown_node(self):
        """An unknown node is item-not-found."""
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='nope'/>")
        self.assertIn("item-not-found", reply.toXml())

    async def test_cancel_and_bad_actions(self):
        """cancel ends a session; prev is a bad action; a cancelled session is gone."""
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='{ADD_USER}'/>")
        sid = _command(reply)["sessionid"]
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='{ADD_USER}' sessionid='{sid}' "
                           "action='prev'/>")
        self.assertIn("bad-request", reply.toXml())
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='{ADD_USER}' sessionid='{sid}' "
                           "action='cancel'/>")
        self.assertEqual(_command(reply)["status"], "canceled")
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='{ADD_USER}' sessionid='{sid}' "
                           "action='complete'/>")
        self.assertIn("bad-request", reply.toXml())

    async def test_ping_command(self):
        """The built-in ping command completes at once with a Pong note."""
        reply = await _ask(self.node, self.alice, "alice@localhost",
                           f"<command xmlns='{NS}' node='ping' action='execute'/>")
        command = _command(reply)
        self.assertEqual(command["status"], "completed")
        self.assertIn("Pong", command.toXml())

    async def test_user_command_acts_on_self(self):
        """A user's changePassword form has no user field and changes their own password."""
        node = "account/changePassword"
        reply = await _ask(self.node, self.alice, "alice@localhost",
                           f"<command xmlns='{NS}' node='{node}'/>")
        command = _command(reply)
        self.assertNotIn("user", _fields(_form(command)))
        reply = await _ask(
            self.node, self.alice, "alice@localhost",
            f"<command xmlns='{NS}' node='{node}' sessionid='{command['sessionid']}'>"
            "<x xmlns='jabber:x:data' type='submit'>"
            "<field var='newPassword'><value>new-pw</value></field></x></command>")
        self.assertEqual(_command(reply)["status"], "completed")
        self.assertTrue(await self.node.auth.check_password("alice", "localhost", "new-pw"))

    async def test_list_result_table(self):
        """A list-of-records result is a reported/item table."""
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='{ONLINE}'/>")
        sid = _command(reply)["sessionid"]
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='{ONLINE}' "
                           f"sessionid='{sid}'><x xmlns='jabber:x:data' type='submit'/>"
                           "</command>")
        form = _form(_command(reply))
        names = [e.name for e in form.elements()]
        self.assertIn("reported", names)
        self.assertEqual(names.count("item"), 2)

    async def test_new_registry_command_appears(self):
        """A command added to the registry becomes an ad-hoc node with no other code."""

        async def shout(text):
            return text.upper()

        self.node.commands.register(Command(
            category="demo", name="shout", description="Shout", action="read",
            security_policy="admin", handler=shout,
            args=(Arg("text", STRING, "What to shout"),), result=STRING,
        ))
        self.assertIn("demo/shout", await self._items(self.admin, "admin@localhost"))
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='demo/shout'/>")
        sid = _command(reply)["sessionid"]
        reply = await _ask(self.node, self.admin, "admin@localhost",
                           f"<command xmlns='{NS}' node='demo/shout' sessionid='{sid}'>"
                           "<x xmlns='jabber:x:data' type='submit'>"
                           "<field var='text'><value>hi</value></field></x></command>")
        self.assertEqual(_fields(_form(_command(reply)))["result"], ["HI"])

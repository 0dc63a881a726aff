"""Multi-stage ad-hoc commands (XEP-0050 sessions) over a real c2s connection.

A client logged in over TCP runs XEP-0133 delete-user (two stages) and a
three-stage command another module offers through ``adhoc_local_commands``;
sessions move with next/prev/complete/cancel, expire and are bounded per user.
"""

from __future__ import annotations

from twisted.internet import reactor, task
from twisted.trial.unittest import TestCase

from mongoose.modules.adhoc import AdhocFlow, AdhocInputError, FormField, SessionTable, Stage
from mongoose.modules.adhoc.flow import first
from mongoose.xmpp.errors import StanzaError
from test.c2s.support import logged_in, start_node

NS = "http://jabber.org/protocol/commands"
DELETE = "http://jabber.org/protocol/admin#delete-user"

MODULES = """
[acl]
  admin = [{{user = "alice", server = "localhost"}}]
[access]
  admin = [{{acl = "admin", value = "allow"}}]
[modules.mod_disco]
[modules.mod_adhoc]
  session_timeout = {timeout}
  max_sessions_per_user = {bound}
"""


def _fields(form) -> dict:
    return {f["var"]: [str(v) for v in f.elements() if v.name == "value"]
            for f in form.elements() if f.name == "field" and f.getAttribute("var")}


def _child(element, name):
    return next((c for c in element.elements() if c.name == name), None)


def _submit(**values) -> str:
    fields = "".join(
        f"<field var='{var}'>" + "".join(f"<value>{v}</value>" for v in
                                        (vals if isinstance(vals, list) else [vals]))
        + "</field>" for var, vals in values.items())
    return f"<x xmlns='jabber:x:data' type='submit'>{fields}</x>"


class Flow:
    """One command session driven by a connected client."""

    def __init__(self, client, node: str):
        self.client = client
        self.node = node
        self.sessionid: str | None = None
        self._ids = 0

    async def send(self, action: str | None = None, form: str = "",
                   sessionid: str | None = None):
        """Send a command IQ; return the IQ answer (result or error)."""
        self._ids += 1
        ident = f"c{self._ids}"
        attrs = f" node='{self.node}'"
        sid = sessionid or self.sessionid
        if sid:
            attrs += f" sessionid='{sid}'"
        if action:
            attrs += f" action='{action}'"
        self.client.send(f"<iq type='set' id='{ident}' to='localhost'>"
                         f"<command xmlns='{NS}'{attrs}>{form}</command></iq>")
        while True:
            answer = await self.client.element()
            if answer.name == "iq" and answer.getAttribute("id") == ident:
                return answer

    async def step(self, action: str | None = None, form: str = ""):
        """Send and expect a result; return its ``<command/>`` (remembering the session)."""
        answer = await self.send(action, form)
        if answer["type"] != "result":
            raise AssertionError(answer.toXml())
        command = _child(answer, "command")
        self.sessionid = command["sessionid"]
        return command


def _error(answer) -> tuple[str, str | None]:
    """(defined condition, XEP-0050 condition) of an IQ error."""
    error = _child(answer, "error")
    names = [(c.uri, c.name) for c in error.elements()]
    condition = next(n for u, n in names if u == "urn:ietf:params:xml:ns:xmpp-stanzas"
                     and n != "text")
    app = next((n for u, n in names if u == NS), None)
    return condition, app


def _actions(command) -> tuple[str, list[str]]:
    actions = _child(command, "actions")
    return actions["execute"], [c.name for c in actions.elements()]


def _note(command) -> tuple[str, str] | None:
    note = _child(command, "note")
    return None if note is None else (note["type"], str(note))


class AdhocFlowTests(TestCase):
    """Two- and three-stage commands run by a client over TCP."""

    async def start(self, timeout: int = 600, bound: int = 10):
        """Start the node; alice (admin) logs in over a socket."""
        self.node = await start_node(
            self, extra=MODULES.format(timeout=timeout, bound=bound),
            users=(("alice", "secret"), ("bob", "secret"), ("carol", "secret")))
        self.alice, _ = await logged_in(self, self.node.c2s_port, "alice")

    async def test_delete_user_two_stages_with_prev(self):
        """accounts -> confirm, prev shows the entered accounts, complete deletes them."""
        await self.start()
        flow = Flow(self.alice, DELETE)
        command = await flow.step("execute")
        self.assertEqual(command["status"], "executing")
        self.assertEqual(_actions(command), ("next", ["next"]))
        self.assertEqual(_fields(_child(command, "x")), {"accountjids": []})
        command = await flow.step("next", _submit(accountjids=["bob@localhost",
                                                               "nobody@localhost"]))
        self.assertEqual(_note(command), ("error", "no such account: nobody@localhost"))
        self.assertEqual(_fields(_child(command, "x"))["accountjids"],
                         ["bob@localhost", "nobody@localhost"])
        command = await flow.step("next", _submit(accountjids=["bob@localhost"]))
        self.assertEqual(_actions(command), ("complete", ["prev", "complete"]))
        fields = _fields(_child(command, "x"))
        self.assertIn("bob@localhost", fields["accounts"][0])
        self.assertEqual(fields["confirm"], ["0"])
        command = await flow.step("prev")
        self.assertEqual(_actions(command), ("next", ["next"]))
        self.assertEqual(_fields(_child(command, "x"))["accountjids"], ["bob@localhost"])
        command = await flow.step("execute", _submit(accountjids=["bob@localhost",
                                                                  "carol@localhost"]))
        self.assertIn("carol@localhost", _fields(_child(command, "x"))["accounts"][0])
        command = await flow.step("complete", _submit(confirm="0"))
        self.assertEqual(command["status"], "executing")
        self.assertEqual(_note(command)[0], "error")
        self.assertTrue(await self.node.auth.user_exists("bob", "localhost"))
        command = await flow.step("complete", _submit(confirm="1"))
        self.assertEqual(command["status"], "completed")
        self.assertEqual(_note(command),
                         ("info", "Deleted 2 account(s): bob@localhost, carol@localhost."))
        self.assertFalse(await self.node.auth.user_exists("bob", "localhost"))
        self.assertFalse(await self.node.auth.user_exists("carol", "localhost"))
        answer = await flow.send("complete", _submit(confirm="1"))
        self.assertEqual(_error(answer), ("bad-request", "bad-sessionid"))

    async def test_cancel_and_wrong_actions(self):
        """cancel answers canceled; next on the last stage, complete early and junk are refused."""
        await self.start()
        flow = Flow(self.alice, DELETE)
        await flow.step()
        answer = await flow.send("complete", _submit(accountjids="bob@localhost"))
        self.assertEqual(_error(answer), ("bad-request", "bad-action"))
        answer = await flow.send("prev")
        self.assertEqual(_error(answer), ("bad-request", "bad-action"))
        answer = await flow.send("jump")
        self.assertEqual(_error(answer), ("bad-request", "malformed-action"))
        await flow.step("next", _submit(accountjids="bob@localhost"))
        answer = await flow.send("next", _submit(confirm="1"))
        self.assertEqual(_error(answer), ("bad-request", "bad-action"))
        command = await flow.step("cancel")
        self.assertEqual(command["status"], "canceled")
        answer = await flow.send("complete", _submit(confirm="1"))
        self.assertEqual(_error(answer), ("bad-request", "bad-sessionid"))
        self.assertTrue(await self.node.auth.user_exists("bob", "localhost"))

    async def test_session_belongs_to_its_owner(self):
        """Another user's client cannot continue a session (bad-sessionid)."""
        await self.start()
        flow = Flow(self.alice, "account/changePassword")
        await flow.step()
        bob, _ = await logged_in(self, self.node.c2s_port, "bob")
        answer = await Flow(bob, "account/changePassword").send(
            "complete", _submit(newPassword="x"), sessionid=flow.sessionid)
        self.assertEqual(_error(answer), ("bad-request", "bad-sessionid"))

    async def test_session_expires(self):
        """A session unused for session_timeout seconds answers session-expired."""
        await self.start(timeout=1)
        flow = Flow(self.alice, DELETE)
        await flow.step()
        await task.deferLater(reactor, 1.3, lambda: None)
        answer = await flow.send("next", _submit(accountjids="bob@localhost"))
        self.assertEqual(_error(answer), ("not-allowed", "session-expired"))

    async def test_sessions_bounded_per_user(self):
        """A third session with max_sessions_per_user = 2 ends the least recently used one."""
        await self.start(bound=2)
        flows = [Flow(self.alice, DELETE) for _ in range(3)]
        for flow in flows:
            await flow.step()
        answer = await flows[0].send("next", _submit(accountjids="bob@localhost"))
        self.assertEqual(_error(answer), ("bad-request", "bad-sessionid"))
        for flow in flows[1:]:
            command = await flow.step("next", _submit(accountjids="bob@localhost"))
            self.assertIsNone(_note(command))

    async def test_module_flow_through_the_hook(self):
        """A three-stage flow offered by another module: built forms, prev keeps later values."""
        await self.start()
        seen = []

        def pick_fields(values, _jid):
            color = first(values, "color")
            return [FormField("shade", "list-single", f"Shade of {color}", required=True,
                              options=(f"light {color}", f"dark {color}"))]

        def no_black(values, _jid):
            if first(values, "color") == "black":
                raise AdhocInputError("black has no shades", "color")

        def finish(jid, values):
            seen.append(dict(values))
            return f"{jid.user} picked {first(values, 'shade')} x{first(values, 'count')}"

        paint = AdhocFlow("paint", "Paint", (
            Stage("Colour", [FormField("color", "list-single", "Colour", required=True,
                                       options=("red", "black"))], validate=no_black),
            Stage("Shade", pick_fields),
            Stage("Count", [FormField("count", values=("1",))]),
        ), finish=finish)
        self.node.hooks.add("adhoc_local_commands", lambda acc, f, t: [*acc, paint],
                            host="localhost")
        flow = Flow(self.alice, "paint")
        await flow.step()
        command = await flow.step("next", _submit(color="black"))
        self.assertEqual(_note(command), ("error", "black has no shades"))
        command = await flow.step("next", _submit(color="red"))
        shade = next(f for f in _child(command, "x").elements() if f.name == "field")
        self.assertEqual(shade["label"], "Shade of red")
        command = await flow.step("next", _submit())
        self.assertEqual(_note(command), ("error", "Shade of red is required"))
        command = await flow.step("next", _submit(shade="dark red"))
        self.assertEqual(_fields(_child(command, "x")), {"count": ["1"]})
        command = await flow.step("prev", _submit(count="3"))
        self.assertEqual(_fields(_child(command, "x"))["shade"], ["dark red"])
        command = await flow.step("next", _submit(shade="light red"))
        self.assertEqual(_fields(_child(command, "x")), {"count": ["3"]})
        command = await flow.step("complete", _submit(count="3"))
        self.assertEqual(_note(command), ("info", "alice picked light red x3"))
        self.assertEqual(seen, [{"color": ["red"], "shade": ["light red"], "count": ["3"]}])


class SessionTableTests(TestCase):
    """The session table alone, on a fake clock."""

    def test_expiry_counts_from_last_use(self):
        """Using a session keeps it alive; idling past the timeout expires it."""
        clock = task.Clock()
        table = SessionTable(clock, timeout=10, max_per_user=5)
        session = table.open("a@x/r", "a@x", "n")
        clock.advance(8)
        table.get(session.sessionid, "a@x/r", "n")
        clock.advance(8)
        table.get(session.sessionid, "a@x/r", "n")
        clock.advance(11)
        with self.assertRaises(StanzaError) as raised:
            table.get(session.sessionid, "a@x/r", "n")
        self.assertEqual(raised.exception.condition, "not-allowed")
        self.assertEqual(len(table), 0)

    def test_bound_is_per_user(self):
        """The bound ends the user's least recently used session, not other users' ones."""
        clock = task.Clock()
        table = SessionTable(clock, timeout=100, max_per_user=2)
        first_a = table.open("a@x/r", "a@x", "n")
        clock.advance(1)
        second_a = table.open("a@x/r2", "a@x", "n")
        other = table.open("b@x/r", "b@x", "n")
        clock.advance(1)
        table.get(first_a.sessionid, "a@x/r", "n")
        table.open("a@x/r", "a@x", "n")
        self.assertEqual(len(table), 3)
        with self.assertRaises(StanzaError):
            table.get(second_a.sessionid, "a@x/r2", "n")
        table.get(first_a.sessionid, "a@x/r", "n")
        table.get(other.sessionid, "b@x/r", "n")
        clock.advance(101)
        table.sweep()
        self.assertEqual(len(table), 0)

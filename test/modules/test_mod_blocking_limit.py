"""mod_blocking's ``max_blocked`` bound over a real c2s connection."""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from mongoose.modules.privacy.items import NS_BLOCKING
from test.c2s.support import logged_in, start_node

MODULES = """
[modules.mod_presence]
[modules.mod_roster]
[modules.mod_privacy]
[modules.mod_blocking]
  max_blocked = 3
"""


class BlockingLimitTests(TestCase):
    """A user's blocklist cannot grow past ``max_blocked``."""

    async def ask(self, client, kind: str, payload: str, ident: str):
        """Send an IQ; return the answer with the same id."""
        client.send(f"<iq type='{kind}' id='{ident}'>{payload}</iq>")
        while True:
            answer = await client.element()
            if answer.name == "iq" and answer.getAttribute("id") == ident:
                return answer

    def block(self, *jids: str) -> str:
        """A <block/> payload."""
        items = "".join(f"<item jid='{j}'/>" for j in jids)
        return f"<block xmlns='{NS_BLOCKING}'>{items}</block>"

    async def test_block_past_the_limit_is_refused_whole(self):
        """Blocking a 4th JID is policy-violation with a text; the list is unchanged."""
        node = await start_node(self, extra=MODULES)
        client, _ = await logged_in(self, node.c2s_port, "alice")
        answer = await self.ask(client, "set", self.block("a@x.example", "b@x.example"), "b1")
        self.assertEqual(answer["type"], "result")
        answer = await self.ask(client, "set", self.block("b@x.example", "c@x.example",
                                                          "d@x.example"), "b2")
        self.assertEqual(answer["type"], "error")
        error = next(e for e in answer.elements() if e.name == "error")
        self.assertEqual(error["type"], "modify")
        names = {c.name: str(c) for c in error.elements()}
        self.assertIn("policy-violation", names)
        self.assertIn("at most 3", names["text"])
        answer = await self.ask(client, "set", self.block("a@x.example", "c@x.example"), "b3")
        self.assertEqual(answer["type"], "result")
        answer = await self.ask(client, "get", f"<blocklist xmlns='{NS_BLOCKING}'/>", "g")
        listed = [i["jid"] for i in next(answer.elements()).elements() if i.name == "item"]
        self.assertEqual(sorted(listed), ["a@x.example", "b@x.example", "c@x.example"])

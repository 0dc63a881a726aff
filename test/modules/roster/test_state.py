"""The subscription state machine against the tables of RFC 6121 Appendix A."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from mongoose.modules.roster.state import inbound, outbound, prune, visible
from mongoose.storage.interfaces import RosterItem

C = "contact@example.com"

#: Appendix A state names -> (subscription, pending_out, pending_in).
STATES = {
    "None": ("none", False, False),
    "None+PO": ("none", True, False),
    "None+PI": ("none", False, True),
    "None+PO+PI": ("none", True, True),
    "To": ("to", False, False),
    "To+PI": ("to", False, True),
    "From": ("from", False, False),
    "From+PO": ("from", True, False),
    "Both": ("both", False, False),
}


def item(name: str) -> RosterItem:
    """A listed item in the named state."""
    subscription, pending_out, pending_in = STATES[name]
    return RosterItem(C, subscription=subscription, pending_out=pending_out,
                      pending_in=pending_in)


def name_of(result: RosterItem | None) -> str:
    """The Appendix A name of an item's state."""
    if result is None:
        return "gone"
    key = (result.subscription, result.pending_out, result.pending_in)
    return next(n for n, v in STATES.items() if v == key)


#: Appendix A.2 (outbound): kind -> {state: state after}.
OUTBOUND = {
    "subscribe": {
        "None": "None+PO", "None+PO": "None+PO", "None+PI": "None+PO+PI",
        "None+PO+PI": "None+PO+PI", "To": "To", "To+PI": "To+PI", "From": "From+PO",
        "From+PO": "From+PO", "Both": "Both",
    },
    "unsubscribe": {
        "None": "None", "None+PO": "None", "None+PI": "None+PI", "None+PO+PI": "None+PI",
        "To": "None", "To+PI": "None+PI", "From": "From", "From+PO": "From", "Both": "From",
    },
    "subscribed": {
        "None+PI": "From", "None+PO+PI": "From+PO", "To+PI": "Both",
        "From": "From", "From+PO": "From+PO", "Both": "Both",
    },
    "unsubscribed": {
        "None": "None", "None+PO": "None+PO", "None+PI": "None", "None+PO+PI": "None+PO",
        "To": "To", "To+PI": "To", "From": "None", "From+PO": "None+PO", "Both": "To",
    },
}

#: Appendix A.3 (inbound): kind -> {state: (state after, delivered to the user)}.
INBOUND = {
    "subscribe": {
        "None": ("None+PI", True), "None+PO": ("None+PO+PI", True),
        "None+PI": ("None+PI", False), "None+PO+PI": ("None+PO+PI", False),
        "To": ("To+PI", True), "To+PI": ("To+PI", False), "From": ("From", False),
        "From+PO": ("From+PO", False), "Both": ("Both", False),
    },
    "unsubscribe": {
        "None": ("None", False), "None+PO": ("None+PO", False), "None+PI": ("None", True),
        "None+PO+PI": ("None+PO", True), "To": ("To", False), "To+PI": ("To", True),
        "From": ("None", True), "From+PO": ("None+PO", True), "Both": ("To", True),
    },
    "subscribed": {
        "None": ("None", False), "None+PO": ("To", True), "None+PI": ("None+PI", False),
        "None+PO+PI": ("To+PI", True), "To": ("To", False), "To+PI": ("To+PI", False),
        "From": ("From", False), "From+PO": ("Both", True), "Both": ("Both", False),
    },
    "unsubscribed": {
        "None": ("None", False), "None+PO": ("None", True), "None+PI": ("None+PI", False),
        "None+PO+PI": ("None+PI", True), "To": ("None", True), "To+PI": ("None+PI", True),
        "From": ("From", False), "From+PO": ("From", True), "Both": ("From", True),
    },
}


class OutboundTableTests(SynchronousTestCase):
    """Appendix A.2: what the user's own subscription stanzas do."""

    def test_table(self):
        """Every listed (state, stanza) pair ends in the state the RFC names."""
        for kind, table in OUTBOUND.items():
            for before, after in table.items():
                outcome = outbound(kind, item(before), C)
                self.assertEqual(name_of(outcome.after), after, f"{kind} in {before}")

    def test_subscribed_without_request_is_preapproval(self):
        """'subscribed' in None, None+PO and To records a pre-approval and is not routed."""
        for before in ("None", "None+PO", "To"):
            outcome = outbound("subscribed", item(before), C)
            self.assertEqual(name_of(outcome.after), before)
            self.assertTrue(outcome.after.approved)
            self.assertFalse(outcome.forward)

    def test_approval_sends_presence(self):
        """Approving a request makes the server send the user's presence to the contact."""
        self.assertEqual(outbound("subscribed", item("None+PI"), C).presence, "available")
        self.assertIsNone(outbound("subscribed", item("Both"), C).presence)

    def test_cancel_sends_unavailable(self):
        """Cancelling the contact's subscription sends unavailable presence; denying does not."""
        self.assertEqual(outbound("unsubscribed", item("From"), C).presence, "unavailable")
        self.assertIsNone(outbound("unsubscribed", item("None+PI"), C).presence)

    def test_subscribe_creates_listed_item(self):
        """A request to a contact not in the roster adds it with ask='subscribe'."""
        outcome = outbound("subscribe", None, C)
        self.assertEqual(outcome.after, RosterItem(C, pending_out=True))
        self.assertTrue(outcome.forward)
        self.assertTrue(outcome.changed)

    def test_unsubscribed_to_unknown_contact(self):
        """Denying a contact never seen leaves no item but is still routed."""
        outcome = outbound("unsubscribed", None, C)
        self.assertIsNone(outcome.after)
        self.assertTrue(outcome.forward)

    def test_bad_kind(self):
        """Only subscription types are accepted."""
        self.assertRaises(ValueError, outbound, "probe", None, C)
        self.assertRaises(ValueError, inbound, "available", None, C)


class InboundTableTests(SynchronousTestCase):
    """Appendix A.3: what the contact's subscription stanzas do to the user's roster."""

    def test_table(self):
        """Every (state, stanza) pair ends in the RFC's state and is delivered only on change."""
        for kind, table in INBOUND.items():
            for before, (after, delivered) in table.items():
                outcome = inbound(kind, item(before), C)
                self.assertEqual(name_of(outcome.after), after, f"{kind} in {before}")
                self.assertEqual(outcome.forward, delivered, f"{kind} in {before}")

    def test_subscribed_contact_is_answered(self):
        """A request from a contact already subscribed is answered 'subscribed' for the user."""
        for before in ("From", "From+PO", "Both"):
            self.assertEqual(inbound("subscribe", item(before), C).auto_reply, "subscribed")

    def test_preapproved_request(self):
        """A pre-approved request becomes a subscription at once, answered for the user."""
        approved = RosterItem(C, subscription="to", approved=True)
        outcome = inbound("subscribe", approved, C)
        self.assertEqual(outcome.after, RosterItem(C, subscription="both"))
        self.assertEqual((outcome.auto_reply, outcome.presence, outcome.forward),
                         ("subscribed", "available", False))

    def test_request_from_stranger_is_kept_hidden(self):
        """A request from someone not in the roster is stored unlisted with its message."""
        outcome = inbound("subscribe", None, C, "please")
        self.assertEqual(
            outcome.after, RosterItem(C, pending_in=True, listed=False, ask_message="please")
        )
        self.assertIsNone(visible(outcome.after))

    def test_withdrawn_request_leaves_nothing(self):
        """A stranger withdrawing a request removes the stored row entirely."""
        pending = RosterItem(C, pending_in=True, listed=False)
        self.assertIsNone(inbound("unsubscribe", pending, C).after)


class HelperTests(SynchronousTestCase):
    """prune and visible."""

    def test_prune(self):
        """Only unlisted rows without any subscription state are dropped."""
        self.assertIsNone(prune(RosterItem(C, listed=False)))
        self.assertIsNotNone(prune(RosterItem(C)))
        self.assertIsNotNone(prune(RosterItem(C, listed=False, approved=True)))

    def test_visible_ignores_pending_in(self):
        """What clients see does not change with a hidden inbound request."""
        self.assertEqual(visible(RosterItem(C)), visible(RosterItem(C, pending_in=True)))
        self.assertNotEqual(visible(RosterItem(C)), visible(RosterItem(C, pending_out=True)))

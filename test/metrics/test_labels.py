"""Tests for mongoose.metrics.labels: label values stay in fixed sets."""

from twisted.trial.unittest import SynchronousTestCase

from mongoose.metrics.labels import (
    host_label,
    mechanism_label,
    method_label,
    reason_label,
    transport_label,
)


class LabelTests(SynchronousTestCase):
    """Outside input maps onto a bounded set of label values."""

    def test_host(self):
        """Served domains keep their name; anything else is "other"."""
        self.assertEqual(host_label("localhost", {"localhost"}), "localhost")
        self.assertEqual(host_label("attacker.example", {"localhost"}), "other")
        self.assertEqual(host_label(None, {"localhost"}), "other")

    def test_mechanism(self):
        """Advertised and config spellings name the mechanism; unknown ones are "other"."""
        self.assertEqual(mechanism_label("SCRAM-SHA-256-PLUS"), "SCRAM-SHA-256-PLUS")
        self.assertEqual(mechanism_label("scram_sha1"), "SCRAM-SHA-1")
        self.assertEqual(mechanism_label("plain"), "PLAIN")
        self.assertEqual(mechanism_label("X-" + "A" * 500), "other")
        self.assertEqual(mechanism_label(None), "none")

    def test_reason(self):
        """RFC 6120 SASL conditions pass (either spelling); free text is "other"."""
        self.assertEqual(reason_label("not-authorized"), "not-authorized")
        self.assertEqual(reason_label("temporary_auth_failure"), "temporary-auth-failure")
        self.assertEqual(reason_label("wrong password for alice"), "other")
        self.assertEqual(reason_label(None), "other")

    def test_transport(self):
        """Known transports keep their name, ws/wss mean websocket, the rest is "other"."""
        self.assertEqual(transport_label("tcp"), "tcp")
        self.assertEqual(transport_label("BOSH"), "bosh")
        self.assertEqual(transport_label("wss"), "websocket")
        self.assertEqual(transport_label(None), "other")
        self.assertEqual(transport_label("carrier-pigeon"), "other")

    def test_method(self):
        """Standard HTTP methods keep their name; made-up ones are "other"."""
        self.assertEqual(method_label(b"GET"), "GET")
        self.assertEqual(method_label("DELETE"), "DELETE")
        self.assertEqual(method_label(b"BREW"), "other")
        self.assertEqual(method_label(None), "other")

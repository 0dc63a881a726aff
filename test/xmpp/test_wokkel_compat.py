"""wokkel 18.0.0 imports and works on current Twisted through the compat shim."""

from twisted.trial.unittest import SynchronousTestCase

from mongoose.xmpp.wokkel_compat import wokkel_module


class WokkelImportTests(SynchronousTestCase):
    """The wokkel modules mongoose uses import and behave."""

    def test_data_form_roundtrip(self):
        """A data form built with wokkel serialises and parses back."""
        data_form = wokkel_module("data_form")
        form = data_form.Form("submit", formNamespace="urn:example")
        form.addField(data_form.Field(var="user", value="alice"))
        parsed = data_form.Form.fromElement(form.toElement())
        self.assertEqual(parsed.formNamespace, "urn:example")
        self.assertEqual(parsed.getValues()["user"], "alice")

    def test_disco_and_pubsub_import(self):
        """disco, pubsub and muc import (they failed on Twisted >= 21.2 without the shim)."""
        for name in ("disco", "pubsub", "muc", "subprotocols"):
            self.assertTrue(wokkel_module(name).__name__.endswith(name))

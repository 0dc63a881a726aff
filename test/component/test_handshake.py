"""Tests for mongoose.component.handshake (XEP-0114 section 3)."""

from twisted.trial.unittest import SynchronousTestCase
from twisted.words.protocols.jabber.xmlstream import hashPassword

from mongoose.component.handshake import handshake_digest, handshake_matches, new_stream_id


class HandshakeTests(SynchronousTestCase):
    """The digest a component sends and its check."""

    def test_digest_agrees_with_twisted(self):
        """Our digest equals the one Twisted's component client computes."""
        self.assertEqual(
            handshake_digest("3BF96D32", "sister"), hashPassword("3BF96D32", "sister")
        )

    def test_digest_is_lowercase_hex_sha1(self):
        """The digest is 40 lowercase hexadecimal characters."""
        digest = handshake_digest("abc", "secret")
        self.assertEqual(len(digest), 40)
        self.assertEqual(digest, digest.lower())
        int(digest, 16)

    def test_matches_right_value(self):
        """The right value matches, in either case and with white space around it."""
        digest = handshake_digest("id1", "pw")
        self.assertTrue(handshake_matches("id1", "pw", digest))
        self.assertTrue(handshake_matches("id1", "pw", f"\n  {digest.upper()} \n"))

    def test_refuses_wrong_values(self):
        """Another secret, another stream id, a prefix or non-ASCII text do not match."""
        digest = handshake_digest("id1", "pw")
        self.assertFalse(handshake_matches("id1", "other", digest))
        self.assertFalse(handshake_matches("id2", "pw", digest))
        self.assertFalse(handshake_matches("id1", "pw", digest[:20]))
        self.assertFalse(handshake_matches("id1", "pw", ""))
        self.assertFalse(handshake_matches("id1", "pw", "é" * 40))

    def test_stream_ids_are_fresh(self):
        """Stream ids are long and never repeat."""
        ids = {new_stream_id() for _ in range(100)}
        self.assertEqual(len(ids), 100)
        self.assertTrue(all(len(i) == 32 for i in ids))

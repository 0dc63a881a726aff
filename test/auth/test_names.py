"""Username and domain normalisation (RFC 8265 UsernameCaseMapped, RFC 7622)."""

from __future__ import annotations

from twisted.trial import unittest

from mongoose.auth.names import normalize_domain, normalize_username


class UsernameTests(unittest.SynchronousTestCase):
    """normalize_username."""

    def test_case_mapping(self):
        """Upper case and width variants map to one canonical name."""
        self.assertEqual(normalize_username("Alice"), "alice")
        self.assertEqual(normalize_username("ÉMILE"), "émile")
        self.assertEqual(normalize_username("\uff21bc"), "abc")  # fullwidth A

    def test_invalid(self):
        """Empty names, spaces and JID-reserved characters are refused with a message."""
        for bad in ["", "a b", "a@b", "a/b", "a:b", "a<b", "a'b", '"q"', "a&b", 7, "x" * 1024]:
            error = self.assertRaises(ValueError, normalize_username, bad)
            self.assertIn("invalid username", str(error))


class DomainTests(unittest.SynchronousTestCase):
    """normalize_domain."""

    def test_lower_case(self):
        """Domains are lower-cased and lose a final dot."""
        self.assertEqual(normalize_domain("LocalHost."), "localhost")

    def test_invalid(self):
        """Empty domains and domains with @, / or spaces are refused."""
        for bad in ["", ".", "a b", "a@b", "a/b", None]:
            error = self.assertRaises(ValueError, normalize_domain, bad)
            self.assertIn("invalid domain", str(error))

"""slixmpp client scripts run in subprocesses by test_slixmpp_c2s."""

__all__ = []

"""Stanza routing: the router, the session manager and IQ handler registry."""

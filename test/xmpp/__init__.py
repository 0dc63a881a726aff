"""Tests for mongoose.xmpp: the XMPP wire layer."""

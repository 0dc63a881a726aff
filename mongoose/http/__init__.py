"""XMPP over HTTP: the WebSocket (RFC 7395) and BOSH (XEP-0124/XEP-0206) handlers."""

__all__ = ["bosh", "websocket", "common"]

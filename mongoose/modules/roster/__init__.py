"""Parts of ``mod_roster``: the subscription state machine, the wire format and the service."""

__all__ = ["service", "state", "xml"]

"""Front ends generated from the command registry: the admin REST API and mongooseimctl."""

__all__ = ["ctl", "rest"]

"""mongoose: a MongooseIM-compatible XMPP server on Twisted."""

__all__ = ["__version__"]

__version__ = "0.1.0"

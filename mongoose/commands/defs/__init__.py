"""Built-in command definitions, one module per category (``account`` ...)."""

__all__ = ["account"]

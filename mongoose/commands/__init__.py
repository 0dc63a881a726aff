"""Commands: one definition for the REST, GraphQL, CLI and XEP-0050 surfaces.

``types`` holds the closed argument type set, ``errors`` the error table,
``caller`` who runs a command, ``registry`` the ``Command`` value and the
``CommandRegistry``, ``defs`` the built-in command definitions and ``docs``
the generator of ``doc/commands.md``.
"""

__all__ = ["caller", "defs", "docs", "errors", "registry", "types"]

"""The MongooseIM TOML configuration: schema, loader and generated reference.

``schema`` is the declarative framework, ``sections`` declares every option
of the MongooseIM 6.x configuration file (see the MongooseIM documentation,
"Configuration" chapter), ``root`` assembles them, ``loader`` reads a file
into a :class:`mongoose.config.loader.Config` and ``docs`` writes
``doc/configuration.md``.
"""

__all__ = ["docs", "loader", "root", "schema", "sections"]

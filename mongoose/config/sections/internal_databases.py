"""The ``[internal_databases]`` table: Mnesia and CETS of MongooseIM.

Follows "Options: Internal Databases" of the MongooseIM 6.x documentation.
Mongoose has neither Erlang database; node-local state lives in memory and
cluster state in Redis, so these tables are accepted for compatibility.
"""

from __future__ import annotations

from mongoose.config.schema import Enum, Field, Section
from mongoose.config.sections.types import file_path, non_empty

__all__ = ["internal_databases_section"]

_COMPAT = "no Erlang database here: node state is in memory, cluster state in Redis"


def internal_databases_section() -> Section:
    """The ``[internal_databases]`` table.

    Returns:
        The section; when the whole table is absent it holds ``mnesia``.
    """
    cets = Section(
        {
            "backend": Field(
                Enum("rdbms", "file"),
                default="rdbms",
                doc="How nodes find each other: the database or a file.",
            ),
            "cluster_name": Field(
                non_empty(), default="mongooseim", doc="Name shared by the nodes of a cluster."
            ),
            "node_list_file": Field(file_path(), doc="File listing the nodes (backend file)."),
        },
        doc="CETS, MongooseIM's replicated in-memory tables.",
    )
    return Section(
        {
            "mnesia": Field(Section({}, doc="Mnesia."), doc="Enable Mnesia.", compat=_COMPAT),
            "cets": Field(cets, doc="Enable CETS.", compat=_COMPAT),
        },
        doc="Erlang-side databases of MongooseIM.",
    )

"""The ``[[host_config]]`` array: settings of one domain or host type.

Follows "Options: Host config" of the MongooseIM 6.x documentation:
``general`` options and ``outgoing_pools`` override the top-level ones,
``auth``, ``modules`` and ``s2s`` replace them, ``acl`` and ``access`` are
merged with them.  Mongoose also accepts per-host ``shaper`` tables.
"""

from __future__ import annotations

from mongoose.config.schema import ConfigError, Field, ListOf, Options, Section, join_path
from mongoose.config.sections.access import access_section, acl_section, shaper_section
from mongoose.config.sections.auth import auth_section
from mongoose.config.sections.extensions import modules_section
from mongoose.config.sections.general import host_general_section
from mongoose.config.sections.pools import host_pools_section
from mongoose.config.sections.s2s import s2s_section
from mongoose.config.sections.types import Domain, non_empty
from mongoose.extensions import ExtensionRegistry

__all__ = ["host_config_section"]


def _one_target(options: Options, path: str, errors: list[ConfigError]) -> None:
    if "host" in options and "host_type" in options:
        errors.append(
            ConfigError(join_path(path, "host_type"), "give either host or host_type, not both")
        )
    elif "host" not in options and "host_type" not in options:
        errors.append(
            ConfigError(join_path(path, "host"), "required option is missing (or give host_type)")
        )


def host_config_section(extensions: ExtensionRegistry) -> ListOf:
    """The ``[[host_config]]`` array.

    Args:
        extensions: where module names are looked up.

    Returns:
        The array spec; each entry names ``host`` or ``host_type``.
    """
    entry = Section(
        {
            "host": Field(Domain(), doc="Domain (or host type) this entry configures."),
            "host_type": Field(non_empty(), doc="Host type this entry configures."),
            "general": Field(host_general_section(), doc="Overrides of general options."),
            "auth": Field(auth_section(), doc="Replaces [auth] for this host."),
            "modules": Field(modules_section(extensions), doc="Replaces [modules] for this host."),
            "outgoing_pools": Field(
                host_pools_section(), doc="Pools of this host; override global ones."
            ),
            "acl": Field(acl_section(), doc="Access classes merged with [acl]."),
            "access": Field(access_section(), doc="Access rules merged with [access]."),
            "s2s": Field(s2s_section(), doc="Replaces [s2s] for this host."),
            "shaper": Field(shaper_section(), doc="Shapers added for this host."),
        },
        doc="Settings of one domain or host type.",
        validate=_one_target,
    )
    return ListOf(entry)

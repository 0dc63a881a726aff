"""``[modules]`` and ``[services]``: tables named after pluggable extensions.

Follows "Options: Extension Modules" and "Options: Services" of the
MongooseIM 6.x documentation.  Each name is looked up in the
:class:`mongoose.extensions.ExtensionRegistry`; the factory's
``options_spec`` validates the table.  MongooseIM names this version lacks
are reported as "not available in this version", other names as unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from mongoose.config.schema import ConfigError, DynamicSection, Section, Spec
from mongoose.extensions import UPSTREAM_MODULES, UPSTREAM_SERVICES, ExtensionRegistry

__all__ = ["modules_section", "services_section"]


def _lookup(
    find: Callable[[str], object],
    upstream: Collection[str],
    what: str,
) -> Callable[[str, str, list[ConfigError]], Spec | None]:
    def lookup(name: str, path: str, errors: list[ConfigError]) -> Spec | None:
        try:
            factory = find(name)
        except LookupError as exc:
            errors.append(ConfigError(path, str(exc)))
            return None
        except Exception as exc:  # a broken plugin must not crash start-up
            errors.append(ConfigError(path, f"cannot be loaded: {exc.__class__.__name__}: {exc}"))
            return None
        if factory is None:
            if name in upstream:
                errors.append(ConfigError(path, "not available in this version"))
            else:
                errors.append(ConfigError(path, f"unknown {what}"))
            return None
        spec = getattr(factory, "options_spec", None)
        return spec if spec is not None else Section({}, doc=f"{name} takes no options.")

    return lookup


def modules_section(extensions: ExtensionRegistry) -> DynamicSection:
    """``[modules]`` (and ``host_config[].modules``): module name -> its options.

    Args:
        extensions: where module names are looked up.

    Returns:
        The dynamic section.
    """
    return DynamicSection(
        lookup=_lookup(extensions.module, UPSTREAM_MODULES, "module"),
        kind="table of module tables",
        doc="One `[modules.NAME]` table per module started on every host; the options "
        "are documented with each module.",
    )


def services_section(extensions: ExtensionRegistry) -> DynamicSection:
    """``[services]``: global service name -> its options.

    Args:
        extensions: where service names are looked up.

    Returns:
        The dynamic section.
    """
    return DynamicSection(
        lookup=_lookup(extensions.service, UPSTREAM_SERVICES, "service"),
        kind="table of service tables",
        doc="One `[services.NAME]` table per global service; the options are "
        "documented with each service.",
    )

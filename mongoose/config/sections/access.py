"""``[shaper]``, ``[acl]`` and ``[access]``: traffic shapers and access rules.

Follows "Options: Shaper", "Options: Acl" and "Options: Access" of the
MongooseIM 6.x documentation.
"""

from __future__ import annotations

from mongoose.config.schema import Enum, Field, Int, ListOf, MapOf, OneOf, Section, Str
from mongoose.config.sections.types import non_empty

__all__ = ["access_section", "acl_section", "shaper_section"]


def shaper_section() -> MapOf:
    """``[shaper.NAME]``: named traffic shapers.

    Returns:
        The map; each shaper has ``max_rate``.
    """
    shaper = Section(
        {
            "max_rate": Field(
                Int(min=1), required=True, doc="Bytes per second a connection may send."
            ),
        },
        doc="One traffic shaper.",
    )
    return MapOf(shaper, key=non_empty(), doc="Traffic shapers by name.", key_doc="shaper")


def _condition(what: str, kind: str) -> Field:
    return Field(Str(), doc=f"Matches when the {what} {kind}.")


def acl_section() -> MapOf:
    """``[acl]``: access classes, each an array of patterns (a union).

    Returns:
        The map.
    """
    pattern = Section(
        {
            "match": Field(
                Enum("all", "none", "current_domain", "any_hosted_domain"),
                default="current_domain",
                doc="Base set of users: everyone, nobody, users of the checked domain "
                "or of any local domain.",
            ),
            "user": _condition("user name", "is this"),
            "server": _condition("domain", "is this"),
            "resource": _condition("resource", "is this"),
            "user_regexp": Field(
                Str(), aliases=("user_regex",), doc="Matches when the user name matches this regex."
            ),
            "server_regexp": Field(
                Str(), aliases=("server_regex",), doc="Matches when the domain matches this regex."
            ),
            "resource_regexp": Field(
                Str(),
                aliases=("resource_regex",),
                doc="Matches when the resource matches this regex.",
            ),
            "user_glob": _condition("user name", "matches this glob"),
            "server_glob": _condition("domain", "matches this glob"),
            "resource_glob": _condition("resource", "matches this glob"),
        },
        doc="One pattern; all of its conditions must hold. `{}` is every user of the domain.",
    )
    return MapOf(ListOf(pattern), key=non_empty(), doc="Access classes by name.", key_doc="class")


def access_section() -> MapOf:
    """``[access]``: access rules, each an array of clauses tried in order.

    Returns:
        The map.
    """
    clause = Section(
        {
            "acl": Field(
                non_empty(),
                required=True,
                doc='Access class the user must be in; `"all"` matches everyone.',
            ),
            "value": Field(
                OneOf(Int(), non_empty()),
                required=True,
                doc='Result when it matches: `"allow"`, `"deny"`, a number or a name.',
            ),
        },
        doc="One clause of a rule.",
    )
    return MapOf(ListOf(clause), key=non_empty(), doc="Access rules by name.", key_doc="rule")

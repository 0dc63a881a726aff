"""Value types shared by several sections of the MongooseIM TOML configuration.

Ports, "integer or infinity" limits, XMPP domain names, file paths and the
log levels of the MongooseIM documentation ("Options: General", "Options:
Listen").
"""

from __future__ import annotations

from typing import Any

from mongoose.config.schema import ConfigError, Enum, Int, OneOf, Spec, Str, format_value

__all__ = [
    "LOG_LEVELS",
    "PORT",
    "Domain",
    "file_path",
    "int_or_infinity",
    "non_empty",
]

#: The loglevel values of MongooseIM, from quietest to loudest.
LOG_LEVELS = (
    "none",
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "info",
    "debug",
    "all",
)

#: A TCP port number a listener can bind or a client can connect to.
PORT = Int(min=1, max=65535)


def int_or_infinity(min: int = 1) -> OneOf:
    """An integer of at least ``min``, or the string ``"infinity"`` (no limit).

    Args:
        min: the smallest integer accepted.

    Returns:
        The spec; parsed values are the integer or ``"infinity"``.
    """
    return OneOf(Int(min=min), Enum("infinity"))


def non_empty() -> Str:
    """A string that must not be empty."""
    return Str(nonempty=True)


def file_path() -> Str:
    """A path in the file system, relative to the working directory or absolute."""
    return Str(nonempty=True, pattern_doc="file path")


_DOMAIN_FORBIDDEN = set("@/\"&'<>:") | {" ", "\t", "\n", "\r"}


class Domain(Spec):
    """An XMPP domain name (the domainpart of a JID, RFC 7622 section 3.2).

    The value is returned in lower case, the canonical form routing uses.
    """

    kind = "domain name"

    def check(self, value: Any, path: str, errors: list[ConfigError]) -> Any:
        """Accept a domain name and return it in lower case.

        Args:
            value: the raw TOML value.
            path: where it was found.
            errors: problems are appended here.

        Returns:
            The lower-cased domain, or MISSING.
        """
        if not isinstance(value, str):
            return self.fail(errors, path, f"{format_value(value)} is not a string")
        if not value:
            return self.fail(errors, path, "must not be empty")
        bad = sorted(set(value) & _DOMAIN_FORBIDDEN)
        if bad or value.startswith(".") or value.endswith(".") or ".." in value:
            return self.fail(errors, path, f"{format_value(value)} is not a valid domain name")
        if len(value.encode("utf-8")) > 1023:
            return self.fail(errors, path, "is longer than 1023 bytes")
        return value.lower()

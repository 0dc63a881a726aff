"""Command errors and the one table that maps them to every front end.

A command handler (or the registry) raises :class:`CommandError` with a
canonical code.  Each front end looks the code up in :data:`ERRORS`:

* the admin REST API (MongooseIM 6.5 ``mongoose_admin_api``) uses the HTTP
  status;
* GraphQL puts the GraphQL code in ``extensions.code``;
* XEP-0050 ad-hoc commands answer with the RFC 6120 section 8.3 stanza error
  condition and type;
* ``mongooseimctl`` exits with the CLI exit status.

No front end holds per-command error code.  This module uses only the
standard library, so ``mongooseimctl`` can import it without Twisted.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CommandError", "ErrorKind", "ERRORS", "error_kind"]


@dataclass(frozen=True)
class ErrorKind:
    """How one error code looks on every surface.

    Attributes:
        code: the canonical code, e.g. ``not_found``.
        http_status: HTTP status of REST responses.
        graphql_code: value of ``extensions.code`` in GraphQL errors.
        stanza_condition: RFC 6120 defined condition, e.g. ``item-not-found``.
        stanza_type: RFC 6120 error type (``cancel``, ``modify``, ``auth``, ``wait``).
        exit_status: exit status of ``mongooseimctl``.
        summary: one line describing when the code is used (for docs).
    """

    code: str
    http_status: int
    graphql_code: str
    stanza_condition: str
    stanza_type: str
    exit_status: int
    summary: str


def _table(*kinds: ErrorKind) -> dict[str, ErrorKind]:
    return {kind.code: kind for kind in kinds}


#: The error table: code -> :class:`ErrorKind`.
ERRORS: dict[str, ErrorKind] = _table(
    ErrorKind("bad_request", 400, "bad_request", "bad-request", "modify", 2,
              "an argument is missing, unknown or malformed"),
    ErrorKind("unauthorized", 401, "unauthorized", "not-authorized", "auth", 3,
              "missing or wrong credentials"),
    ErrorKind("forbidden", 403, "no_permissions", "forbidden", "auth", 4,
              "the caller may not run this command on this target"),
    ErrorKind("not_allowed", 403, "not_allowed", "not-allowed", "cancel", 4,
              "the server does not allow the operation"),
    ErrorKind("not_found", 404, "not_found", "item-not-found", "cancel", 5,
              "the user, domain or item does not exist"),
    ErrorKind("unknown_command", 404, "unknown_command", "item-not-found", "cancel", 2,
              "no such command in that category"),
    ErrorKind("method_not_allowed", 405, "bad_request", "not-allowed", "cancel", 2,
              "the HTTP method is not served on that path"),
    ErrorKind("conflict", 409, "already_exists", "conflict", "cancel", 6,
              "the item exists already"),
    ErrorKind("too_large", 413, "bad_request", "not-acceptable", "modify", 2,
              "the request is larger than allowed"),
    ErrorKind("internal", 500, "internal_server_error", "internal-server-error", "wait", 1,
              "an unexpected failure inside the server (logged there)"),
    ErrorKind("unavailable", 503, "service_unavailable", "service-unavailable", "cancel", 7,
              "the node or one of its backends cannot be reached"),
)


def error_kind(code: str) -> ErrorKind:
    """Return the table row for ``code``; unknown codes count as ``internal``."""
    return ERRORS.get(code, ERRORS["internal"])


class CommandError(Exception):
    """A command failed for a reason the caller should see.

    Args:
        code: a key of :data:`ERRORS`.
        message: one line for humans, e.g. ``"domain: 'a b' is not a domain name"``.
        arg: for ``bad_request``, the top-level argument the message is about.

    Raises:
        ValueError: ``code`` is not in the error table (a programming error).
    """

    def __init__(self, code: str, message: str, arg: str | None = None):
        if code not in ERRORS:
            raise ValueError(f"unknown command error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.arg = arg

    @property
    def kind(self) -> ErrorKind:
        """The error table row of this error."""
        return ERRORS[self.code]

    def to_json(self) -> dict[str, str]:
        """The JSON error body used by the HTTP front ends."""
        return {"error": self.code, "message": self.message}

    def __repr__(self) -> str:
        return f"CommandError({self.code!r}, {self.message!r})"

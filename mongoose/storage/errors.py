"""Errors raised by the storage layer.

Every message is one line a server operator can act on (which database,
which host and port, what went wrong); no driver traceback reaches a user.
"""

from __future__ import annotations

__all__ = ["StorageError", "SchemaVersionError", "UnsupportedDriverError", "one_line"]


class StorageError(Exception):
    """The storage layer could not do what was asked (connect, query, migrate)."""


class SchemaVersionError(StorageError):
    """The database schema is newer than this version of mongoose knows."""


class UnsupportedDriverError(StorageError):
    """The configuration names a database driver mongoose does not provide."""


def one_line(exc: BaseException) -> str:
    """Condense a driver exception into a single line of text.

    Args:
        exc: the exception, typically from sqlite3 or psycopg.

    Returns:
        The exception's message with runs of whitespace (including newlines)
        collapsed to single spaces, or the exception class name if it has
        no message.
    """
    text = " ".join(str(exc).split())
    return text or exc.__class__.__name__

"""Tests for mongoose.storage: the SQL layer against SQLite and PostgreSQL."""

__all__: list[str] = []

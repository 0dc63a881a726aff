"""Tests for mongoose.auth: password secrets, name normalisation, the internal backend."""

__all__: list[str] = []

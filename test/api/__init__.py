"""Tests for mongoose.api."""

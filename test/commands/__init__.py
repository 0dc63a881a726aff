"""Tests for mongoose.commands."""

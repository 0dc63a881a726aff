"""Tests for mongoose.listeners."""

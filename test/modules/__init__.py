"""Tests for mongoose.modules."""

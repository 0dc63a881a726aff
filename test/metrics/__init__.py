"""Tests for mongoose.metrics."""

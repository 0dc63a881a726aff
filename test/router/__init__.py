"""Tests for mongoose.router."""

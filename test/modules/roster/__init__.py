"""Tests for mongoose.modules.roster."""

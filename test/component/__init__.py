"""Tests for mongoose.component (XEP-0114 external components)."""

"""Tests of mongoose.s2s."""

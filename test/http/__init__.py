"""Tests of mongoose.http."""

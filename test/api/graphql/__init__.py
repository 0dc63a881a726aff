"""Tests for mongoose.api.graphql."""

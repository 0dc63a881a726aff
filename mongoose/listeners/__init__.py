"""Listening services, one per [[listen.*]] entry."""

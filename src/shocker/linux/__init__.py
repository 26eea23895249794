"""Thin wrappers over kernel interfaces the stdlib lacks."""

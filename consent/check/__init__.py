"""Compliance checks."""

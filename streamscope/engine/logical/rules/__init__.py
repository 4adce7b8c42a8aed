"""Logical optimizer rules, one per module."""

"""Backpressure policies, one per module."""

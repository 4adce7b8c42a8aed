"""Transforms: picklable objects that run inside tasks (one family per module)."""

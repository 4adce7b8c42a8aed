"""streamscope engine."""

"""streamscope engine runtime."""

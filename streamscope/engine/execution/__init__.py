"""streamscope engine execution."""

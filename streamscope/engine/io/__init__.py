"""streamscope engine io."""

"""streamscope: placeholder while bootstrapping."""

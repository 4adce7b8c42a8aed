"""Optional libraries behind connectors: one place that turns a missing library into an error
naming the connector and the extra that installs it.

Why: a connector such as ``read_delta`` needs ``deltalake``; a bare ``ModuleNotFoundError:
No module named 'deltalake'`` raised from deep inside a worker tells a notebook user neither which
call needed it nor how to get it. Connectors call :func:`import_optional` in the driver, when the
dataset is created, so the error comes before any work starts.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """A connector's library is not installed; the message names the connector and the extra.

    Examples:
        >>> err = MissingExtraError("read_delta", "deltalake", "delta")
        >>> print(err)
        read_delta needs the 'deltalake' package, which is not installed: pip install 'streamscope[delta]'
    """

    def __init__(self, connector: str, module: str, extra: str):
        super().__init__(f"{connector} needs the {module!r} package, which is not installed: "
                         f"pip install 'streamscope[{extra}]'")
        self.connector = connector
        self.module = module
        self.extra = extra


def import_optional(module: str, *, extra: str, connector: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``connector`` and ``extra``.

    Only a missing ``module`` itself becomes that error: an installed library that fails to import
    (a broken build, a missing dependency of its own) re-raises as it is, so its cause shows.

    Examples:
        >>> import_optional("json", extra="none", connector="read_json").__name__
        'json'
        >>> import_optional("no_such_library_here", extra="demo", connector="read_demo")
        Traceback (most recent call last):
        ...
        streamscope.engine.io.optional_deps.MissingExtraError: read_demo needs the 'no_such_library_here' package, which is not installed: pip install 'streamscope[demo]'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = module.split(".")[0]
        if err.name not in (module, top):
            raise
        raise MissingExtraError(connector, module, extra) from None

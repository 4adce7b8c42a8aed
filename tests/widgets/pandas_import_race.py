"""Run by test_widget_dashboard.py in a fresh interpreter: a dashboard panel streams while
another thread is half-way through importing pandas (held there by an import hook for up to
0.5 s). Prints "ok" when the stream went through."""

import importlib.abc
import sys
import threading

from bokeh.models import ColumnDataSource

from streamscope.widgets.dashboard_panels import stream_points

assert "pandas" not in sys.modules
inside_pandas = threading.Event()


class HoldPandasHalfImported(importlib.abc.MetaPathFinder):
    """Pauses the importing thread when pandas asks for its first submodule."""

    def find_spec(self, name, path=None, target=None):
        if name.startswith("pandas.") and not inside_pandas.is_set():
            inside_pandas.set()
            threading.Event().wait(0.5)  # the other thread runs into the half-made module now
        return None


sys.meta_path.insert(0, HoldPandasHalfImported())
importer = threading.Thread(target=lambda: __import__("pandas"))
importer.start()
inside_pandas.wait(10)
assert "pandas" in sys.modules and not hasattr(sys.modules["pandas"], "Series")  # half imported
source = ColumnDataSource({"t": [], "rate": []})
stream_points(source, {"t": [1.0], "rate": [5.0]}, rollover=10)
importer.join()
assert source.data["rate"] == [5.0]
print("ok")

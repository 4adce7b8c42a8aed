import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def restore_context():
    """Magics change the process-wide DataContext; give every test its own copy back."""
    from streamscope.engine.context import DataContext

    saved = DataContext.get_current()
    DataContext._set_current(saved.copy())
    yield DataContext.get_current()
    DataContext._set_current(saved)

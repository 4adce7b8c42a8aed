"""docs/ray-compat.md is made from the code: regenerating it must give the committed page, and
the Ray Data surface it is made from must be the one the project mirrors."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"


def _load(name: str):
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    return importlib.import_module(f"ray_compat.{name}")


def test_listing_is_the_shared_surface():
    shared = ROOT.parent / "shared" / "RAY_DATA_API.md"
    if not shared.exists():
        pytest.skip("../shared/RAY_DATA_API.md is not beside this checkout")
    assert (SCRIPTS / "ray_compat" / "ray_data_2_60_api.md").read_text() == shared.read_text()


def test_parser_reads_every_listed_name():
    surface = _load("surface")
    listing = surface.LISTING.read_text().splitlines()
    listed = sum(1 for line in listing if line.startswith("- "))
    entries = surface.load_surface()
    assert len(entries) == listed
    by_name = {(e.section, e.name): e for e in entries}
    map_batches = [p.name for p in by_name[("Dataset", "map_batches")].params]
    assert map_batches[:2] == ["fn", "batch_size"] and map_batches[-1] == "ray_remote_args"
    assert "runtime_env" in map_batches
    assert by_name[("DataContext", "max_map_retries")].default == "0"
    assert by_name[("module", "read_parquet")].params[0].kind == "positional"


def test_page_matches_the_code():
    """Generated in a fresh interpreter, as the script runs: the page is a function of the code
    alone, never of what earlier tests of this session left in the process (runtimes with custom
    resources, settings, imported modules)."""
    import subprocess

    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "ray_compat" / "generate.py"), "--check"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, (
        "docs/ray-compat.md is stale: run `.venv/bin/python scripts/ray_compat/generate.py`\n"
        + out.stdout[-2000:] + out.stderr[-2000:])


def test_every_refusal_quotes_a_real_error():
    """A refused argument's cell is what calling streamscope raised: check one by calling it."""
    import streamscope

    page = (ROOT / "docs" / "ray-compat.md").read_text()
    with pytest.raises(Exception) as info:
        streamscope.range(4).write_parquet(str(ROOT / "nowhere"), min_bytes_per_file=1)
    assert str(info.value) in page

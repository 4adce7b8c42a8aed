import os

import pyarrow.fs as pafs
import pytest

from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.paths import filesystem_for, resolve_paths


def _touch(path, data=b"x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


@pytest.fixture
def tree(tmp_path):
    for rel in ["a.csv", "b.csv", "sub/c.csv", "sub/d.txt", ".hidden.csv", "_SUCCESS", "_tmp/e.csv", ".dir/f.csv"]:
        _touch(str(tmp_path / rel))
    return tmp_path


def test_directory_recursive_skips_hidden(tree):
    r = resolve_paths(str(tree))
    names = [os.path.relpath(p, tree) for p in r.paths]
    assert names == ["a.csv", "b.csv", "sub/c.csv", "sub/d.txt"]


def test_file_extensions_filter(tree):
    r = resolve_paths(str(tree), file_extensions=["csv"])
    assert [os.path.basename(p) for p in r.paths] == ["a.csv", "b.csv", "c.csv"]
    with pytest.raises(DataSourceError, match="extensions"):
        resolve_paths(str(tree), file_extensions=["parquet"])


def test_glob_list_and_explicit_hidden(tree):
    r = resolve_paths(str(tree / "*.csv"))
    assert [os.path.basename(p) for p in r.paths] == ["a.csv", "b.csv"]
    r = resolve_paths([str(tree / "sub"), str(tree / ".hidden.csv")])
    assert [os.path.basename(p) for p in r.paths] == ["c.csv", "d.txt", ".hidden.csv"]


def test_missing_path_names_it(tree):
    missing = str(tree / "nope.csv")
    with pytest.raises(DataSourceError, match="nope.csv"):
        resolve_paths([str(tree / "a.csv"), missing])
    r = resolve_paths([str(tree / "a.csv"), missing], ignore_missing_paths=True)
    assert len(r.paths) == 1


def test_memory_protocol(memfs):
    fs, root = memfs
    fs.pipe(f"{root}/x/1.txt", b"1")
    fs.pipe(f"{root}/x/2.txt", b"2")
    r = resolve_paths(f"memory://{root}/x")
    assert [r.display(p) for p in r.paths] == [f"memory://{root}/x/1.txt", f"memory://{root}/x/2.txt"]


def test_pyarrow_filesystem_argument(tree):
    r = resolve_paths(str(tree / "sub"), filesystem=pafs.LocalFileSystem())
    assert [os.path.basename(p) for p in r.paths] == ["c.csv", "d.txt"]


def test_missing_protocol_package_is_named(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "s3fs", None)  # as if s3fs were not installed
    with pytest.raises(ImportError, match=r"'s3fs'.*pip install 'streamscope\[s3\]'"):
        filesystem_for("s3://bucket/key")

"""Resolve user paths into a filesystem and a sorted list of files, through fsspec.

Why fsspec: one resolver covers local paths, ``memory://`` (tests, notebooks) and every remote
protocol whose package the user has installed (``s3://`` needs s3fs, ``gs://`` gcsfs, ...). A
pyarrow filesystem passed as ``filesystem=`` is wrapped so the rest of the io layer sees one
interface. Resolution happens on the driver when a ``read_*`` call builds its datasource, so a
missing path fails at once with the path in the message, before anything runs.

Object stores (``s3://``, ``gs://``, ``abfs://``/``az://``): the library each needs, the filesystem a
plain path gets (endpoint and credentials from the driver's environment) and how their errors read
live in ``object_stores.py``; here a missing library becomes an ImportError naming the extra, and a
failed listing a DataSourceError naming the path and the endpoint.

Directory listings skip hidden entries (names starting with ``.`` or ``_``) at any depth, as Ray
Data does: that keeps ``_SUCCESS`` markers, ``.ipynb_checkpoints`` and the hidden temporaries our
datasinks write out of reads. Paths named explicitly are never skipped.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence, Union

import fsspec

from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.object_stores import (
    default_filesystem, describe_store_failure, fs_protocols, is_object_store, is_store_error, require_library,
    same_store, split_anonymous, store_for,
)

PathLike = Union[str, "os.PathLike[str]"]

_GLOB_CHARS = ("*", "?", "[")


def is_process_local(fs: Any) -> bool:
    """True for filesystems that exist only inside this Python process (fsspec ``memory://``, and
    subclasses of its MemoryFileSystem under other protocols, as tests fake ``gs://`` with):
    worker processes and cluster nodes cannot see their files."""
    from fsspec.implementations.memory import MemoryFileSystem

    return isinstance(fs, MemoryFileSystem) or "memory" in fs_protocols(fs)


@dataclass(frozen=True)
class ResolvedFiles:
    """The result of resolving: an fsspec filesystem and the files on it (protocol stripped)."""

    filesystem: fsspec.AbstractFileSystem
    paths: list[str]

    def display(self, path: str) -> str:
        """The path as a user would write it (``memory://x``; local paths stay plain)."""
        return display_path(self.filesystem, path)


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return protocol in ("file", "local")


def display_path(fs: fsspec.AbstractFileSystem, path: str) -> str:
    if _is_local(fs):
        return path
    return fs.unstrip_protocol(path)


def to_fsspec(filesystem: Any) -> Optional[fsspec.AbstractFileSystem]:
    """Accept an fsspec filesystem, a pyarrow filesystem, or None."""
    if filesystem is None or isinstance(filesystem, fsspec.AbstractFileSystem):
        return filesystem
    try:
        import pyarrow.fs as pafs
    except ImportError:  # pragma: no cover - pyarrow is a hard dependency
        pafs = None
    if pafs is not None and isinstance(filesystem, pafs.FileSystem):
        if isinstance(filesystem, pafs.LocalFileSystem):
            return fsspec.filesystem("file")
        if isinstance(filesystem, pafs.PyFileSystem) and hasattr(filesystem.handler, "fs"):
            return filesystem.handler.fs  # an FSSpecHandler: unwrap instead of double-wrapping
        from fsspec.implementations.arrow import ArrowFSWrapper

        return ArrowFSWrapper(filesystem)
    raise TypeError(
        "filesystem must be a pyarrow.fs.FileSystem or an fsspec filesystem, "
        f"got {type(filesystem).__name__}"
    )


def to_arrow_filesystem(fs: fsspec.AbstractFileSystem):
    """A pyarrow filesystem for readers that want one (Parquet): native for local files."""
    import pyarrow.fs as pafs

    if _is_local(fs):
        return pafs.LocalFileSystem()
    from fsspec.implementations.arrow import ArrowFSWrapper

    if isinstance(fs, ArrowFSWrapper):
        return fs.fs
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs))


def strip_path(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """``path`` as ``fs`` names it (protocol stripped). A ``proto://`` path must belong on ``fs``:
    its own protocol, or one of the same store (``s3a://`` on S3, ``gcs://`` on ``gs``); a path of
    another store or of local disk is refused, naming both, rather than read from the wrong place."""
    protocol, rest = fsspec.core.split_protocol(path)
    if protocol is None:
        return fs._strip_protocol(path)
    from fsspec.implementations.arrow import ArrowFSWrapper

    if isinstance(fs, ArrowFSWrapper) and store_for(protocol) is not None and same_store(protocol, fs):
        return rest.rstrip("/")  # a pyarrow object store names keys "bucket/key"
    if protocol.lower() in {p.lower() for p in fs_protocols(fs)}:
        return fs._strip_protocol(path)
    if same_store(protocol, fs):
        return fs._strip_protocol(f"{fs_protocols(fs)[0]}://{rest}")
    if protocol in ("file", "local") and _is_local(fs):
        return fs._strip_protocol(path)
    raise ValueError(f"path {path!r} is a '{protocol}://' path, but filesystem= is {type(fs).__name__} "
                     f"({', '.join(repr(p + '://') for p in fs_protocols(fs)) or 'no protocol'}); pass a filesystem for "
                     f"'{protocol}://' or a path without a protocol")


def filesystem_for(path: str, filesystem: Any = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem a path lives on and the path with its protocol stripped.

    ``s3://anonymous@bucket/key`` reads a public bucket without credentials (Ray Data's form).
    Raises ImportError naming the package to install (for object stores, the streamscope extra)
    when the protocol's implementation is missing, and ValueError for a protocol fsspec does not
    know or a path that does not belong on the given ``filesystem``.
    """
    path, anonymous = split_anonymous(path)  # s3://anonymous@bucket/key, as in Ray Data
    fs = to_fsspec(filesystem)
    if fs is not None:
        return fs, strip_path(fs, path)
    protocol, _ = fsspec.core.split_protocol(path)
    protocol = protocol or "file"
    require_library(protocol, path)  # s3fs / gcsfs / adlfs: an ImportError naming the extra
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        from fsspec.registry import known_implementations

        known = known_implementations.get(protocol, {})
        package = known.get("class", "").split(".")[0] or protocol
        raise ImportError(
            f"reading {path!r} needs the package {package!r} (fsspec's implementation of "
            f"'{protocol}://'): pip install {package}. ({known.get('err') or exc})"
        ) from exc
    except ValueError as exc:
        raise ValueError(f"unknown protocol '{protocol}://' in path {path!r}") from exc
    fs = default_filesystem(cls, protocol, path, anonymous=anonymous) if store_for(protocol) is not None else cls()
    return fs, cls._strip_protocol(path)


def _normalize_inputs(paths: Any) -> list[str]:
    if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
        items: Iterable[Any] = [paths]
    elif isinstance(paths, Sequence) or isinstance(paths, Iterable):
        items = list(paths)
    else:
        raise TypeError(f"paths must be a str or a list of str, got {type(paths).__name__}")
    out = []
    for p in items:
        if hasattr(p, "__fspath__"):
            p = p.__fspath__()
        if isinstance(p, bytes):
            p = p.decode()
        if not isinstance(p, str):
            raise TypeError(f"each path must be a str, got {p!r} ({type(p).__name__})")
        out.append(p)
    if not out:
        raise ValueError("no paths given: pass a path or a non-empty list of paths")
    return out


def _is_hidden_below(root: str, path: str) -> bool:
    rel = posixpath.relpath(path, root) if root else path
    return any(part.startswith((".", "_")) for part in rel.split("/") if part not in ("", "."))


def _expand_dir(fs: fsspec.AbstractFileSystem, root: str) -> list[str]:
    """The files under ``root``, without hidden ones and without object-store directory markers
    (empty ``dir/`` keys that pyarrow's S3 and consoles create, which s3fs lists as files)."""
    root = root.rstrip("/") or "/"
    files = fs.find(root, withdirs=False, detail=False)
    return sorted(p for p in files if not p.endswith("/") and not _is_hidden_below(root, p))


def _matches(path: str, extensions: Optional[Sequence[str]]) -> bool:
    if not extensions:
        return True
    lower = path.lower()
    return any(lower.endswith("." + ext.lower().lstrip(".")) for ext in extensions)


def resolve_paths(
    paths: Any,
    *,
    filesystem: Any = None,
    file_extensions: Optional[Sequence[str]] = None,
    ignore_missing_paths: bool = False,
) -> ResolvedFiles:
    """Expand ``paths`` (str or list; files, directories, globs) into a sorted file list.

    All paths must live on one filesystem. Raises :class:`DataSourceError` naming the path when a
    path does not exist (unless ``ignore_missing_paths``) and when nothing is left to read.
    """
    inputs = _normalize_inputs(paths)
    fs: Optional[fsspec.AbstractFileSystem] = None
    files: list[str] = []
    for raw in inputs:
        path_fs, stripped = filesystem_for(raw, filesystem)
        if fs is None:
            fs = path_fs
        elif type(path_fs) is not type(fs):
            raise ValueError(
                f"all paths must be on one filesystem; {raw!r} is on {type(path_fs).__name__}, "
                f"earlier paths on {type(fs).__name__}"
            )
        try:
            found = _expand_one(fs, raw, stripped)
        except PermissionError as exc:
            raise DataSourceError(f"access denied listing {raw!r}: {describe_store_failure(fs, exc)}") from exc
        except Exception as exc:
            if not is_store_error(exc):
                raise
            raise DataSourceError(f"cannot list {raw!r}: {describe_store_failure(fs, exc)}") from exc
        if found is None:
            if ignore_missing_paths:
                continue
            raise DataSourceError(f"path not found: {raw!r}{_missing_bucket_note(fs, stripped)}")
        files.extend(found)
    assert fs is not None
    # keep first occurrence order within each input, drop duplicates across inputs
    seen: set[str] = set()
    unique = [p for p in files if not (p in seen or seen.add(p))]
    selected = [p for p in unique if _matches(p, file_extensions)]
    if not selected:
        where = ", ".join(repr(p) for p in inputs[:5]) + (" ..." if len(inputs) > 5 else "")
        if unique and file_extensions:
            raise DataSourceError(
                f"no files with extensions {list(file_extensions)} under {where} "
                f"(found {len(unique)} other files, e.g. {display_path(fs, unique[0])!r}); "
                "pass file_extensions=None to read them all"
            )
        if not ignore_missing_paths:
            raise DataSourceError(f"no files to read under {where}")
    return ResolvedFiles(fs, selected)


def _expand_one(fs: fsspec.AbstractFileSystem, raw: str, stripped: str) -> Optional[list[str]]:
    if any(c in stripped for c in _GLOB_CHARS):
        explicit_hidden = posixpath.basename(stripped).startswith((".", "_"))
        matches = sorted(
            m for m in fs.glob(stripped)
            if explicit_hidden or not posixpath.basename(m.rstrip("/")).startswith((".", "_"))
        )  # like a shell, `*` does not match hidden names
        if not matches:
            return None
        out: list[str] = []
        for m in matches:
            out.extend(_expand_dir(fs, m) if fs.isdir(m) else [m])
        return out
    if is_object_store(fs):
        # one request for a key (HEAD), a listing only for a prefix; a refused permission is
        # raised, not taken for a missing path
        try:
            kind = fs.info(stripped).get("type")
        except FileNotFoundError:
            return None
        return _expand_dir(fs, stripped) if kind == "directory" else [stripped]
    try:
        if fs.isdir(stripped):
            return _expand_dir(fs, stripped)
        if fs.isfile(stripped) or fs.exists(stripped):
            return [stripped]
    except (FileNotFoundError, PermissionError):
        return None
    return None


def _missing_bucket_note(fs: fsspec.AbstractFileSystem, stripped: str) -> str:
    """For an object store, say when the bucket itself does not exist."""
    if not is_object_store(fs):
        return ""
    bucket = stripped.lstrip("/").split("/", 1)[0]
    try:
        return "" if not bucket or fs.exists(bucket) else f" (bucket {bucket!r} does not exist)"
    except Exception:  # noqa: BLE001 - only a hint
        return ""


def file_sizes(fs: fsspec.AbstractFileSystem, paths: Sequence[str]) -> list[Optional[int]]:
    """Sizes in bytes (None where the filesystem cannot say), for size estimates and splitting."""
    out: list[Optional[int]] = []
    for p in paths:
        try:
            out.append(int(fs.size(p)))
        except Exception:
            out.append(None)
    return out

"""Opening an Iceberg catalog and table for ``read_iceberg`` / ``write_iceberg``, in the driver.

Why one place: both connectors resolve the table the same way Ray Data 2.60 does
(``pyiceberg.catalog.load_catalog(name, **catalog_kwargs)``, the name taken out of the kwargs and
``"default"`` when absent), accept the same ``catalog=`` objects, and should say the same clear
thing when it goes wrong: which connector, which table, and whether the catalog could not be
opened, the namespace is missing or only the table is.

Only the driver opens catalogs: read and write tasks get the table's ``FileIO`` and metadata,
never a catalog (a SQL catalog holds a database engine, a REST one a session).
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Optional

from streamscope.engine.exceptions import DataSourceError
from streamscope.engine.io.optional_deps import import_optional


def require_pyiceberg(connector: str) -> Any:
    """Import pyiceberg (and its catalog module) or raise the ImportError naming the extra."""
    import_optional("pyiceberg", extra="iceberg", connector=connector)
    return import_optional("pyiceberg.catalog", extra="iceberg", connector=connector)


def resolve_catalog(connector: str, table_identifier: str, catalog_kwargs: Optional[dict], catalog: Any,
                    for_write: bool) -> tuple[str, dict, Any]:
    """``(table_identifier, catalog_kwargs, catalog object or None)`` from the arguments.

    ``catalog`` may be a pyiceberg ``Catalog`` (used as it is; a streamscope extension, Ray
    calls ``catalog.resolve``) or an object with Ray's ``Catalog.resolve(table, reader=, mode=)``
    (``ray.data.DatabricksUnityCatalog``), which supplies the catalog kwargs as in Ray."""
    if not isinstance(table_identifier, str) or not table_identifier.strip():
        raise TypeError(f"{connector}: table_identifier must be a non-empty string such as 'db.table', "
                        f"got {table_identifier!r}")
    if catalog_kwargs is not None and not isinstance(catalog_kwargs, dict):
        raise TypeError(f"{connector}: catalog_kwargs must be a dict of pyiceberg catalog properties, "
                        f"got {type(catalog_kwargs).__name__}")
    kwargs = dict(catalog_kwargs or {})
    if catalog is None:
        return table_identifier, kwargs, None
    pyiceberg_catalog = require_pyiceberg(connector)
    if isinstance(catalog, pyiceberg_catalog.Catalog):
        if kwargs:
            raise ValueError(f"{connector}: pass either catalog (a pyiceberg Catalog) or catalog_kwargs, not both")
        return table_identifier, {}, catalog
    if not callable(getattr(catalog, "resolve", None)):
        raise TypeError(f"{connector}: catalog must be a pyiceberg Catalog or a Ray Data Catalog (with resolve()), "
                        f"got {type(catalog).__name__}; or pass catalog_kwargs for pyiceberg.catalog.load_catalog")
    if kwargs:
        if for_write:  # Ray's write_iceberg refuses both; its read_iceberg warns and ignores catalog
            raise ValueError(f"{connector}: catalog_kwargs cannot be given together with catalog")
        warnings.warn(f"{connector}: catalog and catalog_kwargs are both given; catalog is ignored and "
                      "catalog_kwargs used (as Ray Data does)", UserWarning, stacklevel=3)
        return table_identifier, kwargs, None
    reader, mode = _ray_catalog_args(for_write, type(catalog).__module__.startswith("ray."))
    resolved = catalog.resolve(table_identifier, reader=reader, mode=mode)
    kwargs = dict(getattr(resolved, "catalog_kwargs", None) or {})
    table_identifier = getattr(resolved, "table_identifier", None) or table_identifier
    return table_identifier, kwargs, None


def _ray_catalog_args(for_write: bool, ray_catalog: bool) -> tuple[Any, Any]:
    """Ray's ``ReaderFormat.ICEBERG`` and ``CatalogAccessMode`` for one of Ray's catalog classes
    (they check the types), else their string values (both are ``str`` enums)."""
    if not ray_catalog:
        return "iceberg", "write" if for_write else "read"
    try:
        from ray.data.catalog import CatalogAccessMode, ReaderFormat  # type: ignore[import-not-found]
    except ImportError:
        return "iceberg", "write" if for_write else "read"
    return ReaderFormat.ICEBERG, CatalogAccessMode.WRITE if for_write else CatalogAccessMode.READ


def open_catalog(connector: str, table_identifier: str, catalog_kwargs: dict, catalog: Any) -> Any:
    """The catalog object: ``catalog`` itself, or ``load_catalog(name, **rest)`` with Ray's rule
    for the name (``catalog_kwargs["name"]``, default ``"default"``)."""
    if catalog is not None:
        return catalog
    pyiceberg_catalog = require_pyiceberg(connector)
    kwargs = dict(catalog_kwargs)
    name = kwargs.pop("name", "default")
    try:
        return pyiceberg_catalog.load_catalog(name, **kwargs)
    except Exception as exc:
        shown = {k: ("***" if _secret(k) else _hide_password(v)) for k, v in kwargs.items()}
        raise DataSourceError(f"{connector}: cannot open Iceberg catalog {name!r} for table {table_identifier!r} "
                              f"(catalog_kwargs={shown}): {type(exc).__name__}: {_first_line(exc)}") from exc


def load_table(connector: str, catalog: Any, table_identifier: str) -> Any:
    """``catalog.load_table(table_identifier)``, a missing namespace or table said plainly."""
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    try:
        return catalog.load_table(table_identifier)
    except (NoSuchTableError, NoSuchNamespaceError) as exc:
        raise DataSourceError(f"{connector}: {_missing_table(catalog, table_identifier)}") from exc
    except Exception as exc:
        raise DataSourceError(f"{connector}: cannot load Iceberg table {table_identifier!r} from catalog "
                              f"{getattr(catalog, 'name', '?')!r}: {type(exc).__name__}: {_first_line(exc)}") from exc


def _missing_table(catalog: Any, table_identifier: str) -> str:
    parts = table_identifier.split(".")
    cat = getattr(catalog, "name", "?")
    if len(parts) < 2:
        return (f"table {table_identifier!r} not found in Iceberg catalog {cat!r}; name it with its namespace, "
                "such as 'db.table'")
    namespace = ".".join(parts[:-1])
    try:
        if not catalog.namespace_exists(namespace):
            known = sorted(".".join(ns) for ns in catalog.list_namespaces())
            return (f"table {table_identifier!r} not found: namespace {namespace!r} does not exist in Iceberg "
                    f"catalog {cat!r} (namespaces: {known[:20]})")
        tables = sorted(".".join(t) for t in catalog.list_tables(namespace))
    except Exception:  # a catalog that cannot list: say what we know
        return f"table {table_identifier!r} not found in Iceberg catalog {cat!r}"
    return (f"table {table_identifier!r} not found in namespace {namespace!r} of Iceberg catalog {cat!r} "
            f"(tables there: {tables[:20]})")


def _secret(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in ("secret", "token", "password", "credential", "key"))


def _hide_password(value: Any) -> Any:
    """``scheme://user:secret@host`` shown as ``scheme://user:***@host``."""
    return re.sub(r"(://[^/:@]+):[^/@]*@", r"\1:***@", value) if isinstance(value, str) else value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

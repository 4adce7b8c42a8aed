"""Object stores (S3, Google Cloud Storage, Azure): which library and extra serve a protocol, the
filesystem a plain ``s3://`` path gets, and how their errors are described.

Why one module: three questions every file read and write asks of a remote path, answered once.

* **Which extra.** ``s3://`` is served by s3fs (extra ``s3``), ``gs://`` by gcsfs (``gcs``),
  ``abfs://``/``az://`` by adlfs (``azure``). A missing library is an ImportError naming the
  extra, raised in the driver when the dataset (or the write) is created.
* **Which endpoint and credentials.** Without ``filesystem=``, the filesystem is built in the
  driver from the driver's environment (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...), and those
  values become the filesystem's own options, so they travel with it to the worker processes. A
  worker started before the notebook set ``os.environ[...]`` (the local runtime keeps warm
  workers) or on another machine therefore uses the same endpoint and credentials as the driver,
  instead of silently falling back to its own environment.
* **Which errors are transient.** Ray Data's ``DataContext.retried_io_errors`` names transient
  object-store errors in pyarrow's words (``"AWS Error SLOW_DOWN"``); s3fs, gcsfs and adlfs say the
  same thing differently (botocore's ``(SlowDown)``, HTTP 503). :func:`transient_aliases` gives
  pyarrow's words for such an error, and the retry layer matches the patterns against them too, so
  Ray Data's default patterns, and a user's patterns written for Ray, apply whichever client
  served the request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

from streamscope.engine.io.optional_deps import import_optional


@dataclass(frozen=True)
class Store:
    """The fsspec library behind a protocol and the streamscope extra that installs it."""

    module: str
    extra: str
    family: str


_S3 = Store("s3fs", "s3", "s3")
_GCS = Store("gcsfs", "gcs", "gcs")
_AZURE = Store("adlfs", "azure", "azure")

STORES: dict[str, Store] = {"s3": _S3, "s3a": _S3, "gs": _GCS, "gcs": _GCS, "abfs": _AZURE, "abfss": _AZURE, "az": _AZURE}
"""Object-store protocols and what serves them."""


def store_for(protocol: Optional[str]) -> Optional[Store]:
    """The :class:`Store` of ``protocol`` (None for local, memory and other protocols).

    Examples:
        >>> from streamscope.engine.io.object_stores import store_for
        >>> store_for("s3").extra, store_for("az").module, store_for("file")
        ('s3', 'adlfs', None)
    """
    return STORES.get((protocol or "").lower())


def require_library(protocol: str, path: str) -> None:
    """Import the library ``protocol`` needs, or raise an ImportError naming its extra.

    Examples:
        >>> from streamscope.engine.io.object_stores import require_library
        >>> require_library("file", "/tmp/x")  # nothing to import for local paths
    """
    store = store_for(protocol)
    if store is not None:
        import_optional(store.module, extra=store.extra, connector=f"the path {path!r}")


def fs_protocols(fs: Any) -> tuple[str, ...]:
    """The protocols a filesystem answers to (an fsspec wrapper of a pyarrow filesystem: its
    ``type_name``, e.g. ``"s3"``)."""
    protocol = getattr(fs, "protocol", None)
    if isinstance(protocol, str):
        return (protocol,)
    return tuple(protocol or ())


def is_object_store(fs: Any) -> bool:
    """True for filesystems of an object store (no real directories: a "directory" is a key
    prefix, a "rename" a copy and a delete)."""
    return any(store_for(p) is not None for p in fs_protocols(fs))


def same_store(protocol: str, fs: Any) -> bool:
    """Whether a ``protocol://`` path belongs on ``fs`` (``s3a://`` on an ``s3`` filesystem,
    ``gcs://`` on a ``gs`` one...)."""
    protocols = {p.lower() for p in fs_protocols(fs)}
    if protocol.lower() in protocols:
        return True
    store = store_for(protocol)
    return store is not None and any(store_for(p) is not None and store_for(p).family == store.family for p in protocols)


# ---- the filesystem a plain path gets ---------------------------------------------------------
def env_options(protocol: str, environ: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """Filesystem options taken from the driver's environment for ``protocol`` (only the
    variables that are set): endpoint, credentials, region and botocore's retries for S3
    (``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE``, ``AWS_REGION`` or
    ``AWS_DEFAULT_REGION``, ``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``); emulator, project and credentials
    file for GCS (``STORAGE_EMULATOR_HOST``, ``GOOGLE_CLOUD_PROJECT``,
    ``GOOGLE_APPLICATION_CREDENTIALS``); the ``AZURE_STORAGE_*`` variables adlfs reads for Azure.

    ``environ`` defaults to ``os.environ``.

    Examples:
        >>> from streamscope.engine.io.object_stores import env_options
        >>> env_options("s3", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_DEFAULT_REGION": "eu-west-1"})
        {'endpoint_url': 'http://127.0.0.1:9000', 'client_kwargs': {'region_name': 'eu-west-1'}}
        >>> env_options("az", {"AZURE_STORAGE_ACCOUNT_NAME": "acct"})
        {'account_name': 'acct'}
    """
    env = os.environ if environ is None else environ

    def _first_env(*names: str) -> Optional[str]:
        for name in names:
            value = env.get(name)
            if value:
                return value
        return None

    store = store_for(protocol)
    out: dict[str, Any] = {}
    if store is _S3:
        endpoint = _first_env("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
        if endpoint:
            out["endpoint_url"] = endpoint
        key, secret = _first_env("AWS_ACCESS_KEY_ID"), _first_env("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            out["key"], out["secret"] = key, secret
            token = _first_env("AWS_SESSION_TOKEN")
            if token:
                out["token"] = token
        elif _first_env("AWS_PROFILE"):
            out["profile"] = _first_env("AWS_PROFILE")
        region = _first_env("AWS_REGION", "AWS_DEFAULT_REGION")
        if region:
            out["client_kwargs"] = {"region_name": region}
        retries: dict[str, Any] = {}
        attempts = _first_env("AWS_MAX_ATTEMPTS")
        if attempts and attempts.strip().isdigit():
            retries["total_max_attempts"] = int(attempts)
        if _first_env("AWS_RETRY_MODE"):
            retries["mode"] = _first_env("AWS_RETRY_MODE")
        if retries:
            out["config_kwargs"] = {"retries": retries}
    elif store is _GCS:
        emulator = _first_env("STORAGE_EMULATOR_HOST")
        if emulator and emulator != "default":
            out["endpoint_url"] = emulator if emulator.startswith(("http://", "https://")) else f"http://{emulator}"
        if _first_env("GOOGLE_CLOUD_PROJECT"):
            out["project"] = _first_env("GOOGLE_CLOUD_PROJECT")
        if _first_env("GOOGLE_APPLICATION_CREDENTIALS"):
            out["token"] = _first_env("GOOGLE_APPLICATION_CREDENTIALS")
    elif store is _AZURE:
        for option in ("account_name", "account_key", "connection_string", "sas_token", "client_id", "client_secret",
                       "tenant_id"):
            value = _first_env(f"AZURE_STORAGE_{option.upper()}")
            if value:
                out[option] = value
    return out


ANONYMOUS = "anonymous@"


def split_anonymous(path: str) -> tuple[str, bool]:
    """``s3://anonymous@bucket/key`` (Ray Data's way to read a public bucket without credentials)
    -> ``("s3://bucket/key", True)``; any other path comes back as it is, with False.

    Examples:
        >>> from streamscope.engine.io.object_stores import split_anonymous
        >>> split_anonymous("s3://anonymous@ray-example-data/iris.csv"), split_anonymous("s3://b/k")
        (('s3://ray-example-data/iris.csv', True), ('s3://b/k', False))
    """
    protocol, sep, rest = path.partition("://")
    if sep and store_for(protocol) is _S3 and rest.startswith(ANONYMOUS):
        return f"{protocol}://{rest[len(ANONYMOUS):]}", True
    return path, False


def default_filesystem(cls: type, protocol: str, path: str, *, anonymous: bool = False) -> Any:
    """The filesystem a ``protocol://`` path gets without ``filesystem=``: ``cls`` with the
    driver's environment (:func:`env_options`) and what the URL itself says (an Azure account
    name in ``abfs://container@account.dfs.core.windows.net/...``, an S3 ``versionId``).
    ``anonymous`` (an ``s3://anonymous@...`` path): unsigned requests, no credentials."""
    options = env_options(protocol)
    if anonymous:
        for key in ("key", "secret", "token", "profile"):
            options.pop(key, None)
        options["anon"] = True
    try:
        options.update(cls._get_kwargs_from_urls(path))
    except Exception:  # noqa: BLE001 - a URL the library cannot parse for options has none
        pass
    return cls(**options)


def describe_endpoint(fs: Any) -> Optional[str]:
    """Where an object-store filesystem sends its requests, for error messages (None when it
    cannot say, or for non-object-store filesystems).

    Examples:
        >>> import fsspec
        >>> from streamscope.engine.io.object_stores import describe_endpoint
        >>> describe_endpoint(fsspec.filesystem("memory")) is None
        True
    """
    if not is_object_store(fs):
        return None
    endpoint = getattr(fs, "endpoint_url", None) or (getattr(fs, "client_kwargs", None) or {}).get("endpoint_url")
    inner = getattr(fs, "fs", None)  # fsspec's ArrowFSWrapper of a pyarrow filesystem
    if not endpoint and inner is not None and type(inner).__name__ == "S3FileSystem":
        try:
            options = inner.__reduce__()[1][0]
            if options.get("endpoint_override"):
                endpoint = f"{options.get('scheme') or 'https'}://{options['endpoint_override']}"
        except Exception:  # noqa: BLE001 - only for a message
            endpoint = None
    if not endpoint and hasattr(fs, "_location"):  # gcsfs
        try:
            endpoint = fs._location
        except Exception:  # noqa: BLE001
            endpoint = None
    if not endpoint and getattr(fs, "account_url", None):  # adlfs
        endpoint = fs.account_url
    if endpoint:
        return f"endpoint {endpoint}"
    protocol = fs_protocols(fs)[0]
    return {"s3": "AWS S3 (default endpoint)", "gs": "Google Cloud Storage", "gcs": "Google Cloud Storage"}.get(
        protocol, f"'{protocol}://' (default endpoint)")


# ---- errors ---------------------------------------------------------------------------------------
_NETWORK_ERRORS = {"ConnectionClosedError", "ReadTimeoutError", "ResponseStreamingError", "IncompleteReadError",
                   "ClientPayloadError", "ServerDisconnectedError", "IncompleteRead", "ServiceResponseError"}
"""Clients' names for a connection that broke mid-request (not one that could not be opened: an
endpoint that refuses connections fails at once, see below)."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status_and_code(exc: BaseException) -> tuple[Optional[int], Optional[str]]:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        error = response.get("Error") or {}
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        code = error.get("Code")
        if status is None and isinstance(code, str) and code.isdigit():
            status = int(code)
        return status, code
    code = getattr(exc, "code", None)  # gcsfs HttpError
    if isinstance(code, int) and 100 <= code < 600 and type(exc).__name__ == "HttpError":
        return code, None
    status = getattr(exc, "status_code", None)  # azure-core HttpResponseError
    if isinstance(status, int):
        return status, getattr(exc, "error_code", None)
    return None, None


def transient_aliases(exc: BaseException) -> list[str]:
    """pyarrow's words for the object-store errors in ``exc`` (and what it wraps): what Ray
    Data's ``retried_io_errors`` patterns are written against.

    * S3 ``SlowDown`` (and HTTP 429) -> ``AWS Error SLOW_DOWN``
    * ``InternalError`` / HTTP 500 -> ``AWS Error INTERNAL_FAILURE``
    * ``ServiceUnavailable`` -> ``AWS Error SERVICE_UNAVAILABLE``
    * any other HTTP 5xx -> ``AWS Error UNKNOWN (HTTP status <n>)``
    * a connection that broke mid-request -> ``AWS Error NETWORK_CONNECTION``

    A connection that could not be opened at all (an endpoint nobody listens on) gets no alias:
    it fails the read at once, naming the endpoint, instead of being retried for minutes.

    Examples:
        >>> from streamscope.engine.io.object_stores import transient_aliases
        >>> class ClientError(Exception):
        ...     response = {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}
        >>> transient_aliases(OSError("Please reduce your request rate."))
        []
        >>> try:
        ...     raise OSError(16, "Please reduce your request rate.") from ClientError()
        ... except OSError as err:
        ...     transient_aliases(err)
        ['AWS Error SLOW_DOWN', 'AWS Error UNKNOWN (HTTP status 503)']
    """
    out: list[str] = []
    for err in _chain(exc):
        names = {cls.__name__ for cls in type(err).__mro__}
        if names & _NETWORK_ERRORS:
            out.append("AWS Error NETWORK_CONNECTION")
            continue
        status, code = _status_and_code(err)
        if code == "SlowDown" or status == 429:
            out.append("AWS Error SLOW_DOWN")
        if code in ("InternalError", "InternalFailure") or status == 500:
            out.append("AWS Error INTERNAL_FAILURE")
        if code == "ServiceUnavailable":
            out.append("AWS Error SERVICE_UNAVAILABLE")
        if status is not None and 500 <= status < 600 and status != 500:
            out.append(f"AWS Error UNKNOWN (HTTP status {status})")
    return list(dict.fromkeys(out))


class TransientStoreError(OSError):
    """An object-store error described in pyarrow's words (what :func:`transient_aliases`
    returns), matched against the retry patterns alongside the error itself."""


def alias_error(exc: BaseException) -> Optional[TransientStoreError]:
    """``exc`` in pyarrow's words, or None when it is no transient object-store error."""
    aliases = transient_aliases(exc)
    return TransientStoreError("; ".join(aliases)) if aliases else None


def is_store_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from storage (an OSError, or an error of an object-store client)."""
    for err in _chain(exc):
        if isinstance(err, OSError):
            return True
        module = type(err).__module__ or ""
        if module.split(".")[0] in ("botocore", "aiobotocore", "aiohttp", "gcsfs", "google", "azure", "adlfs", "s3fs"):
            return True
    return False


def describe_store_failure(fs: Any, exc: BaseException) -> str:
    """``"ClassName: message"`` of a storage error, with the store's error code and HTTP status,
    the endpoint of an object store and, for a refused permission, a hint at the credentials.

    Examples:
        >>> import fsspec
        >>> from streamscope.engine.io.object_stores import describe_store_failure
        >>> describe_store_failure(fsspec.filesystem("memory"), FileNotFoundError("x.csv"))
        'FileNotFoundError: x.csv'
    """
    text = f"{type(exc).__name__}: {exc}"
    for err in _chain(exc):  # the store's own error code (s3fs keeps botocore's error as the cause)
        status, code = _status_and_code(err)
        parts = (None if code is None or str(code) == str(status) else code, f"HTTP {status}" if status else None)
        said = ", ".join(str(x) for x in parts if x and str(x) not in text)
        if said:
            text += f" [{said}]"
            break
    endpoint = describe_endpoint(fs)
    if endpoint and endpoint.split(" ", 1)[-1] not in text:
        text += f" ({endpoint})"
    if isinstance(exc, PermissionError) and endpoint:
        text += "; check the credentials (those of filesystem=, or the environment's: AWS_ACCESS_KEY_ID ...)"
    return text

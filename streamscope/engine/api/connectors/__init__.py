"""Public read_* functions and the write_* implementations of connectors beyond local files
(databases, lakehouse tables, Hugging Face, media, tar shards), one module per connector.

Each module checks its arguments and imports its optional library (``io/optional_deps.py``) in the
driver, then builds a datasource or datasink from ``engine/io/``; the Dataset's write methods in
``api/connector_writes.py`` are thin wrappers with Ray Data 2.60's signatures.
"""

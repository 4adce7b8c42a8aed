"""Dataset write methods of the connectors (``write_sql``, ``write_delta``...), kept apart from
``writes.py`` (the file formats) so each stays one concept.

Each method has Ray Data 2.60's signature and docstring and hands its arguments to the connector's
module in ``api/connectors/``, imported lazily: a connector's library is imported only when its
write is called, so ``import streamscope`` never pays for it.
"""

from __future__ import annotations


class ConnectorWriteMixin:
    """Dataset methods that write to databases, lakehouse tables and other connectors."""

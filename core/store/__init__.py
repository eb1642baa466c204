"""Storage: the port (``core.store.port``) and the adapter chosen by settings."""

from __future__ import annotations

import importlib

from core.config import Settings
from core.store.port import ConflictError, NotFoundError, Store, StoreError

# Adapters are chosen by name, like Scrapy components: dotted path of a factory taking Settings.
ADAPTERS = {
    "sqlite": "core.store.sqlite:open_sqlite_store",
    "elasticsearch": "core.store.elastic:open_elastic_store",
}


def open_store(settings: Settings) -> Store:
    """Open the store the settings ask for (SQLite unless an Elasticsearch URL is set)."""
    backend = settings.store.resolved_backend
    module_name, _, factory = ADAPTERS[backend].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, factory)(settings)


__all__ = ["ConflictError", "NotFoundError", "Store", "StoreError", "open_store"]

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
# The one-time step that creates or upgrades the schema (``brandguard store migrate``);
# SQLite does it when the file is opened.
MIGRATIONS = {
    "sqlite": "core.store.sqlite:open_sqlite_store",
    "elasticsearch": "core.store.elastic:migrate_elastic_store",
}


def open_store(settings: Settings) -> Store:
    """Open the store the settings ask for (SQLite unless an Elasticsearch URL is set)."""
    return _call(ADAPTERS, settings)


def migrate_store(settings: Settings) -> Store:
    """Create or upgrade the store's schema (idempotent; safe from two processes at once) and
    return it open; its ``setup_actions`` (when it has them) say what was done."""
    return _call(MIGRATIONS, settings)


def _call(table: dict[str, str], settings: Settings) -> Store:
    module_name, _, factory = table[settings.store.resolved_backend].partition(":")
    return getattr(importlib.import_module(module_name), factory)(settings)


__all__ = ["ConflictError", "NotFoundError", "Store", "StoreError", "migrate_store", "open_store"]

"""The embedded SQLite adapter of the storage port (``core.store.port.Store``).

One database file (``settings.sqlite_path``) in WAL mode, shared safely by several
threads (one connection each) and processes (``BEGIN IMMEDIATE`` write transactions,
busy timeout). The schema is versioned (``schema.MIGRATIONS``, applied at open).
Each concern lives in its own module; :class:`SqliteStore` combines them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config import Settings
from core.store.sqlite.alerts import AlertsMixin
from core.store.sqlite.connection import SqliteBase
from core.store.sqlite.customers import CustomersMixin
from core.store.sqlite.mentions import MentionsMixin
from core.store.sqlite.outbox import OutboxMixin
from core.store.sqlite.queue import QueueMixin
from core.store.sqlite.riskflags import RiskFlagsMixin
from core.store.sqlite.schema import DATA_TABLES
from core.store.sqlite.search import SearchMixin
from core.store.sqlite.stats import StatsMixin
from core.store.sqlite.threads import ThreadsMixin

_COUNTED = {
    "mentions": "mentions", "customers": "customers", "identity_links": "identity_links",
    "audit_events": "audit_log", "threads": "threads", "campaigns": "campaigns", "alerts": "alerts",
    "silences": "silences", "deliveries": "deliveries", "risk_flags": "risk_flags", "api_keys": "api_keys",
}


class SqliteStore(
    MentionsMixin, SearchMixin, StatsMixin, QueueMixin, CustomersMixin, ThreadsMixin, AlertsMixin, OutboxMixin,
    RiskFlagsMixin, SqliteBase,
):
    """Every storage operation on one SQLite file."""

    name = "sqlite"
    search_lag_seconds = 0.0  # a committed write is searchable at once

    def stats(self) -> dict[str, Any]:
        """Counts per record kind, queue depths per stage, the file and schema version."""
        conn = self._conn()
        counts = {kind: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for kind, table in _COUNTED.items()}
        return {
            "backend": self.name,
            "path": str(self.path),
            "schema_version": self.schema_version(),
            "counts": counts,
            "queues": {stage: self.queue_depth(stage) for stage in self.stages()},
            "alerts_by_state": self.count_alerts_by_state(),
            "deliveries_by_status": self.count_deliveries_by_status(),
        }

    def drop_all(self) -> None:
        """Delete every record (tests); the schema stays."""
        with self._write() as conn:
            for table in DATA_TABLES:
                conn.execute(f"DELETE FROM {table}")
            conn.execute("INSERT INTO mention_fts(mention_fts) VALUES ('delete-all')")


def open_sqlite_store(settings: Settings) -> SqliteStore:
    """Open (creating it and its folder if needed) the store at ``settings.sqlite_path``."""
    return SqliteStore(Path(settings.sqlite_path))


__all__ = ["SqliteStore", "open_sqlite_store"]

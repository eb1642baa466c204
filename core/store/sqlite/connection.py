"""SQLite connections: one per thread, WAL, busy timeout, explicit write transactions.

Several threads and several processes may share one database file. Reads run in
autocommit mode; every write runs inside ``BEGIN IMMEDIATE`` so that claims and
leases are decided by exactly one writer at a time.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from core.domain import utcnow
from core.store.common import check_cursor_parts
from core.store.port import StoreError
from core.store.sqlite.schema import apply_migrations

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)
BUSY_TIMEOUT_S = 30.0


def to_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware (or naive-as-UTC) time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """The aware UTC time of an epoch-milliseconds value."""
    return EPOCH + timedelta(milliseconds=ms)


def now_ms(now: datetime | None) -> int:
    """``now`` (default: the current UTC time) as epoch milliseconds."""
    return to_ms(now if now is not None else utcnow())


def encode_cursor(*parts: Any) -> str:
    """An opaque, URL-safe cursor from JSON-able parts."""
    raw = json.dumps(list(parts), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str, shape: Sequence[str]) -> list[Any]:
    """Parts of a cursor made by :func:`encode_cursor` whose first part is ``kind`` and
    whose other parts have ``shape`` (see ``core.store.common.check_cursor_parts``)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise StoreError(f"invalid cursor {cursor[:40]!r}: {exc}") from None
    if not isinstance(parts, list) or not parts or parts[0] != kind:
        raise StoreError(f"invalid cursor {cursor[:40]!r}: not a {kind!r} cursor")
    return [kind, *check_cursor_parts(parts[1:], shape, kind)]


class SqliteBase:
    """Owns the database file and hands each thread its own connection."""

    name = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        with self._write() as conn:
            apply_migrations(conn)

    # ------------------------------------------------------------ connections

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache per connection
            conn.execute("PRAGMA mmap_size = 268435456")  # read pages through the OS cache
            # Checkpoint every ~32 MiB of WAL instead of 4 MiB: fewer fsyncs during bulk ingest,
            # and pages rewritten by consecutive batches are copied to the database once.
            conn.execute("PRAGMA wal_autocheckpoint = 8000")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that holds the database's write lock from its start."""
        conn = self._conn()
        if conn.in_transaction:  # nested use inside one of our own transactions
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several reads see one consistent state."""
        conn = self._conn()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:  # an interrupted write (a search past its budget) already rolled back
                conn.execute("COMMIT")

    # ------------------------------------------------------------ lifecycle

    def ping(self) -> bool:
        """True when the database file answers a query."""
        try:
            return self._conn().execute("SELECT 1").fetchone() == (1,)
        except sqlite3.Error:
            return False

    def refresh(self) -> None:
        """No-op: SQLite reads see every committed write (Elasticsearch needs a refresh)."""

    def close(self) -> None:
        """Close every thread's connection; the store cannot be used afterwards."""
        self._closed = True
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:  # pragma: no cover - closing a broken connection
                pass
        self._local = threading.local()

    def schema_version(self) -> int:
        """The highest migration applied to this file."""
        row = self._conn().execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

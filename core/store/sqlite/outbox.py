"""Outbox deliveries: enqueue by id, claim due ones with leases, record outcomes.

A claim runs in a ``BEGIN IMMEDIATE`` transaction, so two dispatchers never get the
same delivery; outcomes are recorded only by the worker that still holds the lease.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Callable, Sequence

from core.domain import Delivery, DeliveryStatus
from core.store.port import NotFoundError
from core.store.sqlite.connection import from_ms, now_ms, to_ms


def _row(d: Delivery) -> tuple[Any, ...]:
    return (
        d.alert_id, d.status.value, to_ms(d.next_attempt_at), d.lease_owner,
        to_ms(d.lease_until) if d.lease_until else None, to_ms(d.created_at), d.model_dump_json(),
    )


class OutboxMixin:
    """The notification outbox."""

    def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        """Insert deliveries not already stored (by id); returns how many were new."""
        with self._write() as conn:
            return self._insert_deliveries(conn, deliveries)

    def _insert_deliveries(self, conn: sqlite3.Connection, deliveries: Sequence[Delivery]) -> int:
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO deliveries(alert_id, status, next_attempt_ms, lease_owner, lease_until_ms,"
            " created_ms, doc, id) VALUES (?,?,?,?,?,?,?,?)",
            [(*_row(d), d.id) for d in deliveries],
        )
        return conn.total_changes - before

    def _save_delivery(self, conn: sqlite3.Connection, d: Delivery) -> None:
        conn.execute(
            "UPDATE deliveries SET alert_id=?, status=?, next_attempt_ms=?, lease_owner=?, lease_until_ms=?,"
            " created_ms=?, doc=? WHERE id = ?",
            (*_row(d), d.id),
        )

    def claim_due_deliveries(
        self, worker: str, limit: int, lease_seconds: float, now: datetime | None = None
    ) -> list[Delivery]:
        """Lease due pending/failed deliveries (and ``sending`` ones whose lease expired)
        to ``worker``; each claim counts as one attempt."""
        t = now_ms(now)
        until = from_ms(t + int(lease_seconds * 1000))
        claimed: list[Delivery] = []
        with self._write() as conn:
            rows = conn.execute(
                "SELECT doc FROM deliveries WHERE (status IN ('pending', 'failed') AND next_attempt_ms <= ?)"
                " OR (status = 'sending' AND lease_until_ms <= ?) ORDER BY next_attempt_ms, created_ms, id LIMIT ?",
                (t, t, limit),
            ).fetchall()
            for (doc,) in rows:
                d = Delivery.model_validate_json(doc).model_copy(update={
                    "status": DeliveryStatus.sending, "lease_owner": worker, "lease_until": until,
                    "attempts": Delivery.model_validate_json(doc).attempts + 1,
                })
                self._save_delivery(conn, d)
                claimed.append(d)
        return claimed

    def _held(self, conn: sqlite3.Connection, delivery_id: str, worker: str) -> Delivery | None:
        row = conn.execute(
            "SELECT doc FROM deliveries WHERE id = ? AND status = 'sending' AND lease_owner = ?",
            (delivery_id, worker),
        ).fetchone()
        return Delivery.model_validate_json(row[0]) if row else None

    def mark_delivery_sent(self, delivery_id: str, worker: str, now: datetime | None = None) -> bool:
        """Record success; False when ``worker`` no longer holds the delivery."""
        with self._write() as conn:
            d = self._held(conn, delivery_id, worker)
            if d is None:
                return False
            self._save_delivery(conn, d.model_copy(update={
                "status": DeliveryStatus.sent, "sent_at": from_ms(now_ms(now)),
                "lease_owner": None, "lease_until": None, "last_error": None,
            }))
            return True

    def mark_delivery_failed(
        self, delivery_id: str, worker: str, error: str, next_attempt_at: datetime | None, dead: bool = False
    ) -> bool:
        """Record a failed attempt: retry at ``next_attempt_at``, or give up when ``dead``
        (or when no retry time is given). False when the lease was lost."""
        with self._write() as conn:
            d = self._held(conn, delivery_id, worker)
            if d is None:
                return False
            give_up = dead or next_attempt_at is None
            update: dict[str, Any] = {
                "status": DeliveryStatus.dead if give_up else DeliveryStatus.failed,
                "last_error": error, "lease_owner": None, "lease_until": None,
            }
            if not give_up:
                update["next_attempt_at"] = next_attempt_at
            self._save_delivery(conn, d.model_copy(update=update))
            return True

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        """The delivery, or None."""
        row = self._conn().execute("SELECT doc FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return Delivery.model_validate_json(row[0]) if row else None

    def rewrite_delivery_payloads(self, alert_id: str, transform: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
        """Replace the payload of each delivery of ``alert_id`` by ``transform(payload)``."""
        changed = 0
        with self._write() as conn:
            for delivery_id, doc in conn.execute("SELECT id, doc FROM deliveries WHERE alert_id = ?", (alert_id,)).fetchall():
                old = Delivery.model_validate_json(doc)
                payload = transform(old.payload)
                if payload != old.payload:
                    new = old.model_copy(update={"payload": payload})
                    conn.execute("UPDATE deliveries SET doc = ? WHERE id = ?", (new.model_dump_json(), delivery_id))
                    changed += 1
        return changed

    def list_deliveries(
        self, *, alert_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """Deliveries (of an alert, in a status), oldest first."""
        where, params = [], []
        if alert_id is not None:
            where.append("alert_id = ?")
            params.append(alert_id)
        if status is not None:
            where.append("status = ?")
            params.append(getattr(status, "value", status))
        sql = "SELECT doc FROM deliveries" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created_ms, id LIMIT ?"
        return [Delivery.model_validate_json(r[0]) for r in self._conn().execute(sql, (*params, limit))]

    def redeliver(self, delivery_id: str, now: datetime | None = None) -> Delivery:
        """Make a delivery pending again, due now, with its attempts reset."""
        with self._write() as conn:
            row = conn.execute("SELECT doc FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"delivery {delivery_id!r} not found")
            d = Delivery.model_validate_json(row[0]).model_copy(update={
                "status": DeliveryStatus.pending, "attempts": 0, "next_attempt_at": from_ms(now_ms(now)),
                "lease_owner": None, "lease_until": None,
            })
            self._save_delivery(conn, d)
            return d

    def count_deliveries_by_status(self) -> dict[str, int]:
        """Number of deliveries per status (statuses without deliveries are left out)."""
        rows = self._conn().execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
        return {status: n for status, n in rows}

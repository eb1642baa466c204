"""Alerts with optimistic concurrency, and silences.

``version`` is checked and bumped in the ``UPDATE``'s WHERE clause; an alert's
deliveries are written in the same transaction as the alert change. A partial unique
index keeps one unresolved alert per fingerprint.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Sequence

from core.domain import Alert, Delivery, Silence
from core.store.port import AlertFilter, ConflictError, NotFoundError
from core.store.sqlite.connection import decode_cursor, encode_cursor, now_ms, to_ms


def _alert_row(alert: Alert) -> tuple[Any, ...]:
    return (
        alert.fingerprint, alert.state.value, alert.severity.value, alert.rule, alert.brand,
        alert.customer_id, alert.assignee, int(alert.escalated),
        to_ms(alert.ack_deadline) if alert.ack_deadline else None,
        to_ms(alert.created_at), to_ms(alert.updated_at), alert.version, alert.model_dump_json(),
    )


class AlertsMixin:
    """Alerts and silences (deliveries live in ``outbox``)."""

    def create_alert(self, alert: Alert, deliveries: Sequence[Delivery] = ()) -> Alert:
        """Insert a new alert (version 1) and its deliveries atomically; ConflictError
        when the id exists or an unresolved alert has the same fingerprint."""
        stored = alert.model_copy(update={"version": 1})
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO alerts(fingerprint, state, severity, rule, brand, customer_id, assignee,"
                    " escalated, ack_deadline_ms, created_ms, updated_ms, version, doc, id)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (*_alert_row(stored), stored.id),
                )
                self._insert_deliveries(conn, deliveries)
        except sqlite3.IntegrityError as exc:
            raise ConflictError(
                f"alert {alert.id!r} not created: an alert with this id or an unresolved alert with"
                f" fingerprint {alert.fingerprint!r} exists ({exc})"
            ) from exc
        return stored

    def update_alert(self, alert: Alert, expected_version: int, deliveries: Sequence[Delivery] = ()) -> Alert:
        """Replace the alert when its stored version is ``expected_version`` (then +1),
        with its deliveries in the same transaction; ConflictError otherwise."""
        stored = alert.model_copy(update={"version": expected_version + 1})
        try:
            with self._write() as conn:
                changed = conn.execute(
                    "UPDATE alerts SET fingerprint=?, state=?, severity=?, rule=?, brand=?, customer_id=?,"
                    " assignee=?, escalated=?, ack_deadline_ms=?, created_ms=?, updated_ms=?, version=?, doc=?"
                    " WHERE id = ? AND version = ?",
                    (*_alert_row(stored), stored.id, expected_version),
                ).rowcount
                if not changed:
                    row = conn.execute("SELECT version FROM alerts WHERE id = ?", (alert.id,)).fetchone()
                    if row is None:
                        raise NotFoundError(f"alert {alert.id!r} not found")
                    raise ConflictError(
                        f"alert {alert.id!r} changed meanwhile: stored version {row[0]}, expected {expected_version}"
                    )
                self._insert_deliveries(conn, deliveries)
        except sqlite3.IntegrityError as exc:
            raise ConflictError(
                f"alert {alert.id!r} not updated: another unresolved alert has fingerprint {alert.fingerprint!r}"
            ) from exc
        return stored

    def get_alert(self, alert_id: str) -> Alert | None:
        """The alert, or None."""
        row = self._conn().execute("SELECT doc FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return Alert.model_validate_json(row[0]) if row else None

    def find_alert_by_fingerprint(self, fingerprint: str) -> Alert | None:
        """The newest alert with this fingerprint, resolved ones included."""
        row = self._conn().execute(
            "SELECT doc FROM alerts WHERE fingerprint = ? ORDER BY created_ms DESC, rowid DESC LIMIT 1",
            (fingerprint,),
        ).fetchone()
        return Alert.model_validate_json(row[0]) if row else None

    def list_alerts(self, flt: AlertFilter) -> tuple[list[Alert], str | None]:
        """Alerts matching the filter, most recently updated first, with a cursor."""
        where, params = [], []
        for column, values in (("state", [s.value if hasattr(s, "value") else s for s in flt.states]),
                               ("severity", flt.severities), ("brand", flt.brands)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)
        for column, value in (("rule", flt.rule), ("customer_id", flt.customer_id), ("assignee", flt.assignee)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if flt.cursor:
            _, updated, last_id = decode_cursor(flt.cursor, "alerts", ("int", "str"))
            where.append("(updated_ms < ? OR (updated_ms = ? AND id < ?))")
            params.extend([updated, updated, last_id])
        sql = "SELECT id, updated_ms, doc FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_ms DESC, id DESC LIMIT ?"
        rows = self._conn().execute(sql, (*params, flt.limit + 1)).fetchall()
        more = len(rows) > flt.limit
        rows = rows[: flt.limit]
        cursor = encode_cursor("alerts", rows[-1][1], rows[-1][0]) if more else None
        return [Alert.model_validate_json(r[2]) for r in rows], cursor

    def alerts_due_for_escalation(self, now: datetime, limit: int = 100) -> list[Alert]:
        """Open, unacknowledged, not yet escalated alerts past their ack deadline."""
        rows = self._conn().execute(
            "SELECT doc FROM alerts WHERE state = 'open' AND escalated = 0 AND ack_deadline_ms <= ?"
            " ORDER BY ack_deadline_ms, id LIMIT ?",
            (now_ms(now), limit),
        ).fetchall()
        return [Alert.model_validate_json(r[0]) for r in rows]

    def count_alerts_by_state(self) -> dict[str, int]:
        """Number of alerts per state (states without alerts are left out)."""
        rows = self._conn().execute("SELECT state, count(*) FROM alerts GROUP BY state").fetchall()
        return {state: n for state, n in rows}

    # ------------------------------------------------------------ silences

    def add_silence(self, silence: Silence) -> None:
        """Insert or replace a silence by id."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO silences(id, starts_ms, ends_ms, doc) VALUES (?, ?, ?, ?) ON CONFLICT(id)"
                " DO UPDATE SET starts_ms = excluded.starts_ms, ends_ms = excluded.ends_ms, doc = excluded.doc",
                (silence.id, to_ms(silence.starts_at), to_ms(silence.ends_at), silence.model_dump_json()),
            )

    def list_silences(self, active_at: datetime | None = None) -> list[Silence]:
        """Every silence, or those active at ``active_at`` (starts <= t < ends)."""
        if active_at is None:
            rows = self._conn().execute("SELECT doc FROM silences ORDER BY starts_ms, id").fetchall()
        else:
            t = to_ms(active_at)
            rows = self._conn().execute(
                "SELECT doc FROM silences WHERE starts_ms <= ? AND ends_ms > ? ORDER BY starts_ms, id", (t, t)
            ).fetchall()
        return [Silence.model_validate_json(r[0]) for r in rows]

    def delete_silence(self, silence_id: str) -> bool:
        """Delete a silence; False when there was none."""
        with self._write() as conn:
            return conn.execute("DELETE FROM silences WHERE id = ?", (silence_id,)).rowcount > 0

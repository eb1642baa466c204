"""The SQLite schema as an ordered list of migrations, applied at open.

Each migration runs once, inside the opening write transaction, and is recorded in
``schema_version``. Append new migrations to ``MIGRATIONS``; never edit an applied one.

Models are stored whole as JSON (``doc``) next to the indexed columns queries need.
Mentions use a time-ordered integer key ``rk = (published_at ms << 10) + slot`` that is
also the FTS5 rowid, so a newest-first keyword search walks the full-text index in
``rowid DESC`` order with the date range pushed down and stops after ``LIMIT`` rows.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from core.store.sqlite.stats_schema import STATS_TABLES, V2

_V1 = """
CREATE TABLE mentions (
    rk INTEGER PRIMARY KEY,          -- (published ms << 10) + slot; the FTS rowid
    id TEXT NOT NULL UNIQUE,
    platform TEXT NOT NULL,
    source TEXT NOT NULL,
    author_key TEXT,
    lang TEXT,
    sentiment TEXT,
    emotion TEXT,                    -- dominant emotion label
    risk REAL NOT NULL DEFAULT -1,   -- risk.score, -1 when not scored
    customer_id TEXT,
    thread_id TEXT,
    campaign_id TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX mentions_customer ON mentions(customer_id, rk) WHERE customer_id IS NOT NULL;
CREATE INDEX mentions_thread ON mentions(thread_id, rk) WHERE thread_id IS NOT NULL;
CREATE INDEX mentions_campaign ON mentions(campaign_id, rk) WHERE campaign_id IS NOT NULL;
CREATE INDEX mentions_author ON mentions(author_key, rk);
CREATE INDEX mentions_risk ON mentions(risk, rk);
CREATE TABLE mention_brands (
    rk INTEGER NOT NULL,
    brand TEXT NOT NULL,
    PRIMARY KEY (rk, brand)
) WITHOUT ROWID;
CREATE INDEX mention_brands_brand ON mention_brands(brand, rk);
-- Contentless: the normalised text is only indexed; 'delete' recomputes it from doc.
CREATE VIRTUAL TABLE mention_fts USING fts5(
    body, content='', tokenize='unicode61 remove_diacritics 2'
);

CREATE TABLE work_queue (
    stage TEXT NOT NULL,
    mention_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    enqueued_ms INTEGER NOT NULL,
    due_ms INTEGER NOT NULL,         -- ready time, or lease end while leased
    lease_owner TEXT,
    rerun_ms INTEGER,                -- enqueued again (at) while leased: run once more after ack
    dead INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (stage, mention_id)
) WITHOUT ROWID;
CREATE INDEX work_queue_due ON work_queue(stage, dead, due_ms);
CREATE TABLE checkpoints (name TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE customers (
    crm_id TEXT PRIMARY KEY,
    erased INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE TABLE identity_keys (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    crm_id TEXT NOT NULL REFERENCES customers(crm_id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value, crm_id)
) WITHOUT ROWID;
CREATE INDEX identity_keys_crm ON identity_keys(crm_id);
CREATE TABLE identity_links (
    author_key TEXT NOT NULL,
    crm_id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (author_key, crm_id)
);
CREATE INDEX identity_links_crm ON identity_links(crm_id);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    subject TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(subject, seq);

CREATE TABLE threads (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE campaigns (id TEXT PRIMARY KEY, last_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX campaigns_last ON campaigns(last_ms);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    rule TEXT NOT NULL,
    brand TEXT,
    customer_id TEXT,
    assignee TEXT,
    escalated INTEGER NOT NULL,
    ack_deadline_ms INTEGER,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
-- One unresolved alert per situation: the fingerprint is unique among unresolved alerts.
CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts(fingerprint) WHERE state != 'resolved';
CREATE INDEX alerts_fingerprint ON alerts(fingerprint, created_ms);
CREATE INDEX alerts_updated ON alerts(updated_ms, id);
CREATE INDEX alerts_escalation ON alerts(state, escalated, ack_deadline_ms);
CREATE TABLE silences (id TEXT PRIMARY KEY, starts_ms INTEGER NOT NULL, ends_ms INTEGER NOT NULL,
                       doc TEXT NOT NULL);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    status TEXT NOT NULL,
    next_attempt_ms INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until_ms INTEGER,
    created_ms INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_ms);
CREATE INDEX deliveries_alert ON deliveries(alert_id, created_ms);

CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE risk_flags (crm_id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE api_keys (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
"""

# Ordered: (version, description, SQL script).
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "mentions with FTS5, work queues, customers, alerts, outbox, risk flags, api keys", _V1),
    (2, "overview statistics: hourly/daily counts per brand set, platform, source, language; followers and "
        "negative-mention indexes", V2),
]

# Tables whose rows drop_all() deletes (the FTS index is cleared separately).
DATA_TABLES = (
    "mentions", "mention_brands", "work_queue", "checkpoints", "customers", "identity_keys",
    "identity_links", "audit_log", "threads", "campaigns", "alerts", "silences", "deliveries",
    "counters", "risk_flags", "api_keys", *STATS_TABLES,
)


def apply_migrations(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the file's version (inside the caller's
    write transaction); returns the resulting version."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
    for version, description, script in MIGRATIONS:
        if version <= current:
            continue
        # executescript would COMMIT the open transaction: run statement by statement instead.
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_version(version, description, applied_at) VALUES (?, ?, ?)",
            (version, description, datetime.now(timezone.utc).isoformat()),
        )
        current = version
    return current


def _statements(script: str) -> list[str]:
    """Split a migration script into complete statements."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out

"""Importing CRM customer records from CSV or JSON Lines, idempotent by ``crm_id``.

JSON Lines: one ``core.domain.Customer``-shaped object per line. CSV: a header row with
``crm_id`` and any of ``name, emails, phones, handles, order_ids, tier, segment,
lifetime_value, rfm_recency_days, rfm_frequency, rfm_monetary, tickets, do_not_link,
do_not_contact``. List cells are separated by ``;`` (``handles`` as ``platform:handle``,
e.g. ``mastodon:mina_r;forum:mina_r``); ``tickets`` is a JSON array of ticket objects.

Times (ticket ``opened_at``/``last_contact_at``) are ISO 8601 or *relative* offsets such
as ``-9d``, ``-6h``, ``-30m`` resolved against the ``now`` the import is given (the demo
CRM uses offsets so its story is always "9 days ago").

A bad row never stops the good ones: each rejected row is reported with its line number
and why; the rest are written in batches with ``store.upsert_customers``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import ValidationError

from core.domain import Customer
from core.store.port import Store

_OFFSET_RE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_LIST_FIELDS = ("emails", "phones", "order_ids")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"", "0", "false", "no", "n"}


@dataclass(frozen=True)
class RowError:
    """One rejected row: where it was and why."""

    line: int
    crm_id: str | None
    reason: str

    def __str__(self) -> str:
        who = f" ({self.crm_id})" if self.crm_id else ""
        return f"line {self.line}{who}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did: counts of stored rows and every rejected row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        """One line for people: accepted (created/updated/unchanged) and rejected counts."""
        return (f"{self.accepted} accepted ({self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged), {len(self.rejected)} rejected")


def resolve_time(value: Any, now: datetime) -> Any:
    """``-9d``-style offsets become ``now`` plus the offset; anything else is returned as is."""
    if isinstance(value, str) and (match := _OFFSET_RE.match(value)):
        return now + timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    return value


def _resolve_ticket_times(record: dict[str, Any], now: datetime) -> None:
    tickets = record.get("tickets")
    if isinstance(tickets, list):
        for ticket in tickets:
            if isinstance(ticket, dict):
                for key in ("opened_at", "last_contact_at"):
                    if key in ticket:
                        ticket[key] = resolve_time(ticket[key], now)


def _bool(value: str, column: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"column {column!r}: expected true/false, got {value!r}")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def csv_row_to_record(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row (header -> cell) as a Customer-shaped dict; raises ValueError naming the column."""
    cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
    record: dict[str, Any] = {"crm_id": cells.get("crm_id", "")}
    if cells.get("name"):
        record["name"] = cells["name"]
    for name in _LIST_FIELDS:
        if cells.get(name):
            record[name] = _split(cells[name])
    handles: dict[str, list[str]] = {}
    for item in _split(cells.get("handles", "")):
        platform, sep, handle = item.partition(":")
        if not sep or not platform.strip() or not handle.strip():
            raise ValueError(f"column 'handles': expected platform:handle, got {item!r}")
        handles.setdefault(platform.strip().lower(), []).append(handle.strip().lstrip("@"))
    if handles:
        record["handles"] = handles
    for name in ("tier", "segment", "lifetime_value"):
        if cells.get(name):
            record[name] = cells[name]
    rfm = {k: cells[f"rfm_{k}"] for k in ("recency_days", "frequency", "monetary") if cells.get(f"rfm_{k}")}
    if rfm:
        record["rfm"] = rfm
    if cells.get("tickets"):
        try:
            record["tickets"] = json.loads(cells["tickets"])
        except json.JSONDecodeError as exc:
            raise ValueError(f"column 'tickets': invalid JSON ({exc.msg} at char {exc.pos})") from None
    consent = {k: _bool(cells[k], k) for k in ("do_not_link", "do_not_contact") if k in cells}
    if consent:
        record["consent"] = consent
    return record


def iter_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line number, record or None, error or None)`` per data row of a CSV or JSONL file."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, None, f"invalid JSON: {exc.msg} at column {exc.colno}"
                    continue
                if not isinstance(record, dict):
                    yield number, None, f"expected a JSON object, got {type(record).__name__}"
                else:
                    yield number, record, None
    elif suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if not reader.fieldnames or "crm_id" not in [f.strip() for f in reader.fieldnames]:
            raise ValueError(f"{path}: line 1: the CSV header must have a 'crm_id' column")
        for row in reader:
            number = reader.line_num  # the line the row ends on (1 = header)
            if None in row:
                yield number, None, f"{len(row[None]) + len(reader.fieldnames)} cells, header has {len(reader.fieldnames)}"
                continue
            try:
                yield number, csv_row_to_record(row), None
            except ValueError as exc:
                yield number, None, str(exc)
    else:
        raise ValueError(f"{path}: unknown file type {suffix!r} (expected .csv or .jsonl)")


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "record"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


def import_customers(
    store: Store, path: Path, now: datetime, *, batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate every row of ``path`` and upsert the good ones; ``progress(n)`` after each row."""
    report = ImportReport()
    seen: dict[str, int] = {}
    batch: list[tuple[int, Customer]] = []

    def flush() -> None:
        result = store.upsert_customers([c for _, c in batch])
        report.created += result.created
        report.updated += result.updated
        report.unchanged += result.unchanged
        lines = {c.crm_id: n for n, c in batch}
        for failed in result.failed:
            report.rejected.append(RowError(lines.get(failed.id, 0), failed.id, f"store refused it: {failed.error}"))
        batch.clear()

    for number, record, error in iter_records(path):
        crm_id = str(record.get("crm_id") or "").strip() or None if record else None
        if error is None and record is not None:
            if crm_id is None:
                error = "missing crm_id"
            elif crm_id in seen:
                error = f"duplicate crm_id {crm_id} (first on line {seen[crm_id]}); row skipped"
            else:
                _resolve_ticket_times(record, now)
                record.setdefault("updated_at", now)
                try:
                    batch.append((number, Customer.model_validate({**record, "crm_id": crm_id})))
                    seen[crm_id] = number
                except ValidationError as exc:
                    error = _first_error(exc)
        if error is not None:
            report.rejected.append(RowError(number, crm_id, error))
        if progress is not None:
            progress(1)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    report.rejected.sort(key=lambda e: e.line)
    return report

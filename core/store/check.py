"""``brandguard store check``: a short contract smoke against the configured store.

It never touches the production data: Elasticsearch gets a throw-away index prefix
(``<prefix>-check-<random>``, migrated, then dropped), SQLite a temporary file. The steps are
the behaviours the pipeline depends on -- write, realtime read, search (with the tokeniser
cases ``acme's`` and ``دیجی‌کالا``), two workers leasing a queue without sharing an item, ack,
and the risk-flag feed in order -- each reported with its time, then one verdict line.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from core.config import Settings
from core.domain import Author, Mention, RiskFlag, RiskLevel, mention_id
from core.store.port import MentionQuery


@dataclass
class CheckStep:
    """One step's outcome."""

    name: str
    ok: bool
    detail: str
    seconds: float


class CheckFailed(Exception):
    """A step's expectation did not hold."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _throwaway_settings(settings: Settings, workdir: Path) -> Settings:
    store = settings.store
    if store.resolved_backend == "elasticsearch":
        prefix = f"{store.es_index_prefix}-check-{uuid.uuid4().hex[:8]}"
        return settings.model_copy(update={"store": store.model_copy(update={"es_index_prefix": prefix})})
    return settings.model_copy(update={"store": store.model_copy(update={"sqlite_path": workdir / "check.db"})})


def _mentions(now: datetime) -> list[Mention]:
    texts = [("c1", "acme's support ignored my refund"), ("c2", "سفارشم از دیجی‌کالا هنوز نرسیده"),
             ("c3", "great service from acme today")]
    return [Mention(id=mention_id("check", nid), platform="check", source="store-check", native_id=nid, text=text,
                    author=Author(platform="check", handle="checker"), published_at=now - timedelta(minutes=5),
                    crawled_at=now, brands=["check"]) for nid, text in texts]


def _search(store: Any, text: str) -> set[str]:
    """Ids matching ``text``, waiting up to 5 s for near-real-time visibility."""
    deadline = time.monotonic() + 5
    while True:
        if hasattr(store, "refresh"):
            store.refresh()
        found = {m.native_id for m in store.search_mentions(MentionQuery(text=text, limit=10)).items}
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _steps(store: Any, now: datetime) -> list[tuple[str, Callable[[], str]]]:
    items = _mentions(now)

    def write() -> str:
        report = store.upsert_mentions(items)
        _require(report.created == 3 and not report.failed, f"created {report.created}, failed {report.failed[:2]}")
        return "3 mentions created"

    def read() -> str:
        got = store.get_mentions([m.id for m in items])
        _require([m.text for m in got] == [m.text for m in items], "read back differs from what was written")
        return "read back identical"

    def search() -> str:
        _require(_search(store, "acme") == {"c1", "c3"}, "'acme' must find acme's and acme")
        _require(_search(store, "دیجی‌کالا") == {"c2"}, "'دیجی‌کالا' must find the Persian mention")
        return "acme -> 2, دیجی‌کالا -> 1"

    def queue() -> str:
        claimed: dict[str, list[str]] = {}

        def claim(worker: str) -> None:
            claimed[worker] = [w.mention_id for w in store.claim("check", worker, limit=3, lease_seconds=60,
                                                                  now=now + timedelta(seconds=1))]

        store.enqueue("check", [m.id for m in items], now=now)
        if hasattr(store, "refresh"):
            store.refresh()
        workers = [threading.Thread(target=claim, args=(f"check-{i}",)) for i in range(2)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=30)
        every = [mid for ids in claimed.values() for mid in ids]
        _require(len(every) == len(set(every)), "two workers leased the same item")
        _require(set(every) == {m.id for m in items}, f"leased {len(set(every))} of 3 queued items")
        acked = sum(store.ack("check", w, ids) for w, ids in claimed.items())
        _require(acked == len(every), f"acked {acked} of {len(every)}")
        return f"{len(every)} leased by 2 workers without overlap, all acked"

    def feed() -> str:
        for crm, level in (("CHECK-1", RiskLevel.watch), ("CHECK-2", RiskLevel.high)):
            _require(store.upsert_risk_flag(RiskFlag(crm_id=crm, level=level, score=50)) is not None,
                     f"flag {crm} was not stored")
        page = store.risk_flag_feed(None)
        seqs = [f.seq for f in page.items]
        _require([f.crm_id for f in page.items] == ["CHECK-1", "CHECK-2"] and seqs == sorted(seqs), f"feed {seqs}")
        _require(store.risk_flag_feed(page.next_cursor).items == [], "feed repeated a change")
        return f"2 changes in order (seq {seqs[0]}..{seqs[-1]}), none repeated"

    return [("write", write), ("read", read), ("search", search), ("queue", queue), ("feed", feed)]


def run_store_check(settings: Settings) -> list[CheckStep]:
    """Run every step on a throw-away copy of the configured store; never raises for a failed step."""
    from core.store import migrate_store

    results: list[CheckStep] = []
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="bg-check-") as tmp:
        started = time.monotonic()
        try:
            store = migrate_store(_throwaway_settings(settings, Path(tmp)))
        except Exception as exc:  # noqa: BLE001 - reported as the verdict, not a traceback
            return [CheckStep("open", False, f"{type(exc).__name__}: {exc}", time.monotonic() - started)]
        version = getattr(store, "server_version", "")
        results.append(CheckStep("open", True, f"{store.name} {version}".strip(), time.monotonic() - started))
        try:
            for name, step in _steps(store, now):
                started = time.monotonic()
                try:
                    results.append(CheckStep(name, True, step(), time.monotonic() - started))
                except Exception as exc:  # noqa: BLE001
                    results.append(CheckStep(name, False, f"{type(exc).__name__}: {exc}", time.monotonic() - started))
        finally:
            if hasattr(store, "drop_all") and store.name == "elasticsearch":
                store.drop_all()
            store.close()
    return results

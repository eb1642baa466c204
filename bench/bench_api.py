"""HTTP benchmark of the API: mention search latency at scale and the risk-flag feed's throughput.

    nice python bench/bench_api.py                       # 1,000,000 mentions (ingest takes minutes)
    python bench/bench_api.py --mentions 20000           # development
    python bench/bench_api.py --db /tmp/bg-bench.db      # keep/reuse the store between runs

The API runs as its own process (uvicorn, one worker) on a SQLite store filled with synthetic
mentions (English and Persian text, analysis and risk filled in, 90 days of publication times).
Each search kind is sent ``--requests`` times over one keep-alive HTTP connection; latency is
measured at the client, so it includes HTTP, auth, validation and JSON encoding of 50 mentions.
The feed is paged with ``limit=500`` while a writer keeps adding flag changes; the run checks
that no change was missed or delivered twice. Target: search p95 <= 100 ms at 1,000,000 mentions.
Analytics (facets + a daily histogram over ~100,000 matches) are timed and reported on their own.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from core.config import Settings, StoreSettings  # noqa: E402
from core.domain import Analysis, Author, Engagement, Mention, RiskFlag, RiskLevel, RiskScore  # noqa: E402
from core.store import open_store  # noqa: E402

P95_TARGET_MS = 100.0
BATCH = 2_000
DAYS = 90
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
ENGLISH = ("the order arrived late again and support did not answer my ticket refund delivery phone screen broken "
           "customer service app crash payment failed price went up store manager promised call back never happened "
           "quality product return warranty discount boost this share everyone never buy").split()
PERSIAN = ("سفارش دیر رسید پشتیبانی جواب نداد بازگشت وجه گوشی شکسته پرداخت ناموفق قیمت فروشگاه کیفیت کالا گارانتی "
           "تخفیف خرید اینترنتی ارسال مرجوعی تماس گرفتم هیچ کس پاسخ نداد همه بازنشر کنید").split()
PLATFORMS = ("forum", "mastodon", "telegram", "rss", "review")
SENTIMENTS = ("negative", "neutral", "positive")
SEARCHES: dict[str, dict[str, object]] = {
    "brand phrase, newest 50": {"q": '"sepehr mobile"'},
    "boolean + lang + sentiment": {"q": "refund OR warranty", "lang": "en", "sentiment": "negative"},
    "persian phrase": {"q": '"سپهر موبایل" AND پشتیبانی'},
    "filters only, last 7 days": {"platform": "mastodon", "since": (NOW - timedelta(days=7)).isoformat()},
    "min risk, sorted by risk": {"min_risk": 80, "sort": "risk"},
    "facets + hourly histogram, 1 day": {"q": "sepehrfail", "since": (NOW - timedelta(days=1)).isoformat(),
                                         "facets": ["lang", "sentiment", "platform"], "histogram": "hour"},
}
# Aggregations over a large match set (~100,000 of 1,000,000): reported on their own, as analytics
# rather than page search — the store counts every match (and re-checks phrases) to build them.
ANALYTICS: dict[str, dict[str, object]] = {
    "facets + daily histogram, 30 days": {"q": '"sepehr mobile"', "since": (NOW - timedelta(days=30)).isoformat(),
                                          "facets": ["lang", "sentiment", "platform"], "histogram": "day"},
    "facets + daily histogram, 30d, term": {"q": "sepehrfail", "since": (NOW - timedelta(days=30)).isoformat(),
                                            "facets": ["lang", "sentiment", "platform"], "histogram": "day"},
}


def make_batch(rng: random.Random, start: int, count: int) -> list[Mention]:
    """Synthetic mentions: half Persian; ~30 % name the brand as a phrase; 5 % carry #sepehrfail."""
    out = []
    for n in range(start, start + count):
        persian = n % 2 == 1
        words = rng.choices(PERSIAN if persian else ENGLISH, k=60)
        if rng.random() < 0.3:
            words.insert(rng.randrange(60), "سپهر موبایل" if persian else "Sepehr Mobile")
        if rng.random() < 0.05:
            words.append("#sepehrfail")
        sentiment = SENTIMENTS[rng.randrange(3)]
        platform = PLATFORMS[n % len(PLATFORMS)]
        lang = "fa" if persian else "en"
        out.append(Mention(
            id=f"{platform}-api{n:09d}", platform=platform, source=f"{platform}-src{n % 7}", native_id=str(n),
            url=f"https://{platform}.example/p/{n}", text=" ".join(words), lang=lang,
            author=Author(platform=platform, handle=f"user{n % 20000}", followers=n % 5000),
            published_at=NOW - timedelta(seconds=rng.uniform(0, DAYS * 86_400)), crawled_at=NOW,
            engagement=Engagement(likes=n % 97, shares=n % 13, replies=n % 5), brands=["Sepehr Mobile"],
            analysis=Analysis(lang=lang, sentiment=sentiment, emotions={"anger": rng.random()}, model="bench",
                              analyzed_at=NOW),
            risk=RiskScore(score=round(rng.uniform(0, 100), 1), scored_at=NOW),
        ))
    return out


def fill(db: Path, total: int) -> None:
    settings = Settings(data_dir=db.parent, store=StoreSettings(backend="sqlite", sqlite_path=db))
    store = open_store(settings)
    try:
        have = store.stats()["counts"].get("mentions", 0)
        if have >= total:
            print(f"store {db} already holds {have:,} mentions", flush=True)
            return
        rng = random.Random(have)
        t0 = time.perf_counter()
        for start in range(have, total, BATCH):
            report = store.upsert_mentions(make_batch(rng, start, min(BATCH, total - start)))
            if report.failed:
                raise SystemExit(f"ingest failed at {start}: {report.failed[:3]}")
            done = start + BATCH - have
            if done % 100_000 < BATCH:
                print(f"  ingested {start + BATCH:,} ({done / (time.perf_counter() - t0):,.0f}/s)", flush=True)
    finally:
        store.close()


def serve(db: Path, port: int) -> None:
    """Child process: the API on ``port`` over the store at ``db``."""
    import uvicorn

    from monitor_api.app import create_app

    settings = Settings(data_dir=db.parent, store=StoreSettings(backend="sqlite", sqlite_path=db))
    uvicorn.run(create_app(settings, open_store(settings), dashboard=False), host="127.0.0.1", port=port,
                log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_search(client: httpx.Client, requests: int, kinds: dict[str, dict[str, object]], title: str) -> list[float]:
    every: list[float] = []
    print(f"\n{title:<36} {'p50 ms':>8} {'p95 ms':>8} {'total':>8}")
    for name, params in kinds.items():
        times: list[float] = []
        total = None
        client.get("/v1/mentions", params=params)  # warm the page cache for this shape
        for _ in range(requests):
            t0 = time.perf_counter()
            response = client.get("/v1/mentions", params=params)
            times.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
            total = response.json()["total"]
        every += times
        shown = "-" if total is None else f"{total:,}"
        print(f"{name:<36} {statistics.median(times):8.1f} {percentile(times, 0.95):8.1f} {shown:>8}", flush=True)
    return every


def bench_feed(client: httpx.Client, db: Path, initial: int, during: int) -> tuple[float, int]:
    """Flags/s read through the feed while a writer adds ``during`` changes; asserts exactly-once."""
    settings = Settings(data_dir=db.parent, store=StoreSettings(backend="sqlite", sqlite_path=db))
    store = open_store(settings)
    base = int(time.time() * 1000) % 10_000_000
    for i in range(initial):
        store.upsert_risk_flag(RiskFlag(crm_id=f"B-{base}-{i}", level=RiskLevel.watch, score=40 + i % 50, updated_at=NOW))

    def writer() -> None:
        for i in range(during):
            store.upsert_risk_flag(RiskFlag(crm_id=f"B-{base}-w{i}", level=RiskLevel.high, score=70, updated_at=NOW))

    thread = threading.Thread(target=writer)
    seen: list[int] = []
    ids: set[str] = set()
    cursor: str | None = None
    t0 = time.perf_counter()
    thread.start()
    idle = 0
    while idle < 3:
        page = client.get("/v1/risk-flags", params={"limit": 500, **({"cursor": cursor} if cursor else {})}).json()
        cursor = page["next_cursor"]
        for flag in page["items"]:
            seen.append(flag["seq"])
            ids.add(flag["crm_id"])
        idle = idle + 1 if not page["items"] and not thread.is_alive() else 0
    elapsed = time.perf_counter() - t0
    thread.join()
    store.close()
    ours = {i for i in ids if i.startswith(f"B-{base}-")}
    if len(seen) != len(set(seen)) or len(ours) != initial + during:
        raise SystemExit(f"feed check FAILED: {len(seen)} items, {len(set(seen))} distinct seqs, {len(ours)} of "
                         f"{initial + during} flags seen")
    return len(seen) / elapsed, len(seen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100, help="requests per search kind")
    parser.add_argument("--flags", type=int, default=20_000, help="flag changes written before the feed is read")
    parser.add_argument("--flags-during", type=int, default=5_000, help="flag changes written while it is read")
    parser.add_argument("--db", type=Path, help="store file to create or reuse (default: temporary)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.db, args.port)
        return 0
    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="bg-bench-api-")
        args.db = Path(tmp.name) / "bench.db"
    print(f"filling {args.db} to {args.mentions:,} mentions", flush=True)
    fill(args.db, args.mentions)
    settings = Settings(data_dir=args.db.parent, store=StoreSettings(backend="sqlite", sqlite_path=args.db))
    store = open_store(settings)
    from monitor_api.security import create_api_key

    _, key = create_api_key(store, "bench", ["mentions:read", "risk:read"])
    store.close()
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--db", str(args.db), "--port", str(port)],
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"},
                          timeout=60) as client:
            for _ in range(200):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            every = bench_search(client, args.requests, SEARCHES, "search (pages of 50)")
            p50, p95 = statistics.median(every), percentile(every, 0.95)
            verdict = "OK" if p95 <= P95_TARGET_MS else "MISSED"
            print(f"{'all searches':<36} {p50:8.1f} {p95:8.1f}   target p95 <= {P95_TARGET_MS:.0f} ms: {verdict}")
            analytics = bench_search(client, max(10, args.requests // 5), ANALYTICS, "analytics (facets + histogram)")
            a50, a95 = statistics.median(analytics), percentile(analytics, 0.95)
            print(f"{'all analytics':<36} {a50:8.1f} {a95:8.1f}   "
                  f"({'within' if a95 <= P95_TARGET_MS else 'over'} {P95_TARGET_MS:.0f} ms)")
            rate, count = bench_feed(client, args.db, args.flags, args.flags_during)
            print(f"\nrisk-flag feed: {count:,} changes read at {rate:,.0f} flags/s (limit=500 pages, a writer "
                  f"adding {args.flags_during:,} meanwhile): no misses, no duplicates")
    finally:
        server.terminate()
        server.wait(timeout=10)
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the analysts' overview on SQLite: the 30-day overview at scale.

    python bench/bench_overview.py                       # 200,000 mentions (a few minutes)
    python bench/bench_overview.py --mentions 1000000    # the target scale (build once, keep the file)
    python bench/bench_overview.py --db /tmp/ov.db --mentions 1000000   # reuse a built file

Synthetic mentions over the last 30 days (relative to now): seven brands (Persian and
English names, competitors among them; one mention in eight names two), six platforms,
twelve sources, Persian and English, 35 % negative, 70 % of authors showing a follower
count, replies grouped into threads, and a few hashtags (one surging in the last day).
Ingest goes through ``upsert_mentions`` in batches of 2,000, so the summary triggers run
as in production (the build rate is printed).

Measured: ``core.stats.overview.build_overview`` (what ``GET /v1/stats/overview`` and the
overview page compute) for 30 days, 7 days and 24 hours, unfiltered and filtered by brand
and language; ``--runs`` repetitions each, windows shifted by a few seconds so no cache of
ours is hit; wall time and the process's CPU time (what the wall time would be on an idle
core) are both printed, with the load. Target (issue 16): p95 <= 300 ms for the 30-day
overview at 1,000,000 mentions.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.domain import Analysis, Author, Engagement, Mention  # noqa: E402
from core.stats.overview import build_overview  # noqa: E402
from core.store.sqlite import SqliteStore  # noqa: E402
from core.store.stats_port import StatsFilter  # noqa: E402

P95_TARGET_MS = 300.0
BATCH = 2_000
DAYS = 30
BRANDS = ("سپهر موبایل", "Sepehr Mobile", "آریانت", "Arianet", "دیجی‌کالا", "Acme Bank", "اسنپ")
PLATFORMS = ("forum", "mastodon", "telegram", "rss", "review", "hackernews")
WORDS = {
    "en": "the order arrived late again support did not answer my ticket refund phone screen broken app crash "
          "payment failed price courier cancelled waited hours manager promised never quality warranty".split(),
    "fa": "سفارش دیر رسید پشتیبانی جواب نداد بازگشت وجه گوشی شکسته اپلیکیشن پرداخت ناموفق قیمت راننده "
          "لغو شد ساعت منتظر ماندم فروشگاه کیفیت کالا گارانتی تخفیف حساب مسدود خیلی بد بود".split(),
}
TAGS = ("#refundnow", "#پشتیبانی_ضعیف", "#servicefail", "#گرانی")


def make_batch(rng: random.Random, start: int, count: int, total: int, now: datetime) -> list[Mention]:
    """``count`` mentions numbered from ``start``, published in arrival order over the last DAYS."""
    out = []
    span = DAYS * 86_400
    for n in range(start, start + count):
        lang = "fa" if n % 2 else "en"
        words = rng.choices(WORDS[lang], k=40)
        age = min(span - 1, max(0.0, span * (1 - n / total) + rng.uniform(-900, 900)))
        if rng.random() < 0.05:
            words.append(rng.choice(TAGS))
        surging = age < 86_400 and n % 50 == 0
        if surging:
            words.append("#newsurge")  # new in the last day, used by many angry accounts
        platform = PLATFORMS[n % len(PLATFORMS)]
        brands = [BRANDS[n % len(BRANDS)]] + ([BRANDS[(n // 7) % len(BRANDS)]] if n % 8 == 0 else [])
        sentiment = "negative" if surging or rng.random() < 0.35 else rng.choice(("neutral", "positive"))
        author = n % 40_000
        out.append(Mention(
            id=f"{platform}-ov{n:09d}", platform=platform, source=f"{platform}-src{n % 2}", native_id=str(n),
            url=f"https://{platform}.example/p/{n}", text=" ".join(words), lang=lang,
            thread_id=f"{platform}:t{n // 5}",
            author=Author(platform=platform, handle=f"user{author}",
                          followers=(author * 7919) % 200_000 if author % 10 < 7 else None),
            published_at=now - timedelta(seconds=age), crawled_at=now,
            engagement=Engagement(likes=n % 97, shares=n % 13), brands=list(dict.fromkeys(brands)),
            analysis=Analysis(lang=lang, sentiment=sentiment, model="bench"),
        ))
    return out


def build(store: SqliteStore, total: int, now: datetime, seed: int) -> None:
    """Ingest ``total`` mentions, printing progress and the ingest rate."""
    rng = random.Random(seed)
    began = time.perf_counter()
    ingest = 0.0
    for start in range(0, total, BATCH):
        batch = make_batch(rng, start, min(BATCH, total - start), total, now)
        t0 = time.perf_counter()
        report = store.upsert_mentions(batch)
        ingest += time.perf_counter() - t0
        assert report.ok, report.failed[:3]
        if (start // BATCH) % 50 == 0:
            print(f"  built {start + len(batch):,}/{total:,} ({time.perf_counter() - began:.0f} s)", flush=True)
    print(f"ingest with summary triggers: {total / ingest:,.0f} mentions/s ({ingest:.1f} s in upsert_mentions)")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(store: SqliteStore, name: str, span: timedelta, now: datetime, runs: int, **filters: list[str]) -> float:
    """Time ``runs`` overviews; prints p50/p95/max in ms; returns p95."""
    times, cpu = [], []
    for i in range(runs):
        until = now - timedelta(seconds=7 * i)
        flt = StatsFilter(since=until - span, until=until, **filters)
        t0, c0 = time.perf_counter(), time.process_time()
        overview = build_overview(store, flt)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    p95 = pct(times, 0.95)
    print(f"{name:<34} p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms  max {max(times):6.1f} ms  "
          f"CPU p50 {statistics.median(cpu):5.1f} p95 {pct(cpu, 0.95):5.1f} ms  "
          f"(mentions {overview.volume.overall.count:,}, threads {len(overview.threads)}, "
          f"authors {len(overview.authors)}, terms {len(overview.terms)})")
    return p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=200_000, help="how many mentions (default 200,000)")
    parser.add_argument("--runs", type=int, default=20, help="overviews per case (default 20)")
    parser.add_argument("--db", type=Path, help="SQLite file to build or reuse (default: a temporary file)")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    path = args.db or Path(tempfile.mkdtemp(prefix="bg-bench-overview-")) / "bg.db"
    now = datetime.now(timezone.utc)
    store = SqliteStore(path)
    have = store._conn().execute("SELECT count(*) FROM mentions").fetchone()[0]
    if have and have != args.mentions:
        sys.exit(f"{path} holds {have:,} mentions, not {args.mentions:,}: use another --db")
    if not have:
        print(f"building {args.mentions:,} mentions over {DAYS} days in {path}")
        build(store, args.mentions, now, args.seed)
    else:
        print(f"reusing {path} ({have:,} mentions)")
        # The ranges end where the data ends (the build's "now"), however long ago it was built.
        now = datetime.fromtimestamp(
            (store._conn().execute("SELECT max(rk) FROM mentions").fetchone()[0] >> 10) / 1000 + 1, tz=timezone.utc)
    summary = store._conn().execute("SELECT count(*) FROM mention_counts").fetchone()[0]
    print(f"summary rows: {summary:,}; load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    measure(store, "warm-up", timedelta(days=DAYS), now, 2)
    p95 = measure(store, "30 days, all brands", timedelta(days=30), now, args.runs)
    measure(store, "30 days, one Persian brand, fa", timedelta(days=30), now, args.runs,
            brands=[BRANDS[0]], langs=["fa"])
    measure(store, "7 days, all brands", timedelta(days=7), now, args.runs)
    measure(store, "24 hours, all brands", timedelta(hours=24), now, args.runs)
    verdict = "meets" if p95 <= P95_TARGET_MS else "misses"
    print(f"30-day overview p95 {p95:.1f} ms at {args.mentions:,} mentions: {verdict} the {P95_TARGET_MS:.0f} ms "
          f"target (ratio {p95 / P95_TARGET_MS:.2f})")
    store.close()


if __name__ == "__main__":
    main()

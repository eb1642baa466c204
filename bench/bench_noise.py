"""Noise budget: does a support team get the three real incidents fast, and little else?

    python bench/bench_noise.py                    # 20,000 mentions, one day, three brands
    python bench/bench_noise.py --mentions 40000   # a busier day
    python bench/bench_noise.py --no-history       # a brand-new store (baselines still learning)

A synthetic but realistic day (``bench/noise_day.py``: steady chatter with mild complaints,
viral compliments, a competitor's outage, off-brand homonyms, each brand's own channel) for
three brands, with three planted incidents (a key customer's complaint, a viral sabotage
thread by a non-customer, a coordinated copy campaign), runs through the real pipeline after
the NLP stage — the risk worker (linking, threads, campaigns, scores), the alert worker and
the dispatcher writing local ``log`` channels — on a simulated clock, one minute per step,
with the **recommended rule set of ``core/example_config.yaml``** (its channels replaced by
local log files). The day before (chatter only) is loaded first as history, so the baseline
rules are past their learning period (``--no-history``: they stay quiet all day).

Prints incidents caught, time from each incident's first post to its first notification,
other alerts per brand per day (with their rules and titles) and the run time.
Targets: all three caught, each within 10 simulated minutes, at most 5 other alerts per
brand per day.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.dispatcher import Dispatcher  # noqa: E402
from alerts.worker import AlertWorker  # noqa: E402
from bench.noise_day import BRANDS, DayBuilder, Post, crm  # noqa: E402
from core.clock import SimulatedClock  # noqa: E402
from core.config import Settings  # noqa: E402
from core.domain import DeliveryStatus  # noqa: E402
from core.store import open_store  # noqa: E402
from core.store.port import AlertFilter  # noqa: E402
from risk.worker import RiskWorker  # noqa: E402

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "core" / "example_config.yaml"
START = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)  # simulated: the day under test starts here
TARGET_MINUTES, TARGET_OTHERS = 10, 5


def recommended_settings(data_dir: Path) -> Settings:
    """The example config's alert rules and settings; every channel becomes a local log file."""
    example = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    alerts = dict(example["alerts"])
    alerts["channels"] = {name: {"type": "log", "options": {"path": f"channel-{name}.jsonl"}}
                          for name in (alerts.get("channels") or {})}
    return Settings.model_validate({"data_dir": str(data_dir), "store": {"backend": "sqlite"}, "brands": BRANDS,
                                    "alerts": alerts})


def build_day(settings: Settings, mentions: int, seed: int, start: datetime, incidents: bool):  # noqa: ANN201
    rng = random.Random(seed)
    day = DayBuilder(settings, start, rng)
    day.background(mentions, 24)
    day.viral_compliments(6)
    day.competitor_meltdown(60)
    day.brand_channels()
    first = day.incidents() if incidents else {}
    return day, first


def drain(worker, limit: int = 10_000) -> int:  # noqa: ANN001
    total = 0
    while (n := worker.run_once()) > 0 and total < limit:
        total += n
    return total


def simulate(store, settings: Settings, posts: list[Post], clock: SimulatedClock, hours: float) -> dict[str, float]:  # noqa: ANN001
    """Feed crawls and re-crawls minute by minute through the risk and alert stages and the dispatcher."""
    events: list[tuple[datetime, int, Post | None, int]] = []
    for i, post in enumerate(posts):
        events.append((post.crawl_at, i, post, -1))
        events += [(at, i, post, shares) for at, shares in post.recrawls]
    events.sort(key=lambda e: (e[0], e[1], e[3]))
    risk = RiskWorker(settings, store, clock, "risk-1", batch=200)
    alert = AlertWorker(settings, store, clock, "alert-1", batch=200, periodic_seconds=60)
    dispatcher = Dispatcher(settings, store, clock, "dispatch-1", parallel=1)
    timings: Counter = Counter()
    cursor = 0
    end = clock.now() + timedelta(hours=hours)
    while clock.now() < end:
        now = clock.advance(timedelta(minutes=1))
        batch = []
        while cursor < len(events) and events[cursor][0] <= now:
            at, _, post, shares = events[cursor]
            cursor += 1
            m = post.mention
            if shares >= 0:  # a re-visit: the same post with new counts
                m = m.model_copy(update={"crawled_at": at, "engagement": m.engagement.model_copy(
                    update={"shares": shares, "likes": shares * 2, "replies": shares // 10})})
            batch.append((m, shares < 0))
        t0 = time.perf_counter()
        if batch:
            report = store.upsert_mentions([m for m, _ in batch])
            assert report.ok, report.failed[:3]
            store.enqueue("risk", [m.id for m, new in batch if new], now=now)  # the NLP stage's hand-over
        timings["store"] += time.perf_counter() - t0
        for name, worker in (("risk", risk), ("alert", alert), ("dispatch", dispatcher)):
            t0 = time.perf_counter()
            drain(worker)
            timings[name] += time.perf_counter() - t0
        if now.minute == 0 and now.hour % 3 == 0:
            print(f"    {now:%H:%M} simulated, {cursor:,}/{len(events):,} crawls, "
                  f"{sum(store.count_alerts_by_state().values())} alert(s)", flush=True)
    dispatcher.close()
    return dict(timings)


def report(store, first: dict[str, datetime], posts: list[Post], hours: float) -> bool:  # noqa: ANN001
    incident_ids: dict[str, set[str]] = defaultdict(set)
    for post in posts:
        if post.incident:
            incident_ids[post.incident].add(post.mention.id)
    alerts = []
    cursor = None
    while True:
        page, cursor = store.list_alerts(AlertFilter(limit=500, cursor=cursor))
        alerts += page
        if cursor is None:
            break
    caught: dict[str, list] = defaultdict(list)
    others = []
    for a in alerts:
        hit = [name for name, ids in incident_ids.items() if ids & set(a.mention_ids)]
        for name in hit:
            caught[name].append(a)
        if not hit:
            others.append(a)
    ok = True
    print("\nincidents (first post -> first notification sent):")
    for name, started in first.items():
        sent = [d.sent_at for a in caught.get(name, []) for d in store.list_deliveries(alert_id=a.id)
                if d.status == DeliveryStatus.sent and d.sent_at]
        if not sent:
            print(f"  {name:14s} MISSED")
            ok = False
            continue
        minutes = (min(sent) - started).total_seconds() / 60
        ok &= minutes <= TARGET_MINUTES
        rules = sorted({r for a in caught[name] for r in (a.rules or [a.rule])})
        print(f"  {name:14s} caught in {minutes:5.1f} min   {len(caught[name])} alert(s), severity "
              f"{max(a.severity.value for a in caught[name])}, rules {', '.join(rules)}")
    per_brand = Counter(a.brand for a in others)
    own = [b["name"] for b in BRANDS if not b.get("competitor")]
    print(f"\nother alerts per brand per day (target <= {TARGET_OTHERS}):")
    for brand in own:
        per_day = per_brand.get(brand, 0) * 24 / hours
        ok &= per_day <= TARGET_OTHERS
        print(f"  {brand:14s} {per_day:5.1f}")
    for a in others[:30]:
        print(f"    - [{a.severity.value}] {a.brand}: {a.title} ({', '.join(a.rules or [a.rule])}, "
              f"{len(a.mention_ids)} posts, risk {a.score or 0:.0f})")
        campaign = store.get_campaign(a.subject_id) if a.subject_kind == "campaign" else None
        if campaign is not None:
            share = "?" if campaign.negative_share is None else f"{campaign.negative_share:.0%}"
            print(f"        {share} negative, e.g. {campaign.sample_text[:90]!r}")
    print(f"\nincidents caught: {sum(1 for n in first if caught.get(n))}/{len(first)}; "
          f"total alerts {len(alerts)}; {'TARGETS MET' if ok else 'TARGETS MISSED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=21_000,
                        help="background posts generated for the day (about 20,000 are stored after homonyms are dropped)")
    parser.add_argument("--hours", type=float, default=24, help="simulated hours to run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-history", action="store_true", help="start on an empty store (no baseline day)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-noise-") as tmp:
        settings = recommended_settings(Path(tmp))
        store = open_store(settings)
        try:
            print(f"noise benchmark: rules from {EXAMPLE_CONFIG.name}: "
                  + ", ".join(r.get("name", r["type"]) for r in settings.alerts.rules))
            assert store.upsert_customers(crm(random.Random(args.seed), START)).ok
            if not args.no_history:
                history, _ = build_day(settings, args.mentions, args.seed + 1, START - timedelta(days=1), incidents=False)
                for i in range(0, len(history.posts), 2000):
                    assert store.upsert_mentions([p.mention for p in history.posts[i:i + 2000]]).ok
                print(f"  history: {len(history.posts):,} mentions of the day before loaded as the baseline")
            day, first = build_day(settings, args.mentions, args.seed, START, incidents=True)
            print(f"  day: {len(day.posts):,} mentions stored ({day.dropped:,} homonyms dropped by the brand queries), "
                  f"{sum(len(p.recrawls) for p in day.posts):,} re-crawls")
            clock = SimulatedClock(START, speed=0.0)
            t0, c0 = time.perf_counter(), time.process_time()
            timings = simulate(store, settings, day.posts, clock, args.hours)
            wall = time.perf_counter() - t0
            print(f"  simulated {args.hours:g} h in {wall:.0f} s wall ({time.process_time() - c0:.0f} CPU-s): "
                  + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
            ok = report(store, first, day.posts, args.hours)
        finally:
            store.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark the search cost ceiling: the worst queries the parser accepts, at scale.

    python bench/bench_search_cost.py                      # 1,000,000 mentions (ingest takes minutes)
    python bench/bench_search_cost.py --mentions 200000    # smaller, for a busy machine
    python bench/bench_search_cost.py --db /tmp/bg.db      # keep (or reuse) the filled store

Fills a SQLite store with ``bench_store``'s synthetic mentions (English + Persian, marker
terms in 90 % / 10 % / 1 % / 0.01 %), then runs each hostile query shape from issue 12 as the
API does (``budget_s`` = ``api.search_budget_seconds``, default 0.7 s), alone and four at a
time, with and without facets + histogram (the dashboard's first page). Prints, per shape,
the median and p95 wall time, how many were stopped by the budget (a 400 "search too
costly" in the API) and how many answered their page without facets/chart (past the budget). Target (issue 12): p95 <= 1 s for every shape at 1,000,000 mentions.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import ingest, p95  # noqa: E402
from core.query import MAX_DEPTH, MAX_PREFIX_TERMS, MAX_TERMS, parse_query  # noqa: E402
from core.store.port import MentionQuery, SearchTooCostly  # noqa: E402
from core.store.sqlite import SqliteStore  # noqa: E402

TARGET_S = 1.0


def worst_queries() -> dict[str, str]:
    """The costliest query shapes we could build within the parser's limits (each parses)."""
    phrases = " OR ".join(f'"omnipresent x{i}"' for i in range(MAX_TERMS - 2))
    shapes = {
        # issue 12's query: no indexable term at the top (a NOT inside an OR), 60+ phrases
        "not-or-phrases": f"NOT (zz OR NOT zz) OR {phrases}",
        # as many 2-letter prefixes as allowed (each expands to many index terms)
        "short-prefixes": " OR ".join(f"{a}{b}*" for a, b in zip("otsfrupc", "mhaerncl"))[: 7 * MAX_PREFIX_TERMS],
        # hashtags/handles are checked per row by the leaf function: on a 90 % term
        "hashtags-common": " OR ".join(["#omnipresent", "@omnipresent", "#frequentish", "@frequentish"] * 16),
        # maximum nesting: NOT/parentheses around a common term
        "deep-not": "NOT (" * (MAX_DEPTH // 2 - 1) + "omnipresent AND NOT uncommonly" + ")" * (MAX_DEPTH // 2 - 1),
        # many common phrases AND-ed with a negation (FTS intersections)
        "common-and-not": " ".join(f'"{w} {v}"' for w, v in zip(["the", "order", "support", "phone"] * 8,
                                                                ["order", "arrived", "did", "screen"] * 8))
                          + " -rarissimo",
        "plain-common": "omnipresent",  # a reference: one term in 90 % of mentions
    }
    for name, text in shapes.items():
        parse_query(text)  # every shape is accepted by the parser: this is the worst *allowed* cost
    return shapes


def run_shape(store: SqliteStore, text: str, runs: int, budget: float, aggregate: bool,
              parallel: int) -> tuple[list[float], int, int]:
    """Wall seconds per search, how many the budget stopped (400), and how many answered
    with their page but without facets/chart (``aggregations_stopped``)."""
    extra = {"facets": ["brands", "lang", "sentiment", "platform", "source"], "histogram": "hour"} if aggregate else {}
    query = MentionQuery(text=text, limit=50, budget_s=budget, **extra)

    def one(_: int) -> tuple[float, bool, bool]:
        t0 = time.perf_counter()
        try:
            partial = store.search_mentions(query).aggregations_stopped
            stopped = False
        except SearchTooCostly:
            stopped, partial = True, False
        return time.perf_counter() - t0, stopped, partial

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        results = list(pool.map(one, range(runs)))
    return [r[0] for r in results], sum(1 for r in results if r[1]), sum(1 for r in results if r[2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20, help="searches per shape and mode")
    parser.add_argument("--budget", type=float, default=0.7, help="api.search_budget_seconds")
    parser.add_argument("--db", type=Path, help="store file to create or reuse (default: temporary)")
    args = parser.parse_args(argv)

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="bg-bench-cost-")
        args.db = Path(tmp.name) / "bench.db"
    store = SqliteStore(args.db)
    have = store.count_mentions(MentionQuery())
    now = datetime.now(timezone.utc)
    if have < args.mentions:
        print(f"filling {args.db} with {args.mentions - have:,} mentions ...", flush=True)
        rate, _, _ = ingest(store, args.mentions - have, random.Random(7), now, shuffled=False) if not have else (0, 0, 0)
        if have:
            raise SystemExit(f"{args.db} holds {have:,} mentions; use a fresh file for {args.mentions:,}")
        print(f"  ingest {rate:,.0f} mentions/s", flush=True)
    total = store.count_mentions(MentionQuery())
    print(f"\n{total:,} mentions · budget {args.budget} s · {args.runs} runs per row · target p95 <= {TARGET_S} s")
    print(f"{'shape':<18} {'mode':<22} {'median s':>9} {'p95 s':>7} {'400':>6} {'no-facets':>9} {'p95/target':>11}")
    worst = 0.0
    for name, text in worst_queries().items():
        for mode, aggregate, parallel in (("alone", False, 1), ("alone+facets+chart", True, 1),
                                          ("4 at once+facets", True, 4)):
            times, stopped, partial = run_shape(store, text, args.runs, args.budget, aggregate, parallel)
            ninety_five = p95(times)
            worst = max(worst, ninety_five)
            print(f"{name:<18} {mode:<22} {statistics.median(times):>9.3f} {ninety_five:>7.3f} "
                  f"{stopped:>6} {partial:>9} {ninety_five / TARGET_S:>11.2f}", flush=True)
    print(f"\nworst p95 {worst:.3f} s ({'meets' if worst <= TARGET_S else 'MISSES'} the {TARGET_S} s target)")
    store.close()
    if tmp is not None:
        tmp.cleanup()
    return 0 if worst <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())

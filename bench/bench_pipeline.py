"""Whole-pipeline throughput: N mentions through analyze -> risk -> alert -> dispatch, as ``brandguard run`` runs them.

A fresh SQLite store in a temporary folder receives N crawled mentions (the mixed stream of
``bench_nlp``: 80% tweet-length, 20% review-length, half English, half Persian) queued for
analysis, as the crawlers leave them. Then the stages run exactly as ``brandguard run`` runs
them — ``monitor_api.pipeline.Pipeline`` with one thread per stage driving ``run_once`` — and
a signed-webhook receiver on 127.0.0.1 takes the notifications (a ``risk_threshold`` rule
alerts on every mention scoring ``--threshold`` or more).

Printed (JSON): end-to-end mentions/s (N over the backlog drain time: from start until every
queue is empty and every notification delivered), each stage's rate (items over the seconds
its ``run_once`` was busy) and items, notifications received, and the NLP-only rate measured
in the same run (the same texts through ``Analyzer.analyze`` in worker-sized batches, no store),
just before and just after each pipeline run (their mean: our machines drift by 10% within
minutes), with the ratio end-to-end / NLP-only — near 1 means the pipeline is model-bound, not
overhead-bound. Medians over ``--repeats`` runs, and each run's ratio.

    BRANDGUARD_TRAIN_DATA=../shared/data python bench/bench_pipeline.py            # 300 mentions
    python bench/bench_pipeline.py --n 1000 --repeats 3 --data ../shared/data

Needs ``brandguard nlp prepare`` (the encoder and its ONNX exports) in ``--config``'s data folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_nlp import data_folder, mixed_stream  # noqa: E402

from alerts.signing import SIGNATURE_HEADER, verify_signature  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.config import Settings, load_settings  # noqa: E402
from core.domain import Author, Engagement, Mention, mention_id  # noqa: E402
from core.store import open_store  # noqa: E402

SECRET = "bench_pipeline_secret"
STAGES = ("analyze", "risk", "alert", "dispatch")
QUEUES = ("analyze", "risk", "alert")


class Receiver:
    """Signed-webhook endpoint on 127.0.0.1 counting verified notifications."""

    def __init__(self) -> None:
        self.received = 0
        self.bad = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = verify_signature(body, self.headers.get(SIGNATURE_HEADER, ""), [SECRET])
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.lock:
                    if ok:
                        receiver.received += 1
                    else:
                        receiver.bad += 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class Timed:
    """Wraps a stage worker: counts items handled and seconds spent in ``run_once``."""

    def __init__(self, worker) -> None:  # noqa: ANN001
        self.worker, self.name = worker, worker.name
        self.items, self.busy = 0, 0.0

    def run_once(self) -> int:
        started = time.perf_counter()
        handled = self.worker.run_once()
        if handled:
            self.busy += time.perf_counter() - started
            self.items += handled
        return handled

    def __getattr__(self, name: str):  # noqa: ANN204 - close(), ready() of the wrapped worker
        return getattr(self.worker, name)


def pipeline_settings(base: Settings, tmp: Path, hook_url: str, threshold: float) -> Settings:
    """The bench's settings: base model settings (prepared encoder), a fresh store, one webhook rule."""
    from core.config import ChannelSettings

    models = base.models.model_copy(update={"encoder_dir": base.models.encoder_dir or base.data_dir / "models" / "e5-small"})
    return Settings(
        data_dir=tmp, store={"backend": "sqlite", "sqlite_path": tmp / "bench.db"}, models=models,
        brands=[{"name": "Sepehr Mobile", "query": '"sepehr mobile" OR sepehrmobile OR "سپهر موبایل"'}],
        alerts={"channels": {"hook": ChannelSettings(type="webhook", url=hook_url, secret_env="BENCH_PIPELINE_SECRET")},
                "rules": [{"type": "risk_threshold", "name": "risky-post", "subject": "mention",
                           "threshold": threshold, "channels": ["hook"]}]},
    )


def crawled_mentions(texts: list[str], run: int) -> list[Mention]:
    now = datetime.now(timezone.utc)
    out = []
    for i, text in enumerate(texts):
        platform = "forum" if i % 3 == 0 else "mastodon"
        native = f"bench-{run}-{i}"
        out.append(Mention(
            id=mention_id(platform, native), platform=platform, source=f"{platform}-bench", native_id=native,
            url=f"https://{platform}.example/p/{native}", thread_id=f"th-{run}-{i % 25}", text=text,
            author=Author(platform=platform, handle=f"user{i % 97}", followers=50 + i),
            published_at=now - timedelta(minutes=i % 60), crawled_at=now, brands=["Sepehr Mobile"],
            engagement=Engagement(shares=i % 7, likes=i % 13, replies=i % 5),
        ))
    return out


def backlog(store) -> int:  # noqa: ANN001
    left = 0
    for stage in QUEUES:
        depth = store.queue_depth(stage)
        left += depth.get("ready", 0) + depth.get("leased", 0)
    by_status = store.count_deliveries_by_status()
    return left + sum(by_status.get(s, 0) for s in ("pending", "sending", "failed"))


def nlp_only_rate(settings: Settings, texts: list[str], batch: int) -> float:
    """Mentions/s of the analyser alone on the same texts, in worker-sized batches (no store, no other stage)."""
    from nlp.analyzer import Analyzer

    analyzer = Analyzer(settings)
    mentions = crawled_mentions(texts, run=-1)
    analyzer.analyze(mentions[:batch])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(mentions), batch):
        analyzer.analyze(mentions[i:i + batch])
    return len(mentions) / (time.perf_counter() - started)


def run_pipeline(settings: Settings, texts: list[str], run: int, receiver: Receiver, timeout: float) -> dict:
    from monitor_api.pipeline import Pipeline

    store = open_store(settings)
    try:
        mentions = crawled_mentions(texts, run)
        store.upsert_mentions(mentions)
        store.enqueue("analyze", [m.id for m in mentions])
        pipeline = Pipeline(settings, store, SystemClock(), stages=STAGES).build()
        if pipeline.missing:
            raise SystemExit(f"stages not available: {pipeline.missing}")
        timed = {stage: Timed(worker) for stage, worker in pipeline.workers.items()}
        pipeline.workers = dict(timed)
        before = receiver.received
        started = time.perf_counter()
        pipeline.start()  # brandguard run's idle sleep; stages wake each other when they hand work on
        while backlog(store) and time.perf_counter() - started < timeout:
            time.sleep(0.05)
        drained = time.perf_counter() - started
        pipeline.stop()
        if backlog(store):
            raise SystemExit(f"backlog not drained in {timeout:.0f} s")
        return {
            "drain_seconds": round(drained, 2), "mentions_per_s": round(len(texts) / drained, 1),
            "stages": {s: {"items": t.items, "busy_seconds": round(t.busy, 2),
                           "items_per_busy_s": round(t.items / t.busy, 1) if t.busy else None}
                       for s, t in timed.items()},
            "notifications": receiver.received - before,
        }
    finally:
        store.close()


def main() -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="mentions pushed through the pipeline")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=20, help="risk score that alerts (risk_threshold rule)")
    parser.add_argument("--runtime", default=None, help="override models.runtime (torch, onnx, onnx-int8)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime / torch threads")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=None, help="labeled-data folder (default: BRANDGUARD_TRAIN_DATA)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ["BENCH_PIPELINE_SECRET"] = SECRET
    base = load_settings(args.config)
    if args.runtime:
        base.models.runtime = args.runtime
    texts = mixed_stream(args.n, args.seed, data_folder(args.data, base))
    receiver = Receiver()
    runs, nlp_rates = [], []
    for run in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            settings = pipeline_settings(base, Path(tmp), receiver.url, args.threshold)
            batch = max(settings.models.batch_size * 2, 16)
            before = nlp_only_rate(settings, texts, batch)
            result = run_pipeline(settings, texts, run, receiver, args.timeout)
            after = nlp_only_rate(settings, texts, batch)
            nlp_rates.append((before + after) / 2)  # bracketing the pipeline run: the machine drifts
            result["nlp_only_mentions_per_s"] = [round(before, 1), round(after, 1)]
            result["ratio_to_nlp_only"] = round(result["mentions_per_s"] / nlp_rates[-1], 3)
            runs.append(result)
            print(json.dumps(result), flush=True)
    e2e = statistics.median(r["mentions_per_s"] for r in runs)
    nlp = statistics.median(nlp_rates)
    print(json.dumps({
        "mentions": args.n, "repeats": args.repeats, "runtime": base.models.runtime, "threads": args.threads,
        "end_to_end_mentions_per_s": e2e, "drain_seconds": statistics.median(r["drain_seconds"] for r in runs),
        "nlp_only_mentions_per_s": round(nlp, 1), "ratio_to_nlp_only": round(e2e / nlp, 3),
        "ratio_per_run": [r["ratio_to_nlp_only"] for r in runs],
        "median_ratio_per_run": statistics.median(r["ratio_to_nlp_only"] for r in runs),
        "per_stage_items_per_busy_s": {s: statistics.median(r["stages"][s]["items_per_busy_s"] or 0 for r in runs)
                                       for s in STAGES},
        "notifications": [r["notifications"] for r in runs], "bad_signatures": receiver.bad,
        "target": "ratio_to_nlp_only >= 0.8",
    }, indent=2))


if __name__ == "__main__":
    main()

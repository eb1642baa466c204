"""Ingest-to-notification latency of the alert pipeline (alert worker + dispatcher).

Runs ``brandguard alert`` and ``brandguard dispatch`` as real processes on a fresh SQLite
store, with a local signed-webhook receiver on 127.0.0.1. A producer plays the risk stage:
it writes scored mentions (Persian and English, analysis and risk filled in) and queues
them for the ``alert`` stage. Latency is measured from that write to the webhook's arrival.

1. capacity: a burst of ``--burst`` mentions; sustainable rate = notifications / seconds.
2. replay: mentions at half that rate for ``--seconds``; reports latency p50 / p99.

    python bench/bench_alerts.py              # full run (~1 min)
    python bench/bench_alerts.py --burst 100 --seconds 10   # quick
Targets: p50 <= 2 s, p99 <= 10 s at half the sustainable rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.signing import DELIVERY_HEADER, SIGNATURE_HEADER, verify_signature  # noqa: E402
from core.config import load_settings  # noqa: E402
from core.domain import Analysis, Author, Engagement, Mention, RiskScore, Thread, mention_id  # noqa: E402
from core.store import open_store  # noqa: E402

SECRETS = ["bench_secret_1"]
TEXTS = [
    "گوشیم رو دادم تعمیر سپهر موبایل و خراب برگردوندن، پشتیبانی جواب نمیده. همه بازنشر کنید! #سپهر_موبایل",
    "@sepehrmobile broke my phone twice and support ignores me. Boost this — never buy from Sepehr Mobile! #sepehrfail",
    "سپهر موبایل سه هفته است سفارشم رو نفرستاده و تلفن رو هم جواب نمیدن",
    "Sepehr Mobile charged me twice and the refund never came. Avoid. #sepehrfail",
]


class Receiver:
    """Signed-webhook endpoint recording when each alert's first notification arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}  # mention id -> arrival time
        self.alerted: dict[str, float] = {}  # mention id -> when the alert worker wrote the alert
        self.delivery_ids: list[str] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                ok = verify_signature(body, self.headers.get(SIGNATURE_HEADER, ""), SECRETS)
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                data = json.loads(body)
                with receiver.lock:
                    if not ok:
                        receiver.bad_signatures += 1
                        return
                    receiver.delivery_ids.append(self.headers.get(DELIVERY_HEADER, ""))
                    if data.get("rule") == "risky-post" and data.get("change") == "created":
                        receiver.arrivals.setdefault(data["mention"]["id"], arrived)
                        receiver.alerted.setdefault(data["mention"]["id"], datetime.fromisoformat(data["updated_at"]).timestamp())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def make_mention(seq: int, now: datetime) -> Mention:
    text = f"{TEXTS[seq % len(TEXTS)]} ({seq})"
    lang = "fa" if seq % 2 == 0 else "en"
    platform = "forum" if lang == "fa" else "mastodon"
    return Mention(
        id=mention_id(platform, f"bench-{seq}"), platform=platform, source=f"{platform}-bench", native_id=f"bench-{seq}",
        url=f"https://{platform}.example/p/{seq}", thread_id=f"th-{seq % 20}", text=text, lang=lang,
        author=Author(platform=platform, handle=f"user{seq}", followers=100 + seq), published_at=now, crawled_at=now,
        brands=["Sepehr Mobile"], engagement=Engagement(shares=5, likes=12, replies=3),
        analysis=Analysis(lang=lang, sentiment="negative", anger=0.9, emotions={"anger": 0.9}, model="bench"),
        risk=RiskScore(score=72, reasons=["angry 0.90", "'share this'", "shares +40/h"]),
    )


def write_config(tmp: Path, hook_url: str) -> Path:
    config = {
        "data_dir": str(tmp),
        "brands": [{"name": "Sepehr Mobile", "query": '"sepehr mobile" OR sepehrmobile OR "سپهر موبایل"'}],
        "alerts": {
            "channels": {"hook": {"type": "webhook", "url": hook_url, "secret_env": "BENCH_HOOK_SECRET"}},
            "rules": [
                {"type": "risk_threshold", "name": "risky-post", "subject": "mention", "threshold": 50, "channels": ["hook"]},
                {"type": "risk_threshold", "name": "risky-thread", "subject": "thread", "threshold": 50, "channels": ["hook"]},
            ],
        },
    }
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def start_workers(config: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "BENCH_HOOK_SECRET": ",".join(SECRETS), "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-c", "from core.cli import main; main()"]
    return [subprocess.Popen(base + [cmd, "--config", str(config)], env=env, stdout=subprocess.DEVNULL)
            for cmd in ("alert", "dispatch")]


def produce(store, seqs: list[int], ingested: dict[str, float]) -> None:
    now = datetime.now(timezone.utc)
    batch = [make_mention(s, now) for s in seqs]
    t = time.time()
    for m in batch:
        ingested[m.id] = t
    store.upsert_mentions(batch)
    store.enqueue("alert", [m.id for m in batch])


def wait_for(receiver: Receiver, ids: list[str], timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with receiver.lock:
            if all(i in receiver.arrivals for i in ids):
                return True
        time.sleep(0.05)
    return False


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burst", type=int, default=1000, help="mentions in the capacity burst")
    parser.add_argument("--seconds", type=float, default=30, help="length of the half-rate replay")
    args = parser.parse_args()

    receiver = Receiver()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        config = write_config(tmp, receiver.url)
        store = open_store(load_settings(config))
        procs = start_workers(config)
        ingested: dict[str, float] = {}
        now = datetime.now(timezone.utc)
        for t in range(20):  # 20 busy threads: their alerts are updated (grouped), not re-sent
            store.upsert_thread(Thread(id=f"th-{t}", platform="mastodon", brands=["Sepehr Mobile"], first_at=now,
                                       last_at=now, risk=RiskScore(score=80, reasons=["thread risk 80"])))
        try:
            time.sleep(2.0)  # let both processes import and open the store
            # 1. capacity
            seqs = list(range(args.burst))
            t0 = time.time()
            for i in range(0, len(seqs), 50):
                produce(store, seqs[i:i + 50], ingested)
            ids = [make_mention(s, datetime.now(timezone.utc)).id for s in seqs]
            if not wait_for(receiver, ids, timeout=300):
                raise SystemExit("capacity burst did not finish in 300 s")
            elapsed = max(receiver.arrivals[i] for i in ids) - t0
            capacity = len(ids) / elapsed
            rate = capacity / 2
            print(f"capacity: {len(ids)} mentions -> {len(ids)} notifications in {elapsed:.1f} s "
                  f"= {capacity:.1f} mentions/s sustained")
            # 2. replay at half the sustainable rate
            print(f"replay: {rate:.1f} mentions/s for {args.seconds:g} s ...")
            replay, start, seq = [], time.time(), args.burst
            while time.time() - start < args.seconds:
                due = int((time.time() - start) * rate) + 1
                if due > len(replay):  # like the risk worker: what is due is written as one batch
                    seqs = list(range(seq, seq + due - len(replay)))
                    produce(store, seqs, ingested)
                    replay += [make_mention(s, datetime.now(timezone.utc)).id for s in seqs]
                    seq += len(seqs)
                time.sleep(0.05)
            if not wait_for(receiver, replay, timeout=120):
                missing = sum(1 for i in replay if i not in receiver.arrivals)
                print(f"WARNING: {missing} replayed mentions not notified within 120 s")
            latencies = [receiver.arrivals[i] - ingested[i] for i in replay if i in receiver.arrivals]
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
            store.close()
    dupes = len(receiver.delivery_ids) - len(set(receiver.delivery_ids))
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(f"replayed {len(replay)} mentions at {rate:.1f}/s: ingest-to-notification latency "
          f"p50 {p50:.2f} s, p99 {p99:.2f} s, max {max(latencies):.2f} s")
    to_alert = [receiver.alerted[i] - ingested[i] for i in replay if i in receiver.alerted]
    to_send = [receiver.arrivals[i] - receiver.alerted[i] for i in replay if i in receiver.alerted]
    print(f"  of which ingest->alert written p50 {statistics.median(to_alert):.2f} s, "
          f"alert written->received p50 {statistics.median(to_send):.2f} s")
    print(f"deliveries received {len(receiver.delivery_ids)}, duplicates {dupes}, bad signatures {receiver.bad_signatures}")
    print(f"targets: p50 <= 2 s {'OK' if p50 <= 2 else 'MISSED'}, p99 <= 10 s {'OK' if p99 <= 10 else 'MISSED'}")


if __name__ == "__main__":
    main()

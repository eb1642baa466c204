"""Crawl throughput: fetch + parse + brand match + store, against a local forum.

Serves a synthetic forum (listing pages of 50 threads, thread pages of 10 Persian and
English posts with Jalali dates) on 127.0.0.1, crawls it with the real forum spider and
pipelines into a fresh SQLite store, with the polite per-domain limits lifted for the
local host (robots.txt is still read). Prints pages/s and mentions/s, median of runs.

    python bench/bench_crawl.py            # 1000 thread pages, 3 runs
    python bench/bench_crawl.py --pages 200 --runs 1   # quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from core.config import Settings
from crawlers.demo.config import FORUM_OPTIONS
from crawlers.demo.render_forum import persian_digits
from crawlers.runner import run_sources

THREADS_PER_LISTING = 50
POSTS_PER_THREAD = 10
LOCAL_LIMITS_LIFTED = {
    "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS": 64,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 64, "LOG_LEVEL": "ERROR", "STORE_BATCH_SIZE": 500,
}


def _listing(page: int, pages: int) -> bytes:
    first = (page - 1) * THREADS_PER_LISTING
    links = "".join(
        f'<li class="thread"><a class="thread-title" href="/forum/thread/{i}">t{i}</a><span class="replies">9</span></li>'
        for i in range(first, min(first + THREADS_PER_LISTING, pages))
    )
    nxt = f'<a rel="next" href="/forum/?page={page + 1}">next</a>' if first + THREADS_PER_LISTING < pages else ""
    return f"<html><body><ul>{links}</ul>{nxt}</body></html>".encode()


def _thread(tid: int) -> bytes:
    posts = []
    for j in range(POSTS_PER_THREAD):
        if j % 2:
            body, when = f"Sepehr Mobile order {tid}-{j} arrived late but support replied.", f'<time datetime="2026-11-2{j % 3}T10:{j:02d}:00Z">x</time>'
        else:
            body = f"سفارش {tid}-{j} از سپهر موبایل دیر رسید ولی پشتیبانی جواب داد."
            when = f'<span class="jalali">{persian_digits(f"1405/08/0{1 + j % 3} 1{j % 10}:30")}</span>'
        posts.append(
            f'<article class="post" data-post-id="p{tid}-{j}"><a class="author" href="/u/u{j}">u{j}</a>'
            f'<span class="post-date">{when}</span><div class="post-body"><p>{body}</p></div>'
            f'<footer><span class="likes">{j}</span></footer></article>'
        )
    return f"<html><body><h1>Thread {tid}</h1>{''.join(posts)}</body></html>".encode()


def serve(pages: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            path, _, query = self.path.partition("?")
            if path == "/robots.txt":
                body = b"User-agent: *\nDisallow: /private/\n"
            elif path == "/forum/":
                body = _listing(int(query.split("=")[1]) if query else 1, pages)
            else:
                body = _thread(int(path.rsplit("/", 1)[1]))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_once(base_url: str, data_dir: Path) -> tuple[int, int, float, float, float]:
    settings = Settings.model_validate({
        "data_dir": str(data_dir),
        "brands": [{"name": "Sepehr Mobile", "query": '"sepehr mobile" OR "سپهر موبایل"'}],
        "sources": [{"name": "bench-forum", "kind": "forum", "urls": [f"{base_url}/forum/"],
                     "options": {**FORUM_OPTIONS, "listing": {**FORUM_OPTIONS["listing"], "max_pages": 10_000}}}],
    })
    started = time.perf_counter()
    summary = run_sources(settings, extra_scrapy_settings=LOCAL_LIMITS_LIFTED, timeout=600)
    wall = time.perf_counter() - started
    entry = summary.sources[0]
    return entry.pages, entry.created, entry.seconds, wall, summary.cpu_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000, help="thread pages to crawl (default 1000)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server = serve(args.pages)
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    rates, mention_rates, cpu_rates = [], [], []
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                pages, created, crawl_s, wall_s, cpu_s = run_once(base_url, Path(tmp))
            rates.append(pages / crawl_s)
            mention_rates.append(created / crawl_s)
            cpu_rates.append(pages / cpu_s)
            print(f"run {run + 1}: {pages} pages, {created} mentions stored in {crawl_s:.2f}s crawl "
                  f"({wall_s:.2f}s with process start, {cpu_s:.2f} CPU-s): {pages / crawl_s:.0f} pages/s, "
                  f"{created / crawl_s:.0f} mentions/s, {pages / cpu_s:.0f} pages per CPU-second")
    finally:
        server.shutdown()
    print(f"median: {statistics.median(rates):.0f} pages/s, {statistics.median(mention_rates):.0f} mentions/s, "
          f"{statistics.median(cpu_rates):.0f} pages per CPU-second of the crawler "
          f"(fetch + parse + match + SQLite upsert; target >= 100 pages/s); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

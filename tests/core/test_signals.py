"""``core.worker.stop_on_signals`` + ``wait_until_set``: a SIGTERM the kernel hands to any thread
of the process stops it (CPython runs the handler only in the main thread, and a main thread in
one untimed wait is never woken to run it: a ``brandguard run`` ignored SIGTERM in CI)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The main thread waits for the stop event; a second thread has SIGTERM delivered to itself.
SCRIPT = textwrap.dedent("""
    import signal, sys, threading, time
    from core.worker import stop_on_signals, wait_until_set

    stop = threading.Event()
    stop_on_signals(stop)

    def other_thread():
        time.sleep(0.3)
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        print("signalled", flush=True)
        time.sleep(60)

    threading.Thread(target=other_thread, daemon=True).start()
    if sys.argv[1] == "product":
        wait_until_set(stop)
    else:
        stop.wait()  # what the commands did before
    print("stopped", flush=True)
""")


def _start(mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, stdout=subprocess.PIPE, text=True)


def test_sigterm_delivered_to_another_thread_stops_the_wait() -> None:
    started = time.monotonic()
    proc = _start("product")
    try:
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and out.split() == ["signalled", "stopped"]


def test_the_untimed_wait_it_replaces_does_miss_that_signal() -> None:
    # The control: without wait_until_set the same signal is never acted on, so the test above
    # can fail (it would, on the code the commands had).
    proc = _start("untimed")
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "signalled"
        time.sleep(3)
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.communicate()

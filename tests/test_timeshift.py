"""The year-ahead CI run really moves the clock of the test run's subprocesses (and only the wall clock)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

TIMESHIFT = Path(__file__).resolve().parent / "timeshift"


def test_a_process_started_with_the_time_shift_lives_a_year_ahead_and_sleeps_in_real_time() -> None:
    env = {**os.environ, "BRANDGUARD_TIME_SHIFT_DAYS": "365", "PYTHONPATH": str(TIMESHIFT)}
    probe = ("import datetime, threading, time; t = time.monotonic(); threading.Event().wait(0.2); time.sleep(0.1); "
             "print(datetime.datetime.now(datetime.timezone.utc).isoformat(), round(time.monotonic() - t, 1))")
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60, check=True)
    when, waited = out.stdout.split()
    already = float(os.environ.get("BRANDGUARD_TIME_SHIFT_DAYS") or 0)  # this run may itself be shifted
    shift = datetime.fromisoformat(when) - datetime.now(timezone.utc) + timedelta(days=already)
    assert timedelta(days=364) < shift < timedelta(days=366)
    assert 0.25 <= float(waited) < 5  # timed waits still work on real monotonic time


def test_shifted_processes_agree_on_the_time_even_when_one_reads_the_clock_late() -> None:
    """Two processes shifted alike agree to the millisecond, whenever each first reads the clock."""
    env = {**os.environ, "BRANDGUARD_TIME_SHIFT_DAYS": "365", "PYTHONPATH": str(TIMESHIFT)}
    # Wall time minus monotonic time is the shift (plus the boot time), whatever the moment it is read.
    probe = ("import time; time.sleep({late}); from datetime import datetime, timezone; "
             "print(datetime.now(timezone.utc).timestamp() - time.monotonic())")
    offsets = [float(subprocess.run([sys.executable, "-c", probe.format(late=late)], env=env, capture_output=True,
                                    text=True, timeout=60, check=True).stdout) for late in (0, 1.0)]
    assert abs(offsets[0] - offsets[1]) < 0.1, offsets

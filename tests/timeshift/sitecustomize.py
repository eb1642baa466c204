"""Shifts the wall clock of every Python process that starts with this folder on ``PYTHONPATH``.

``scripts/dev.sh test-future`` sets ``BRANDGUARD_TIME_SHIFT_DAYS`` (365) and puts this folder on
``PYTHONPATH``; the test run, every subprocess it starts (CLI commands, crawl children,
``brandguard serve``) and every spawned worker then see dates a year ahead, ticking at the real
rate, while monotonic clocks (timeouts, sleeps, leases' wall time) stay real. time-machine is
used instead of libfaketime because libfaketime 0.9.10 breaks Python's timed waits (``time.sleep``
fails with EINVAL when monotonic time is left real; ``threading.Event.wait(timeout)`` hangs when it
is faked).
"""

import os

_days = os.environ.get("BRANDGUARD_TIME_SHIFT_DAYS")
if _days:
    import datetime as _datetime

    import time_machine as _time_machine

    import time as _time

    _target = _datetime.datetime.now(_datetime.timezone.utc) + _datetime.timedelta(days=float(_days))
    _time_machine.travel(_target, tick=True).start()
    # time-machine starts ticking at the first reading of the clock, not at start(): read it now, so
    # every process is shifted by the same amount (else a process that first reads the time a
    # second after start-up runs a second behind the others).
    _time.time()

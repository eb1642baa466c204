"""``brandguard`` commands as long-running processes in tests: started with the checkout on
``PYTHONPATH``, always killed at the end, and stopped the way a service manager stops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def brandguard_process(*args: str, cwd: Path, stderr: int = subprocess.STDOUT) -> Iterator[subprocess.Popen[str]]:
    """``brandguard <args>`` running in ``cwd`` (stdout piped; stderr into it unless given); killed on exit."""
    proc = subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=stderr, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def sigterm_and_wait(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """SIGTERM the process, wait up to ``timeout`` s for it to exit, check it exited 0; its stdout."""
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, output
    return output

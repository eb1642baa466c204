"""The commands: ``keys create/list/revoke``, ``run`` (stages + API in one process, stops on
SIGTERM), and ``demo --exit-when-done`` (the README's main command, end to end)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.monitor_api.seed import analysis_unavailable
from tests.processes import brandguard_process, sigterm_and_wait

ANALYSIS_UNAVAILABLE = analysis_unavailable()
ROOT = Path(__file__).resolve().parents[2]


def brandguard(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from core.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


def write_config(tmp_path: Path, port: int = 8080, encoder_dir: Path | None = None) -> Path:
    config = tmp_path / "brandguard.yaml"
    models = f"models: {{encoder_dir: '{encoder_dir}'}}\n" if encoder_dir else ""
    config.write_text(f"data_dir: {tmp_path / 'data'}\napi: {{host: 127.0.0.1, port: {port}}}\n{models}", encoding="utf-8")
    return config


def prepared_encoder() -> Path:
    """The offline encoder the NLP tests prepare (once, cached): `run` refuses to start without one."""
    from nlp.encoder import prepare_encoder
    from nlp.runtime import export_onnx
    from tests.nlp.conftest import cache_root, prepare_test_branch

    path = cache_root() / "e5-small"
    prepare_encoder(path)
    export_onnx(path)
    prepare_test_branch(path)
    return path


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    write_config(tmp_path)
    created = brandguard("keys", "create", "--name", "crm-sync", "--scopes", "risk:read,customers:write", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    full = created.stdout.strip().splitlines()[-1]
    assert full.startswith("bg_") and "not shown again" in created.stderr
    key_id = full.split("_")[1]
    listed = brandguard("keys", "list", cwd=tmp_path)
    assert key_id in listed.stdout and "crm-sync" in listed.stdout and "active" in listed.stdout
    assert full.split("_", 2)[2] not in listed.stdout  # the secret is never listed
    assert brandguard("keys", "revoke", key_id, cwd=tmp_path).returncode == 0
    assert "revoked" in brandguard("keys", "list", cwd=tmp_path).stdout
    bad = brandguard("keys", "create", "--name", "x", "--scopes", "alerts:delete", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown scope 'alerts:delete'" in bad.stderr and "Traceback" not in bad.stderr


def sigterm_another_thread(pid: int) -> None:
    """SIGTERM one of the process's threads other than its main one (Linux ``tgkill``).

    A plain ``kill`` lets the kernel pick the thread; CPython acts on the signal in the main
    thread only, so this is the delivery a stopping command must survive (it did not, once)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for task in sorted(Path(f"/proc/{pid}/task").iterdir()):
        tid = int(task.name)
        if tid == pid:
            continue
        try:
            blocked = int(next(line for line in (task / "status").read_text().splitlines()
                               if line.startswith("SigBlk:")).split()[1], 16)
        except (OSError, StopIteration):
            continue  # the thread has just ended
        if blocked & (1 << (signal.SIGTERM - 1)):
            continue
        if libc.tgkill(pid, tid, signal.SIGTERM) == 0:
            return
    pytest.fail(f"process {pid} has no other thread that takes SIGTERM")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(ANALYSIS_UNAVAILABLE is not None, reason=str(ANALYSIS_UNAVAILABLE))
def test_run_serves_the_api_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    write_config(tmp_path, port, encoder_dir=prepared_encoder())
    with brandguard_process("run", cwd=tmp_path) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("brandguard run did not serve /healthz within 60 s")
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "brandguard_queue_depth" in metrics
        output = sigterm_and_wait(proc)
    assert "stages running:" in output and "stopping" in output


@pytest.mark.slow
@pytest.mark.skipif(ANALYSIS_UNAVAILABLE is not None, reason=str(ANALYSIS_UNAVAILABLE))
def test_demo_ends_with_the_escalation_alert_linked_to_c1042(tmp_path: Path) -> None:
    result = brandguard("demo", "--data-dir", str(tmp_path / "demo"), "--port", "0", "--step-seconds", "0",
                        "--exit-when-done", cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ALERT [" in result.stdout and "customer: C-1042" in result.stdout
    log = (tmp_path / "demo" / "alerts.jsonl").read_text(encoding="utf-8")
    assert "C-1042" in log


@pytest.mark.slow
def test_run_logs_json_with_one_line_per_crawl_and_no_scrapy_settings(tmp_path: Path) -> None:
    import json

    from tests.crawlers.fixture_api import FixtureApi
    from tests.crawlers.test_appstore_spider import APP, _store

    api = FixtureApi({("GET", "/us/rss/customerreviews/"): _store}).start()
    config = tmp_path / "brandguard.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nmodels: {{encoder_dir: '{prepared_encoder()}'}}\n"
        "brands: [{name: Sepehr Mobile, query: '\"sepehr mobile\" OR \"سپهر موبایل\"'}]\n"
        f"sources: [{{name: ios, kind: appstore, urls: ['{api.base_url}'], options: {{apps: ['{APP}'], brand: Sepehr Mobile,"
        " scrapy: {DOWNLOAD_DELAY: 0, AUTOTHROTTLE_ENABLED: false}}}]\n", encoding="utf-8")
    lines: list[dict] = []
    try:
        with brandguard_process("run", "--no-api", "--log-format", "json", cwd=tmp_path, stderr=subprocess.PIPE) as proc:
            assert proc.stderr is not None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not any(line.get("event") == "crawl" for line in lines):
                raw = proc.stderr.readline()
                if not raw:
                    break
                lines.append(json.loads(raw))  # every line on stderr is one JSON object
            sigterm_another_thread(proc.pid)  # the stage threads and torch's pool are running now
            _, errors = proc.communicate(timeout=60)
            lines.extend(json.loads(line) for line in errors.splitlines() if line.strip())
    finally:
        api.stop()
    crawl = [line for line in lines if line.get("event") == "crawl"]
    assert len(crawl) == 1 and crawl[0]["source"] == "ios" and crawl[0]["new"] == 4 and crawl[0]["errors"] == 0
    assert {"pages", "items", "updated", "seconds"} <= set(crawl[0])
    assert not any("Overridden settings" in line["message"] or "BOT_NAME" in line["message"] for line in lines)

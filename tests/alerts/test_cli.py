"""The alert commands as users run them, including killing the worker and the dispatcher
mid-stream and restarting them: no alert lost, none duplicated, every delivery received."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from core.config import load_settings
from core.store.port import AlertFilter
from tests.alerts.conftest import COPY_EN, MINA_EN, WEBHOOK_SECRETS, mention, open_test_store, thread

RULES = [
    {"type": "risk_threshold", "name": "risky-post", "subject": "mention", "threshold": 50, "channels": ["hook"]},
    {"type": "risk_threshold", "name": "risky-thread", "subject": "thread", "threshold": 60, "channels": ["hook"]},
]


def write_config(tmp_path: Path, hook_url: str, rules=RULES) -> Path:
    config = {
        "data_dir": str(tmp_path / "data"),
        "brands": [{"name": "Sepehr Mobile", "query": '"sepehr mobile" OR #sepehrfail'}],
        "alerts": {"channels": {"hook": {"type": "webhook", "url": hook_url, "secret_env": "HOOK_SECRET",
                                         "timeout_seconds": 5}},
                   "rules": rules, "max_attempts": 20},
    }
    path = tmp_path / "brandguard.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def cli(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from core.cli import main; main()", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "HOOK_SECRET": ",".join(WEBHOOK_SECRETS)})


def spawn(command: str, config: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", command, "--config", str(config),
                             "--name", name, "--lease-seconds", "5"], env={**os.environ, "HOOK_SECRET": ",".join(WEBHOOK_SECRETS)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_config_check_reports_bad_alert_rules(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/", rules=[{"type": "thread_velocity", "channels": ["nope"]}])
    result = subprocess.run([sys.executable, "-c", "from core.cli import main; main()", "config", "check", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "alerts.rules[0] (thread_velocity): min_per_hour: Field required" in result.stderr
    assert "alerts.rules[0] (thread_velocity): channels: unknown channel 'nope'" in result.stderr


def test_once_commands_and_dead_letter_redelivery(tmp_path: Path, webhook_receiver) -> None:
    config = write_config(tmp_path, webhook_receiver.url)
    settings = load_settings(config)
    store = open_test_store(settings)
    now = datetime.now(timezone.utc)
    post = mention("c1", MINA_EN, handle="mina_r", published=now)
    store.upsert_mentions([post])
    store.enqueue("alert", [post.id])
    assert "1 item(s) handled" in cli("alert", "--once", config=config).stdout
    webhook_receiver.fail_next(1, status=410)  # Gone: not retryable
    assert "1 delivery attempt(s)" in cli("dispatch", "--once", config=config).stdout
    dead = cli("alerts", "dead", config=config)
    [line] = dead.stdout.splitlines()
    delivery_id = line.split("\t")[0]
    assert "hook" in line and "HTTP 410" in line
    redo = cli("alerts", "redeliver", delivery_id, config=config)
    assert redo.returncode == 0 and "redelivering 1" in redo.stdout
    cli("dispatch", "--once", config=config)
    assert webhook_receiver.delivery_ids() == [delivery_id]
    assert cli("alerts", "dead", config=config).stdout.strip() == "no dead deliveries"
    assert cli("alerts", "redeliver", "dl-nope", config=config).returncode == 2
    store.close()


@pytest.mark.slow
def test_kill_and_restart_worker_and_dispatcher_loses_nothing_and_duplicates_nothing(tmp_path: Path, webhook_receiver) -> None:
    config = write_config(tmp_path, webhook_receiver.url)
    settings = load_settings(config)
    store = open_test_store(settings)
    webhook_receiver.delay = 0.05  # slow enough for the kill to land mid-send
    now = datetime.now(timezone.utc)
    solo = [mention(f"solo{i}", f"{MINA_EN} #{i}", handle=f"user{i}", published=now) for i in range(30)]
    replies = [mention(f"reply{i}", f"{COPY_EN} {i}", handle=f"acc{i}", thread_id="th-kill", risk=40, published=now)
               for i in range(20)]
    store.upsert_thread(thread("th-kill", [r.id for r in replies], risk=80))
    procs = [spawn("alert", config, "alert-a"), spawn("dispatch", config, "dispatch-a")]
    try:
        for wave in range(5):
            batch = solo[wave * 6:(wave + 1) * 6] + replies[wave * 4:(wave + 1) * 4]
            store.upsert_mentions(batch)
            store.enqueue("alert", [m.id for m in batch])
            time.sleep(0.4)
            if wave == 2:  # kill -9 both mid-stream, then start them again
                for p in procs:
                    p.send_signal(signal.SIGKILL)
                    p.wait(10)
                procs = [spawn("alert", config, "alert-b"), spawn("dispatch", config, "dispatch-b")]
        deadline = time.monotonic() + 150
        expected = 31  # 30 risky posts + one thread alert
        while time.monotonic() < deadline:
            counts = store.count_deliveries_by_status()
            if counts.get("sent", 0) >= expected and store.queue_depth("alert")["ready"] == 0 and \
                    store.queue_depth("alert")["leased"] == 0:
                break
            time.sleep(0.5)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(20)
    alerts, _ = store.list_alerts(AlertFilter(limit=500))
    fingerprints = [a.fingerprint for a in alerts]
    assert len(alerts) == 31 and len(set(fingerprints)) == 31  # nothing missed, nothing doubled
    [thread_alert] = [a for a in alerts if a.rule == "risky-thread"]
    assert len(thread_alert.mention_ids) == 20
    stored_ids = {d.id for d in store.list_deliveries(limit=500)}
    assert len(stored_ids) == 31 and store.count_deliveries_by_status() == {"sent": 31}
    received = webhook_receiver.delivery_ids()
    print(f"received {len(received)} requests for {len(stored_ids)} deliveries")
    assert set(received) == stored_ids  # every delivery reached the receiver
    assert len(received) - len(set(received)) <= 4  # at most the few in flight at the kill, same ids
    store.close()

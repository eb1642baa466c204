"""Commands that start work refuse a config they cannot honour (exit 2, every problem printed as
``config check`` prints it, nothing started); ``config check`` warns about configs that can never
notify anyone; ``init`` writes a config that alerts out of the box."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BASE = {
    "brands": [{"name": "Sepehr", "query": 'sepehr OR "سپهر موبایل"'}],
    "store": {"backend": "sqlite"},
}
GOOD_RULE = {"type": "campaign_detected", "name": "campaign", "min_authors": 5, "channels": ["inbox"]}
INBOX = {"inbox": {"type": "log"}}


def brandguard(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BRANDGUARD_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", "from core.cli import main; main()", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=180, env=full_env)


def write_config(tmp_path: Path, **sections) -> Path:
    config = {**BASE, "data_dir": str(tmp_path / "data"), **sections}
    path = tmp_path / "bg.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def refused(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    for text in expected:
        assert text in result.stderr, result.stderr
    assert "refusing to start" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_run_with_one_invalid_rule_starts_nothing(tmp_path: Path) -> None:
    bad_rule = {"type": "thread_velocity", "name": "viral", "min_per_hour": -3, "channels": ["inbox"]}
    path = write_config(tmp_path, alerts={"channels": INBOX, "rules": [GOOD_RULE, bad_rule]})
    result = brandguard("run", "--config", str(path), "--no-api", cwd=tmp_path)
    refused(result, f"{path}: alerts.rules[1] (thread_velocity): min_per_hour:")
    assert "stages running" not in result.stdout
    assert not (tmp_path / "data" / "brandguard.db").exists()  # nothing was opened, let alone started
    checked = brandguard("config", "check", str(path), cwd=tmp_path)
    assert checked.returncode == 2 and f"{path}: alerts.rules[1] (thread_velocity): min_per_hour:" in checked.stderr


def test_a_channel_whose_secret_variable_is_unset_is_caught_at_start(tmp_path: Path) -> None:
    channels = {"crm": {"type": "webhook", "url": "http://127.0.0.1:9/hook", "secret_env": "BG_TEST_HOOK_SECRET"}}
    path = write_config(tmp_path, alerts={"channels": channels, "rules": [{**GOOD_RULE, "channels": ["crm"]}]})
    for command in (["dispatch", "--once"], ["alert", "--once"], ["run", "--no-api"]):
        result = brandguard(*command, "--config", str(path), cwd=tmp_path)
        refused(result, "alerts.channels.crm.secret_env: environment variable BG_TEST_HOOK_SECRET (webhook secret) is not set")
    ok = brandguard("dispatch", "--once", "--config", str(path), cwd=tmp_path, env={"BG_TEST_HOOK_SECRET": "s3cret"})
    assert ok.returncode == 0, ok.stderr
    assert "s3cret" not in ok.stdout + ok.stderr  # the secret is never printed


@pytest.mark.parametrize("channel, problem", [
    ({"type": "slack"}, "alerts.channels.c.url: required for a slack channel"),
    ({"type": "slack", "url": "javascript:alert(1)"}, "alerts.channels.c.url: 'javascript:alert(1)' is not an http(s) URL"),
    ({"type": "email", "smtp_host": "127.0.0.1"}, "alerts.channels.c.mail_from: required for a email channel"),
    ({"type": "email", "smtp_host": "h", "mail_from": "a@b", "mail_to": ["c@d"], "smtp_user": "u"},
     "alerts.channels.c.smtp_password_env: required"),
    ({"type": "telegram", "chat_id": "-100", "bot_token_env": "BG_TEST_NO_TOKEN"},
     "alerts.channels.c.bot_token_env: environment variable BG_TEST_NO_TOKEN (bot token) is not set"),
    ({"type": "log", "options": {"backoff_base_seconds": "soon"}},
     "alerts.channels.c.options.backoff_base_seconds: must be a positive number of seconds"),
])
def test_config_check_names_what_each_channel_lacks(tmp_path: Path, channel: dict, problem: str) -> None:
    path = write_config(tmp_path, alerts={"channels": {"c": channel}, "rules": [{**GOOD_RULE, "channels": ["c"]}]})
    result = brandguard("config", "check", str(path), cwd=tmp_path)
    assert result.returncode == 2 and f"{path}: {problem}" in result.stderr, result.stderr


def test_each_stage_command_refuses_the_part_of_the_config_it_uses(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        sources=[{"name": "feed", "kind": "rss", "urls": ["file:///etc/passwd"]}],
        models={"sentiment": {"fa": {"checkpoint": str(tmp_path / "no-such-model"),
                                     "label_map": {"LABEL_0": "furious"}}}},
    )
    refused(brandguard("crawl", "--once", "--config", str(path), cwd=tmp_path),
            "sources[0] (feed).urls[0]: 'file:///etc/passwd' is not an http(s) URL")
    analyze = brandguard("analyze", "--once", "--config", str(path), cwd=tmp_path)
    refused(analyze, "models.sentiment.fa.label_map.LABEL_0: 'furious' is not one of our labels",
            "models.sentiment.fa.checkpoint:")
    assert "sources[0]" not in analyze.stderr  # the analysis stage does not crawl


def test_config_check_warns_when_nothing_can_ever_alert(tmp_path: Path) -> None:
    no_rules = write_config(tmp_path)
    result = brandguard("config", "check", str(no_rules), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{no_rules}: WARNING: 1 brand(s) but no alert rules: nothing will ever alert" in result.stdout
    no_channels = write_config(tmp_path, alerts={"rules": [{**GOOD_RULE, "channels": []}]})
    result = brandguard("config", "check", str(no_channels), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "WARNING: 1 alert rule(s) but no channels: alerts reach only the dashboard inbox" in result.stdout


def test_init_writes_a_recommended_rule_set_and_a_local_channel_with_no_warning(tmp_path: Path) -> None:
    assert brandguard("init", "bg.yaml", cwd=tmp_path).returncode == 0
    config = yaml.safe_load((tmp_path / "bg.yaml").read_text(encoding="utf-8"))
    rules = config["alerts"]["rules"]
    assert {r["type"] for r in rules} >= {"key_customer_negative", "risk_threshold", "campaign_detected"}
    assert all(r["channels"] == ["local-inbox"] for r in rules)
    assert config["alerts"]["channels"]["local-inbox"]["type"] == "log"
    checked = brandguard("config", "check", "bg.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "WARNING" not in checked.stdout and f"{len(rules)} alert rule(s), 1 channel(s)" in checked.stdout


def test_run_refuses_when_a_stage_cannot_start_instead_of_running_without_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, alerts={"channels": INBOX, "rules": [GOOD_RULE]})  # data_dir has no prepared model
    result = brandguard("run", "--config", str(path), "--no-api", cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "stage analyze" in result.stderr and "brandguard nlp prepare" in result.stderr
    assert "stages running" not in result.stdout

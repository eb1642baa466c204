"""``brandguard store migrate`` and ``brandguard store check`` against the fake Elasticsearch
cluster and against SQLite, as a user runs them (a subprocess, exit codes, printed verdict)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.fake_elasticsearch import FakeElasticsearch
from tests.core.test_cli import brandguard


def _with_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def test_workers_refuse_an_unmigrated_cluster_until_store_migrate_ran(fake, tmp_path: Path, monkeypatch) -> None:
    _with_env(monkeypatch, BRANDGUARD_ES_URL=fake.url, BRANDGUARD_DATA_DIR=str(tmp_path))
    before = brandguard("store", "stats", cwd=tmp_path)
    assert before.returncode != 0 and "run `brandguard store migrate`" in before.stderr
    assert "Traceback" not in before.stderr
    migrated = brandguard("store", "migrate", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "created brandguard-mentions-v1" in migrated.stdout and "13 change(s)" in migrated.stdout
    again = brandguard("store", "migrate", cwd=tmp_path)
    assert again.returncode == 0 and "0 change(s)" in again.stdout
    assert brandguard("store", "stats", cwd=tmp_path).returncode == 0


def test_store_check_passes_on_elasticsearch_and_leaves_nothing_behind(fake, tmp_path: Path, monkeypatch) -> None:
    _with_env(monkeypatch, BRANDGUARD_ES_URL=fake.url, BRANDGUARD_DATA_DIR=str(tmp_path))
    result = brandguard("store", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("open", "write", "read", "search", "queue", "feed"):
        assert f"ok   {step}" in result.stdout
    assert "store check: PASS, 6 steps" in result.stdout and "elasticsearch 9.1.0" in result.stdout
    assert fake.indices == {} and fake.templates == {}  # the throw-away indices were dropped


def test_store_check_passes_on_sqlite(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("BRANDGUARD_ES_URL", raising=False)
    _with_env(monkeypatch, BRANDGUARD_DATA_DIR=str(tmp_path))
    result = brandguard("store", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "store check: PASS" in result.stdout and "against sqlite" in result.stdout


def test_store_check_fails_with_a_verdict_when_the_cluster_is_too_old(tmp_path: Path, monkeypatch) -> None:
    old = FakeElasticsearch(version="7.17.9")
    old.start()
    try:
        _with_env(monkeypatch, BRANDGUARD_ES_URL=old.url, BRANDGUARD_DATA_DIR=str(tmp_path))
        result = brandguard("store", "check", cwd=tmp_path)
    finally:
        old.stop()
    assert result.returncode == 1
    assert "FAIL open" in result.stdout and "Elasticsearch 7.17.9" in result.stdout
    assert "store check: FAIL (open)" in result.stderr and "Traceback" not in result.stderr

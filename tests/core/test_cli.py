"""The CLI: init writes a valid config; config check exits non-zero without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def brandguard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from core.cli import main; main()", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )


def test_init_then_check_round_trip(tmp_path: Path) -> None:
    made = brandguard("init", "bg.yaml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    checked = brandguard("config", "check", "bg.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "OK" in checked.stdout and "brand(s)" in checked.stdout
    again = brandguard("init", "bg.yaml", cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr


def test_bad_config_exits_non_zero_naming_the_field_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "sources:\n  - {name: 'has space', kind: rss}\n", encoding="utf-8"
    )
    result = brandguard("config", "check", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "bad.yaml: sources[0].name" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_help_lists_the_stage_commands(tmp_path: Path) -> None:
    result = brandguard("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("init", "config", "store"):
        assert command in result.stdout

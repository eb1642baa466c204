"""``bench/cue_precision.py`` as people run it: figures beside a git revision's, clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "cue_precision.py"), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def write_rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_figures_for_now_and_a_git_revision(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    write_rows(data / "semeval_sentiment_train.jsonl", [
        {"text": "@acme broke my phone and nobody answers", "label": "negative"},
        {"text": "Katy broke the record again!", "label": "positive"},
        {"text": "great day at the beach", "label": "positive"},
        {"text": "همه تحریمش کنید", "label": "negative"},  # everyone boycott it
    ])
    done = run(tmp_path, "--data", str(data), "--baseline-rev", "HEAD")
    assert done.returncode == 0, done.stderr
    rows = {tuple(line.split()[:3]): line.split() for line in done.stdout.splitlines()[1:]}
    now = rows["semeval_sentiment_train.jsonl", "4", "now"]
    assert now[3:5] == ["250.0", "1.000"]  # one of four texts fires complaint evidence, and it is negative
    assert now[6] == "250.0"  # one boycott per four texts
    assert ("semeval_sentiment_train.jsonl", "4", "HEAD") in rows


def test_bad_input_is_named(tmp_path: Path) -> None:
    missing = run(tmp_path, "--data", str(tmp_path / "nowhere"))
    assert missing.returncode != 0 and "--data" in missing.stderr and "Traceback" not in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = run(tmp_path, "--data", str(empty))
    assert nothing.returncode != 0 and "no labeled files" in nothing.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "semeval_sentiment_train.jsonl").write_text('{"text": "ok", "label": "negative"}\nnot json\n', encoding="utf-8")
    bad_line = run(tmp_path, "--data", str(broken))
    assert bad_line.returncode != 0 and "semeval_sentiment_train.jsonl:2" in bad_line.stderr
    assert "Traceback" not in bad_line.stderr
    write_rows(empty / "semeval_sentiment_train.jsonl", [{"text": "fine", "label": "neutral"}])
    bad_rev = run(tmp_path, "--data", str(empty), "--baseline-rev", "no-such-revision")
    assert bad_rev.returncode != 0 and "--baseline-rev no-such-revision" in bad_rev.stderr

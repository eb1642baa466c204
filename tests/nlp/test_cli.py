"""``brandguard nlp prepare|eval`` and ``brandguard analyze`` as a user runs them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from core.config import Settings
from core.store import open_store
from nlp.cli import register
from tests.nlp.conftest import make_mention, nlp_settings
from tests.processes import brandguard_process, sigterm_and_wait


def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


def write_config(tmp_path: Path, encoder_path: Path) -> Path:
    path = tmp_path / "brandguard.yaml"
    path.write_text(f"data_dir: {tmp_path}\nmodels:\n  encoder_dir: {encoder_path}\n", encoding="utf-8")
    return path


def test_prepare_twice_is_a_quick_no_op(tmp_path: Path, encoder_path: Path) -> None:
    result = CliRunner().invoke(app(), ["nlp", "prepare", "--no-onnx", "-c", str(write_config(tmp_path, encoder_path))])
    assert result.exit_code == 0, result.output
    assert "already prepared" in result.output


def test_analyze_without_prepared_encoder_says_how_to_fix(tmp_path: Path) -> None:
    config = tmp_path / "brandguard.yaml"
    config.write_text(f"data_dir: {tmp_path}\n", encoding="utf-8")
    result = CliRunner().invoke(app(), ["analyze", "--once", "-c", str(config)])
    assert result.exit_code != 0
    assert "run: brandguard nlp prepare" in result.output


def test_eval_prints_metrics_per_language(tmp_path: Path, encoder_path: Path) -> None:
    rows = [
        {"text": "I love this phone, best purchase ever!", "label": "positive", "lang": "en"},
        {"text": "Worst airline ever, lost my bag and nobody answers.", "label": "negative", "lang": "en"},
        {"text": "خيلي عالي بود، راضيم", "label": "very_positive", "lang": "fa"},
        {"text": "کیفیتش افتضاح بود و خراب شد", "label": "very_negative", "lang": "fa"},
    ]
    data = tmp_path / "sample.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app(), ["nlp", "eval", "--task", "sentiment", "--data", str(data),
                                        "-c", str(write_config(tmp_path, encoder_path))])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["overall"]["n"] == 4
    assert set(report["per_language"]) == {"en", "fa"}
    assert report["overall"]["labels"] == ["negative", "neutral", "positive"]
    assert report["overall"]["accuracy"] == 1.0


def test_eval_complaint_uses_thresholds_and_reports_calibration(tmp_path: Path, encoder_path: Path) -> None:
    rows = [
        {"text": "@sepehrmobile my phone came back from repair still broken and nobody answers", "label": "complaint"},
        {"text": "@sepehrmobile thank you, the repair took one day and the staff were lovely", "label": "not_complaint"},
        {"text": "سه روزه اینترنتم قطعه و پشتیبانی جواب نمیده، این چه وضعشه", "label": "1"},
        {"text": "پشتیبانی خیلی سریع جواب داد و مشکلم همون روز حل شد، ممنونم", "label": "0"},
    ]
    data = tmp_path / "complaints.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    config = write_config(tmp_path, encoder_path)
    result = CliRunner().invoke(app(), ["nlp", "eval", "--task", "complaint", "--data", str(data), "-c", str(config)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["overall"]["labels"] == ["not_complaint", "complaint"]
    assert report["overall"]["complaint_f1"] == 1.0 and set(report["per_language"]) == {"en", "fa"}
    assert 0.0 <= report["overall"]["ece"] < 0.5
    # a threshold no probability reaches turns every decision into not_complaint
    config.write_text(config.read_text() + "  thresholds: {'complaint-en:complaint': 0.999999, 'complaint-fa:complaint': 0.999999}\n")
    strict = json.loads(CliRunner().invoke(app(), ["nlp", "eval", "--task", "complaint", "--data", str(data),
                                                   "-c", str(config)]).output)
    assert strict["overall"]["complaint_f1"] == 0.0
    config.write_text(config.read_text().replace("complaint-fa:complaint", "complaint-fa:angry"))
    bad = CliRunner().invoke(app(), ["nlp", "eval", "--task", "complaint", "--data", str(data), "-c", str(config)])
    assert bad.exit_code == 2 and "'complaint-fa:angry': complaint-fa has no label 'angry'" in bad.output


def test_eval_bad_label_names_the_line(tmp_path: Path, encoder_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "ok", "label": "angry-ish"}\n', encoding="utf-8")
    result = CliRunner().invoke(app(), ["nlp", "eval", "--task", "emotion", "--data", str(data),
                                        "-c", str(write_config(tmp_path, encoder_path))])
    assert result.exit_code == 2
    assert "bad.jsonl:1: unknown emotion label 'angry-ish'" in result.output


def _two_mentions_queued(tmp_path: Path, encoder_path: Path) -> tuple[Settings, Path]:
    """A SQLite store with an English and a Persian mention waiting for analysis, and its config file."""
    settings = nlp_settings(tmp_path, encoder_path)
    store = open_store(settings)
    store.upsert_mentions([make_mention("1", "Never buying from Digikala again, retweet this!"),
                           make_mention("2", "دیجی کالا عالیه، ممنون از ارسال سریع")])
    store.close()
    config = write_config(tmp_path, encoder_path)
    config.write_text(config.read_text() + f"store:\n  backend: sqlite\n  sqlite_path: {tmp_path / 'bg.db'}\n")
    return settings, config


def test_analyze_once_empties_the_queue(tmp_path: Path, encoder_path: Path) -> None:
    settings, config = _two_mentions_queued(tmp_path, encoder_path)
    result = CliRunner().invoke(app(), ["analyze", "--once", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "analyzed 2 mention(s)" in result.output
    store = open_store(settings)
    try:
        assert store.queue_depth("analyze")["ready"] == 0
        assert store.get_mention(make_mention("2", "x").id).lang == "fa"
    finally:
        store.close()


def test_finetune_writes_adapter_heads_and_heldout_sets(tmp_path: Path, encoder_path: Path) -> None:
    """A quick (3-step) ``brandguard nlp finetune`` run writes everything the full run does."""
    data = tmp_path / "data"
    data.mkdir()
    rows = {
        "tweeteval_sentiment_val.jsonl": [("Worst airline ever, lost my bag", "negative"), ("Flight at 9", "neutral"),
                                          ("Loved the crew, thanks!", "positive")] * 4,
        "deepsentipers_train.jsonl": [("کیفیتش افتضاح بود و خراب شد", "very_negative"), ("گوشی را دیروز خریدم", "neutral"),
                                      ("خیلی عالی بود، راضیم", "positive")] * 4,
        "tweeteval_emotion_train.jsonl": [("I am furious, they hung up on me", "anger"), ("Best day ever!", "joy")] * 4,
        "tweeteval_emotion_val.jsonl": [("So angry right now", "anger"), ("What a lovely surprise", "joy")],
        "armanemo_train.jsonl": [("دیگه واقعا عصبانی شدم", "angry"), ("امروز خیلی خوشحالم", "happy")] * 4,
    }
    for name, items in rows.items():
        (data / name).write_text("".join(json.dumps({"text": t, "label": label}, ensure_ascii=False) + "\n"
                                         for t, label in items), encoding="utf-8")
    heads = tmp_path / "heads"
    result = CliRunner().invoke(app(), [
        "nlp", "finetune", "--max-steps", "3", "--data", str(data), "--extra", str(tmp_path / "none"),
        "--out", str(tmp_path / "adapter"), "--heads-dir", str(heads), "-c", str(write_config(tmp_path, encoder_path))])
    assert result.exit_code == 0, result.output
    assert "adapter:" in result.output and "(3 steps" in result.output
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()
    assert sorted(p.name for p in heads.glob("*.json")) == [
        "emotion-en.json", "emotion-fa.json", "sentiment-en.json", "sentiment-fa.json"]
    card = json.loads((heads / "sentiment-fa.json").read_text(encoding="utf-8"))
    assert card["labels"] == ["negative", "neutral", "positive"] and "macro_f1" in card["heldout_metrics"]
    assert (tmp_path / "eval" / "sentiment-fa-heldout.jsonl").exists()


def test_finetune_with_a_bad_label_names_the_line_and_writes_nothing(tmp_path: Path, encoder_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "tweeteval_sentiment_val.jsonl").write_text(
        '{"text": "Loved the crew", "label": "positive"}\n{"text": "meh", "label": "kinda-bad"}\n', encoding="utf-8")
    result = CliRunner().invoke(app(), [
        "nlp", "finetune", "--max-steps", "1", "--data", str(data), "--out", str(tmp_path / "adapter"),
        "--heads-dir", str(tmp_path / "heads"), "-c", str(write_config(tmp_path, encoder_path))])
    assert result.exit_code == 2
    assert "tweeteval_sentiment_val.jsonl:2: unknown sentiment label 'kinda-bad'" in result.output
    assert not (tmp_path / "adapter").exists() and not (tmp_path / "heads").exists()


@pytest.mark.slow
def test_analyze_workers_stop_with_their_parent_on_sigterm(tmp_path: Path, encoder_path: Path) -> None:
    """``analyze --workers 2`` as a service: SIGTERM to the command stops its worker processes too
    (they finish their batch), instead of leaving them running without it."""
    settings, config = _two_mentions_queued(tmp_path, encoder_path)
    children: set[int] = set()
    with brandguard_process("analyze", "--workers", "2", "-c", str(config), cwd=tmp_path) as proc:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            store = open_store(settings)
            try:
                depth = store.queue_depth("analyze")
            finally:
                store.close()
            children = _children(proc.pid)
            if depth["ready"] == 0 and depth["leased"] == 0 and len(children) >= 2:
                break
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.5)
        else:
            pytest.fail("the two workers did not analyse the queue within 180 s")
        output = sigterm_and_wait(proc)
    assert "Traceback" not in output
    settle = time.monotonic() + 10  # multiprocessing's resource tracker ends once it reads the parent's EOF
    while (alive := [pid for pid in children if _running(pid)]) and time.monotonic() < settle:
        time.sleep(0.2)
    assert not alive, f"processes outlived the command: {[Path(f'/proc/{pid}/cmdline').read_bytes() for pid in alive]}"


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited child nobody has reaped yet is not running)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (multiprocessing's resource tracker included)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found

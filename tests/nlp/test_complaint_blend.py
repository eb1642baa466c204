"""The English complaint probability blends the complaint head (tweets to airlines and Apple) with the sentiment
head's negative probability (weight chosen by ``nlp train``, overridable by ``models.complaint_blend``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.config import load_settings
from core.textnorm import normalize_persian
from nlp.analyzer import Analyzer, ModelConfigError, check_complaint_blend
from nlp.datasets import Example
from nlp.evaluate import predict
from nlp.heads import Head, blend_complaint
from nlp.train import COMPLAINT_BLEND_GRID, calibrate_blend, complaint_blend, head_proba
from tests.nlp.conftest import assert_int8_within_one_point, make_mention, nlp_settings

COMPLAINT_LABELS = ["not_complaint", "complaint"]
SENTIMENT_LABELS = ["negative", "neutral", "positive"]


def test_blend_is_the_weighted_mean_of_the_two_probabilities() -> None:
    complaint, negative = np.array([0.9, 0.2, 0.6]), np.array([0.1, 0.8, 0.6])
    assert np.allclose(blend_complaint(complaint, negative, 0.5), [0.5, 0.5, 0.6])
    assert np.allclose(blend_complaint(complaint, negative, 0.25), [0.3, 0.65, 0.6])
    assert blend_complaint(complaint, negative, 1.0) is complaint
    assert np.allclose(blend_complaint(complaint, negative, 0.0), negative)
    with pytest.raises(ValueError, match="not between 0 and 1"):
        blend_complaint(complaint, negative, 1.5)


def test_the_blend_temperature_divides_its_log_odds() -> None:
    complaint, negative = np.array([0.9, 0.2, 0.6, 1.0]), np.array([0.1, 0.8, 0.6, 1.0])
    mixed = blend_complaint(complaint, negative, 0.5)
    sharper = blend_complaint(complaint, negative, 0.5, temperature=0.5)
    assert np.allclose(np.log(sharper[:3] / (1 - sharper[:3])), np.log(mixed[:3] / (1 - mixed[:3])) / 0.5)
    assert sharper[0] == pytest.approx(0.5) and sharper[2] > mixed[2] and 0.999 < sharper[3] < 1.0  # finite at 1
    assert blend_complaint(complaint, negative, 1.0, temperature=0.5) is complaint  # the head alone keeps its own


def test_the_card_temperature_belongs_to_the_card_weight() -> None:
    head = Head("complaint", "en", COMPLAINT_LABELS, {}, {"sentiment_blend": {"complaint_weight": 0.5, "temperature": 0.8}})
    assert head.blend_temperature(0.5) == 0.8
    assert head.blend_temperature(0.25) == 1.0  # a weight set by models.complaint_blend: fitted for none
    assert Head("complaint", "en", COMPLAINT_LABELS, {}, {"sentiment_blend": {"complaint_weight": 0.5}}).blend_temperature(0.5) == 1.0


def test_a_head_blends_only_when_its_card_says_so() -> None:
    assert Head("complaint", "fa", COMPLAINT_LABELS, {}).complaint_weight == 1.0
    assert Head("complaint", "en", COMPLAINT_LABELS, {}, {"sentiment_blend": {"complaint_weight": 0.5}}).complaint_weight == 0.5


def test_blend_setting_names_a_loaded_complaint_head(tmp_path: Path) -> None:
    # bad keys and weights are refused when the file loads (tests/nlp/test_calibration.py)
    path = tmp_path / "c.yaml"
    path.write_text("models:\n  complaint_blend: {complaint-en: 0.25}\n", encoding="utf-8")
    assert load_settings(path).models.complaint_blend == {"complaint-en": 0.25}
    heads = {("complaint", "en"): Head("complaint", "en", COMPLAINT_LABELS, {})}
    check_complaint_blend({"complaint-en": 0.5}, heads)
    with pytest.raises(ModelConfigError, match="'complaint-fa' names no loaded complaint head"):
        check_complaint_blend({"complaint-fa": 0.5}, heads)


def _linear(task: str, labels: list[str], w2: np.ndarray, card: dict | None = None) -> Head:
    return Head(task, "en", labels, {"w2": w2, "b2": np.zeros(len(labels))}, card or {})


def _part(x: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[Example]]:
    return x, [Example(f"tweet {i}", label, "en", "test") for i, label in enumerate(labels)]


# Embeddings are 2-d: column 0 is what the complaint head reads, column 1 what the sentiment head reads.
COMPLAINT_HEAD = _linear("complaint", COMPLAINT_LABELS, np.array([[-4.0, 0.0], [4.0, 0.0]]))
SENTIMENT_HEAD = _linear("sentiment", SENTIMENT_LABELS, np.array([[0.0, 4.0], [0.0, 0.0], [0.0, -4.0]]))


def test_selection_blends_when_the_head_fails_off_its_domain() -> None:
    # in its domain both signals agree; off it, the complaint head says the opposite of the truth
    home = _part(np.array([[1.0, 1.0], [-1.0, -1.0]] * 5), ["complaint", "not_complaint"] * 5)
    away = _part(np.array([[0.2, 1.0], [-0.2, -1.0]] * 5), ["complaint", "not_complaint"] * 5)
    away_wrong = _part(np.array([[1.0, -1.0], [-1.0, 1.0]] * 5), ["not_complaint", "complaint"] * 5)
    weight, note = complaint_blend(COMPLAINT_HEAD, SENTIMENT_HEAD, {"home": home, "away": away_wrong})
    assert weight < 1.0 and "home / away" in note
    assert all(f"{w:g}: " in note for w in COMPLAINT_BLEND_GRID)
    # where the head is right everywhere, ties go to the head alone
    weight, _ = complaint_blend(COMPLAINT_HEAD, SENTIMENT_HEAD, {"home": home, "away": away})
    assert weight == 1.0


def test_head_proba_applies_the_cards_blend_and_needs_the_sentiment_head() -> None:
    head = _linear("complaint", COMPLAINT_LABELS, COMPLAINT_HEAD.weights["w2"], {"sentiment_blend": {"complaint_weight": 0.5}})
    x, examples = _part(np.array([[1.0, -1.0], [0.0, 0.0]]), ["complaint", "not_complaint"])
    probs = head_proba(head, x, examples, SENTIMENT_HEAD)
    own = head.predict_proba(x)[:, 1]
    negative = SENTIMENT_HEAD.predict_proba(x)[:, 0]
    assert np.allclose(probs[:, 1], 0.5 * own + 0.5 * negative) and np.allclose(probs.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="complaint-en blends with the sentiment head"):
        head_proba(head, x, examples)


class _CountingBranch:
    """An English branch whose logits are fixed per text; counts how often each list of texts is read."""

    fingerprint = "test-branch"

    def __init__(self, logits: dict[str, list[float]]) -> None:
        self.table, self.reads = logits, 0

    def logits(self, texts: list[str]) -> np.ndarray:
        self.reads += 1
        return np.array([self.table[t] for t in texts])


def test_the_blend_reads_the_negative_of_sentiment_as_analysed_with_the_branch_mixed_in() -> None:
    from nlp.heads import mix_branch
    from nlp.train import RememberedLogits

    mix = {"weight": 0.5, "temperature": 2.0}
    sentiment = _linear("sentiment", SENTIMENT_LABELS, SENTIMENT_HEAD.weights["w2"], {"branch": mix})
    head = _linear("complaint", COMPLAINT_LABELS, COMPLAINT_HEAD.weights["w2"], {"sentiment_blend": {"complaint_weight": 0.5}})
    x, examples = _part(np.array([[1.0, -1.0], [0.0, 0.0]]), ["complaint", "not_complaint"])
    branch = _CountingBranch({"tweet 0": [6.0, 0.0, 0.0], "tweet 1": [0.0, 0.0, 6.0]})
    probs = head_proba(head, x, examples, sentiment, branch=branch)
    negative = mix_branch(sentiment.predict_proba(x), branch.logits(["tweet 0", "tweet 1"]), mix)[:, 0]
    assert np.allclose(probs[:, 1], 0.5 * head.predict_proba(x)[:, 1] + 0.5 * negative)
    alone = head_proba(head, x, examples, sentiment)  # no branch given: the head's own negative
    assert not np.allclose(alone[:, 1], probs[:, 1])
    # a sentiment head that mixes no branch ignores one
    assert np.allclose(head_proba(head, x, examples, SENTIMENT_HEAD, branch=branch), head_proba(head, x, examples, SENTIMENT_HEAD))
    # nlp train reads each part once, however often the grid and the calibration ask
    remembered, branch.reads = RememberedLogits(branch), 0
    for weight in COMPLAINT_BLEND_GRID:
        head_proba(head, x, examples, sentiment, weight, remembered)
    assert branch.reads == 1 and remembered.fingerprint == "test-branch"
    remembered.logits(["tweet 1", "tweet 0"])
    assert branch.reads == 2  # another list of texts is read anew


def test_the_blend_temperature_is_fitted_on_held_out_parts() -> None:
    # Each head alone is right 9 times in 10 with probability ~0.95 (calibrated); where they disagree
    # the blend says ~0.5, where they agree (~0.95) it is right every time: under-confident, so the
    # temperature that fits it is below 1 and the tempered blend is better calibrated.
    rng = np.random.default_rng(3)
    truth = rng.random(400) < 0.5
    sign = np.where(truth, 1.0, -1.0)
    flip_c, flip_s = rng.random(400) < 0.1, rng.random(400) < 0.1
    x = np.stack([sign * np.where(flip_c, -1, 1) * 0.74, sign * np.where(flip_s, -1, 1) * 0.37], axis=1)
    labels = ["complaint" if t else "not_complaint" for t in truth]
    head = _linear("complaint", COMPLAINT_LABELS, COMPLAINT_HEAD.weights["w2"], {"sentiment_blend": {"complaint_weight": 0.5}})
    parts = {"a": _part(x[:200], labels[:200]), "b": _part(x[200:], labels[200:])}
    calibration = calibrate_blend(head, SENTIMENT_HEAD, parts, seed=13)
    assert calibration["temperature"] < 0.9 and calibration["n"] == 400 and calibration["fit_on"] == "a + b"
    assert calibration["ece_after_crossfit"] < calibration["ece_before"]
    plain = head_proba(head, *parts["a"], SENTIMENT_HEAD)[:, 1]
    head.card["sentiment_blend"]["temperature"] = calibration["temperature"]
    tempered = head_proba(head, *parts["a"], SENTIMENT_HEAD)[:, 1]
    assert np.all(np.abs(tempered - 0.5) >= np.abs(plain - 0.5) - 1e-9) and not np.allclose(tempered, plain)
    assert np.allclose(head_proba(head, *parts["a"], SENTIMENT_HEAD, weight=0.25)[:, 1],  # another weight: untempered
                       0.25 * head.predict_proba(x[:200])[:, 1] + 0.75 * SENTIMENT_HEAD.predict_proba(x[:200])[:, 0])


ENGLISH = [
    "@Comcast my internet has been down for 3 days and nobody at support can tell me why",
    "@DoorDash order arrived an hour late and cold. Again. Never using you guys again",
    "@Starbucks thank you for the free birthday drink!",
    "New blog post: 10 tips for better sleep",
]


@pytest.fixture(scope="module")
def analyzer(encoder_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    return Analyzer(nlp_settings(tmp_path_factory.mktemp("blend"), encoder_path))


def test_committed_english_complaint_head_is_blended_with_sentiment(analyzer: Analyzer) -> None:
    head = analyzer.heads["complaint", "en"]
    weight = head.complaint_weight
    assert 0.0 < weight < 1.0, head.card.get("sentiment_blend")
    analyses = analyzer.analyze([make_mention(f"b{i}", t) for i, t in enumerate(ENGLISH)])
    embeddings = analyzer.encoder.embed(ENGLISH)
    own = head.predict_proba(embeddings, ENGLISH)[:, head.labels.index("complaint")]
    assert analyzer.branch is not None and "English branch mixed in" in head.card["sentiment_blend"]["sentiment"]
    negative = np.array([a.sentiment_scores["negative"] for a in analyses])  # as analysed: the English branch mixed in
    temperature = head.blend_temperature(weight)
    assert 0.5 < temperature < 1.0, head.card["sentiment_blend"]  # the averaged probability is sharpened back
    blended = weight * own + (1 - weight) * negative
    tempered = 1 / (1 + np.exp(-np.log(blended / (1 - blended)) / temperature))
    assert np.allclose([a.complaint for a in analyses], tempered, atol=2e-4)
    # complaints to a broadband and a food-delivery company, thanks, and a tweet addressed to nobody
    assert [a.complaint >= 0.5 for a in analyses] == [True, True, False, False], [a.complaint for a in analyses]
    # nlp eval reads the same probabilities
    _, probs = predict(analyzer, "complaint", ENGLISH, ["en"] * len(ENGLISH))
    assert np.allclose([p["complaint"] for p in probs], [a.complaint for a in analyses], atol=1e-4)


def test_committed_english_complaint_card_measures_two_industries_and_int8() -> None:
    """``brandguard nlp train --seed 13`` wrote complaint-en from customers' tweets to airlines *and* Apple,
    held out a part of each (the blend chosen on both and the SemEval check tweets), and measured int8."""
    import json

    from nlp.heads import HEADS_DIR

    card = json.loads((HEADS_DIR / "complaint-en.json").read_text(encoding="utf-8"))
    assert any("tweets to US airlines" in s for s in card["data"]) and any("tweets to @apple" in s for s in card["data"])
    parts = card["heldout_metrics_by_part"]
    assert set(parts) == {"heldout", "apple", "semeval-check", "tweeteval"}
    assert parts["heldout"]["onnx"]["n"] == 1500 and parts["apple"]["onnx"]["n"] > 900
    assert "apple held-out" in card["sentiment_blend"]["selection"]
    assert_int8_within_one_point(parts)
    assert parts["heldout"]["onnx"]["complaint_f1"] > 0.85 and parts["apple"]["onnx"]["complaint_f1"] > 0.75
    # it reads the texts' n-grams too (sentiment-en's wide side), chosen on the parts that choose the blend
    assert card["hyper"]["wide_buckets"] == 2**18 and "2^18 buckets" in card["wide"] and "logistic" in card["wide"]
    assert "chosen" in card["hyper_selection"] and "Apple" in card["hyper_selection"]


def test_the_english_complaint_head_reads_the_texts_n_grams(analyzer: Analyzer) -> None:
    head = analyzer.heads["complaint", "en"]
    embeddings = analyzer.encoder.embed(ENGLISH[:2])
    with pytest.raises(ValueError, match="reads n-grams of the texts too"):
        head.logits(embeddings)
    # the same embeddings with other words under them: the wide side moves the probability
    swapped = head.predict_proba(embeddings, ENGLISH[2:4])[:, 1]
    assert not np.allclose(head.predict_proba(embeddings, ENGLISH[:2])[:, 1], swapped, atol=1e-3)


def test_blend_setting_overrides_the_card(encoder_path: Path, tmp_path: Path) -> None:
    alone = Analyzer(nlp_settings(tmp_path, encoder_path, complaint_blend={"complaint-en": 1.0}))
    head = alone.heads["complaint", "en"]
    [analysis] = alone.analyze([make_mention("b9", ENGLISH[3])])
    own = head.predict_proba(alone.encoder.embed([ENGLISH[3]]), [ENGLISH[3]])[0, head.labels.index("complaint")]
    assert analysis.complaint == pytest.approx(own, abs=1e-4)
    with pytest.raises(ModelConfigError, match="names no loaded complaint head"):
        Analyzer(nlp_settings(tmp_path, encoder_path, complaint_blend={"complaint-xx": 0.5}))


@pytest.fixture(scope="module")
def tiny_checkpoint(encoder_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small, randomly initialised sentiment checkpoint saved the way a downloaded one is (no hub)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-sentiment")
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_path))
    torch.manual_seed(7)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=3, id2label={0: "NEG", 1: "NEU", 2: "POS"},
                        label2id={"NEG": 0, "NEU": 1, "POS": 2})
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():  # make the three labels clearly apart so rounding cannot hide a mix-up
        model.classifier.bias.copy_(torch.tensor([1.0, 0.0, -1.0]))
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def test_a_sentiment_checkpoint_feeds_the_blend(encoder_path: Path, tiny_checkpoint: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    settings = nlp_settings(tmp_path, encoder_path, sentiment={"en": {
        "checkpoint": str(tiny_checkpoint), "label_map": {"NEG": "negative", "NEU": "neutral", "POS": "positive"}}})
    analyzer = Analyzer(settings)
    assert ("sentiment", "en") in analyzer.checkpoints and ("complaint", "en") in analyzer.heads
    persian = "دو هفته است سفارشم رو ثبت کردم و هنوز نرسیده، پولمو پس بدید."
    english, fa = analyzer.analyze([make_mention("c1", ENGLISH[0]), make_mention("c2", persian)])
    # the checkpoint's own probabilities, computed here without the analyser
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_checkpoint))
    model = AutoModelForSequenceClassification.from_pretrained(str(tiny_checkpoint)).eval()
    with torch.no_grad():
        want = torch.softmax(model(**tokenizer([ENGLISH[0]], return_tensors="pt")).logits, dim=-1)[0].tolist()
    assert english.sentiment_scores == pytest.approx(dict(zip(["negative", "neutral", "positive"], want)), abs=1e-4)
    head = analyzer.heads["complaint", "en"]
    # int8 scales activations per batch: embed the same batch as the analyser did
    embeddings = analyzer.encoder.embed([ENGLISH[0], normalize_persian(persian)])
    own = head.predict_proba(embeddings[:1], [ENGLISH[0]])[0, head.labels.index("complaint")]
    weight = head.complaint_weight
    assert english.complaint == pytest.approx(blend_complaint(own, want[0], weight, head.blend_temperature(weight)), abs=2e-4)
    # Persian keeps its own heads, and its complaint head is not blended
    head_fa = analyzer.heads["complaint", "fa"]
    fa_own = head_fa.predict_proba(embeddings[1:], [normalize_persian(persian)])[0, head_fa.labels.index("complaint")]
    assert fa.lang == "fa" and head_fa.complaint_weight == 1.0 and fa.complaint == pytest.approx(fa_own, abs=1e-4)

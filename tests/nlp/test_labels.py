"""Label mapping (datasets, production checkpoints) and the metrics report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nlp.analyzer import head_lang, map_checkpoint_labels
from nlp.corpora import SEMEVAL, SEMEVAL_SAMPLE, build_corpora
from nlp.datasets import DataError, Example, map_label, read_jsonl, split_holdout, tweet_key, without_tweets
from nlp.metrics import classification_report
from tests.nlp.conftest import assert_int8_within_one_point


def test_sentipers_five_labels_fold_to_three() -> None:
    assert [map_label("sentiment", x) for x in ("very_negative", "negative", "neutral", "positive", "very_positive")] == [
        "negative", "negative", "neutral", "positive", "positive"]


def test_armanemo_angry_and_hate_are_anger() -> None:
    assert map_label("emotion", "angry") == "anger"
    assert map_label("emotion", "hate") == "anger"
    assert map_label("emotion", "happy") == "joy"
    assert map_label("emotion", "optimism") == "joy"


def test_unknown_label_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "ok", "label": "positive"}) + "\n" + json.dumps({"text": "x", "label": "meh"}) + "\n")
    with pytest.raises(DataError, match=r"bad.jsonl:2: unknown sentiment label 'meh'"):
        read_jsonl(path, "sentiment")


def test_checkpoint_labels_mapped_with_label_map() -> None:
    # cardiffnlp/twitter-xlm-roberta-base-sentiment style
    assert map_checkpoint_labels({0: "negative", 1: "neutral", 2: "positive"}, {}) == ["negative", "neutral", "positive"]
    # HooshvareLab snappfood style: HAPPY / SAD
    assert map_checkpoint_labels({0: "HAPPY", 1: "SAD"}, {"HAPPY": "positive", "SAD": "negative"}) == ["positive", "negative"]
    # generic LABEL_i names and ignored outputs
    assert map_checkpoint_labels({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
                                 {"LABEL_0": "anger", "LABEL_1": "", "LABEL_2": "joy"}) == ["anger", "", "joy"]


def test_arabic_uses_persian_heads_and_other_uses_english() -> None:
    assert head_lang("fa") == "fa" and head_lang("ar") == "fa"
    assert head_lang("en") == "en" and head_lang("other") == "en"


def test_holdout_split_is_seeded_and_disjoint(train_data: Path) -> None:
    rows = read_jsonl(train_data / "tweeteval_sentiment_val.jsonl", "sentiment")
    train_a, held_a = split_holdout(rows, 0.3, seed=13)
    train_b, held_b = split_holdout(rows, 0.3, seed=13)
    assert held_a == held_b
    assert not {e.text for e in held_a} & {e.text for e in train_a} - {e.text for e in train_a if e in held_a}
    assert abs(len(held_a) - 600) <= 3


def test_report_counts_and_anger_f1() -> None:
    report = classification_report(["anger", "anger", "joy", "sadness"], ["anger", "joy", "joy", "sadness"],
                                   ["anger", "joy", "sadness"])
    assert report["accuracy"] == 0.75
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert report["per_class"]["anger"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert report["anger_f1"] == 0.6667


def test_tweet_key_sees_through_tweeteval_anonymised_copies() -> None:
    semeval = "Good chat this morning with @FrankOnRadio about @LFC terrific run. Lead report in Friday’s Echo. http://t.co/x1"
    tweeteval = "Good chat this morning with @user about @user terrific run. Lead report in Friday\\u2019s Echo. "
    assert tweet_key(semeval) == tweet_key(tweeteval)
    held = [Example(tweeteval, "positive", "en", "tweeteval")]
    truncated = "Good chat this morning with @user about @user terrific run in the FA Youth Cup... more at http://t.co/y"
    other = "Terrible service from @united again, two hours on hold"
    rows = [Example(t, "positive", "en", "semeval") for t in (semeval, truncated, other)]
    assert [e.text for e in without_tweets(rows, held)] == [other]


def test_semeval_tweets_in_the_english_fine_tune_never_include_a_held_out_tweet(train_data: Path) -> None:
    """TweetEval's val split is drawn from the SemEval tweets: every one of them leaves the fine-tune's sample."""
    assert not any(s.startswith(SEMEVAL) for s in build_corpora(train_data, None, seed=13)["sentiment", "en"].sources)
    corpus = build_corpora(train_data, None, seed=13, semeval_sample=SEMEVAL_SAMPLE)["sentiment", "en"]
    assert any(s.startswith(SEMEVAL) for s in corpus.sources)
    assert len(corpus.train) > SEMEVAL_SAMPLE
    held = {tweet_key(e.text) for e in corpus.heldout}
    starts = {key[:40] for key in held}
    assert not [e.text for e in corpus.train if tweet_key(e.text) in held or tweet_key(e.text)[:40] in starts]


def test_english_sentiment_head_trains_on_semeval_without_a_held_out_or_check_tweet(train_data: Path) -> None:
    """``brandguard nlp train``'s sentiment-en parts: the held-out 30% of TweetEval val and the SemEval
    check tweets (which chose the hyper-parameters) never reach its training part."""
    from nlp.corpora import build_corpora
    from nlp.splits import SEMEVAL_CHECK, english_sentiment

    parts = english_sentiment(train_data, seed=13)
    train, held, check = parts["sentiment-en"].train, parts["sentiment-en"].heldout, parts["sentiment-en/check"].heldout
    assert len(held) == 601 and len(check) == SEMEVAL_CHECK and len(train) > 40_000
    keys = {tweet_key(e.text) for e in held + check}
    starts = {key[:40] for key in keys}
    assert [e.text for e in train if tweet_key(e.text) in keys or tweet_key(e.text)[:40] in starts] == []
    again = english_sentiment(train_data, seed=13)["sentiment-en/check"].heldout
    assert [e.text for e in again] == [e.text for e in check]  # seeded: the same check tweets every run
    # the fine-tune's corpus holds out exactly the same 601 tweets: neither trains on the other's held-out
    assert [e.text for e in build_corpora(train_data, None, 13)["sentiment", "en"].heldout] == [e.text for e in held]


def test_committed_english_sentiment_card_records_its_data_parts_and_int8() -> None:
    """``brandguard nlp train --seed 13`` wrote the committed sentiment-en head (see nlp/train.py)."""
    from nlp.heads import HEADS_DIR
    from nlp.splits import SEMEVAL_CHECK
    from nlp.train import SENTIMENT_EN_MEMBERS

    card = json.loads((HEADS_DIR / "sentiment-en.json").read_text(encoding="utf-8"))
    assert card["seed"] == 13 and card["hyper"]["members"] == SENTIMENT_EN_MEMBERS
    assert card["trained_by"] == ["brandguard nlp train (MLP on the tuned encoder's embeddings)"]
    assert any(source.startswith(SEMEVAL) for source in card["data"])
    parts = card["heldout_metrics_by_part"]
    assert parts["heldout"]["onnx"]["n"] == 601 and parts["semeval-check"]["onnx"]["n"] == SEMEVAL_CHECK
    assert card["calibration"]["n"] == SEMEVAL_CHECK  # fitted on the check tweets: the TweetEval ECE is out of sample
    assert_int8_within_one_point(parts)  # with the English branch mixed in, where the card mixes it
    if "branch" in card:  # calibrated with the committed branch, its weight and threshold chosen on the check tweets
        from nlp.branch import branch_fingerprint
        from nlp.train import BRANCH_WEIGHTS

        assert card["branch"]["fingerprint"] == branch_fingerprint()
        assert card["branch"]["weight"] in BRANCH_WEIGHTS and card["branch"]["weight"] > 0
        assert card["branch"]["calibration"]["n"] == SEMEVAL_CHECK


def test_a_missing_semeval_file_is_a_clear_data_error(train_data: Path, tmp_path: Path) -> None:
    """``nlp train`` without the SemEval tweets stops with an error naming the file, not a traceback."""
    from nlp.splits import english_sentiment

    (tmp_path / "tweeteval_sentiment_val.jsonl").symlink_to(train_data / "tweeteval_sentiment_val.jsonl")
    with pytest.raises(DataError, match="semeval_sentiment_train.jsonl"):
        english_sentiment(tmp_path, seed=13)

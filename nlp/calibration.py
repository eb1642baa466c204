"""Calibrated probabilities: temperature scaling fitted on held-out data, and its honest error.

A head's logits divided by one temperature ``T`` keep its decisions (the arg-max does not
move) but make "0.8" mean right about 80% of the time. ``T`` is fitted by minimising the
negative log-likelihood on held-out examples (a one-dimensional search over ``log T``).

Expected calibration error (ECE, 15 equal-width confidence bins, top label) is reported
*cross-fitted*: the held-out set is split in two seeded halves, ``T`` is fitted on one half and
the ECE measured on the other, both ways, and the two halves' errors are pooled — so the
reported figure is never measured on the data ``T`` was fitted on. The shipped ``T`` is then
fitted on the whole held-out set.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nlp.heads import softmax

BINS = 15


def ece(probs: np.ndarray, y: np.ndarray, bins: int = BINS) -> float:
    """Top-label expected calibration error: sum over confidence bins of share x |accuracy - confidence|."""
    if len(y) == 0:
        return 0.0
    return ece_from(probs.max(axis=1), probs.argmax(axis=1) == y, bins)


def ece_from(confidence: np.ndarray, correct: np.ndarray, bins: int = BINS) -> float:
    """ECE from each prediction's top-label confidence and whether that label was right."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    probs = softmax(logits / temperature)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature in [0.05, 20] with the lowest held-out negative log-likelihood (golden-section on log T)."""
    low, high = np.log(0.05), np.log(20.0)
    ratio = (np.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(logits, y, float(np.exp(a))), nll(logits, y, float(np.exp(b)))
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(logits, y, float(np.exp(a)))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(logits, y, float(np.exp(b)))
    return float(np.exp((low + high) / 2))


def calibrate(logits: np.ndarray, y: np.ndarray, seed: int, fit_on: str) -> dict[str, Any]:
    """Temperature fitted on all of ``logits``/``y`` plus cross-fitted ECE before and after (see module doc)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    halves = (order[: len(y) // 2], order[len(y) // 2:])
    before_probs = softmax(logits)
    after_probs = np.zeros_like(before_probs)
    for fit, measure in (halves, halves[::-1]):
        after_probs[measure] = softmax(logits[measure] / fit_temperature(logits[fit], y[fit]))
    return {
        "method": "temperature", "temperature": round(fit_temperature(logits, y), 4), "fit_on": fit_on,
        "n": int(len(y)), "ece_before": round(ece(before_probs, y), 4),
        "ece_after_crossfit": round(ece(after_probs, y), 4), "bins": BINS,
    }

"""``brandguard nlp eval``: run the configured analyser's models on a labeled JSONL file.

Gold labels are mapped with ``nlp.datasets`` (SentiPers 5 → 3 classes, ArmanEmo
angry/hate → anger, complaint/not_complaint). Predictions come from the same ``Analyzer`` the
worker uses — the same calibrated probabilities and the same decision thresholds
(``models.thresholds``, else the head's card); the language of each row is the file's
``lang`` when given, else detected. The report has accuracy, macro-F1, per-class P/R/F1 and
the confusion matrix overall and per language, plus ``anger_f1`` (anger vs the rest) for
emotion, ``complaint_f1`` for complaint, and the expected calibration error (``ece``, top
label) wherever a trained head gave the probabilities.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.config import Settings
from nlp.analyzer import Analyzer, head_lang
from nlp.calibration import ece_from
from nlp.datasets import COMPLAINT_LABELS, EMOTION_LABELS, SENTIMENT_LABELS, DataError, read_jsonl
from nlp.langid import detect_language
from nlp.metrics import classification_report

TASKS = ("sentiment", "emotion", "complaint")


def evaluate_file(settings: Settings, task: str, path: Path, analyzer: Analyzer | None = None) -> dict:
    examples = read_jsonl(path, task)
    analyzer = analyzer or Analyzer(settings)
    texts = [e.text for e in examples]
    langs = [e.lang or detect_language(e.text) for e in examples]
    started = time.monotonic()
    predicted, probs = predict(analyzer, task, texts, langs)
    seconds = time.monotonic() - started
    gold = [e.label for e in examples]
    if task == "emotion":
        # Anger vs the rest is what the risk score uses; other emotions are scored on the file's own label set.
        labels = [label for label in EMOTION_LABELS if label in set(gold) | set(predicted)]
    else:
        labels = list(COMPLAINT_LABELS if task == "complaint" else SENTIMENT_LABELS)
    report: dict = {"task": task, "file": str(path), "model": analyzer.model_id, "runtime": settings.models.runtime,
                    "seconds": round(seconds, 2), "overall": _report(gold, predicted, probs, labels, task)}
    report["per_language"] = {
        lang: _report([g for g, l in zip(gold, langs) if l == lang], [p for p, l in zip(predicted, langs) if l == lang],
                      [p for p, l in zip(probs, langs) if l == lang], labels, task)
        for lang in sorted(set(langs))
    }
    return report


def predict(analyzer: Analyzer, task: str, texts: list[str], langs: list[str]) -> tuple[list[str], list[dict | None]]:
    """Decided label and probabilities (None from a checkpoint) per text for ``task``, by each text's language."""
    from core.textnorm import normalize_persian

    out: list[str] = [""] * len(texts)
    probs_out: list[dict | None] = [None] * len(texts)
    groups: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        groups.setdefault(head_lang(lang), []).append(i)
    model_texts = [normalize_persian(t) for t in texts]
    for lang, idx in groups.items():
        if (task, lang) in analyzer.checkpoints:
            scores = analyzer.checkpoints[task, lang].predict([model_texts[i] for i in idx], analyzer.batch_size)
            labels = [analyzer.decide(task, lang, s) for s in scores]
            row_probs: list[dict | None] = [None] * len(idx)
        elif (task, lang) in analyzer.heads:
            head = analyzer.heads[task, lang]
            group_texts = [model_texts[i] for i in idx]
            embeddings = analyzer.encoder.embed(group_texts, analyzer.batch_size, analyzer.settings.models.batch_tokens)
            # as the analyser reports them: the English branch mixed in, a complaint head blended
            probs = analyzer.head_proba(task, lang, embeddings, group_texts)
            labels = head.decide(probs, analyzer.thresholds, branch=analyzer.mixes_branch(task, lang))
            row_probs = [dict(zip(head.labels, row.tolist())) for row in probs]
        else:
            raise DataError(f"no {task} model for language {lang!r} (heads folder without {task}-{lang})")
        for i, label, p in zip(idx, labels, row_probs):
            out[i] = label
            probs_out[i] = p
    return out, probs_out


def _report(gold: list[str], predicted: list[str], probs: list[dict | None], labels: list[str], task: str) -> dict:
    if not gold:
        return {"n": 0}
    report = classification_report(gold, predicted, labels)
    if task == "emotion":
        binary = classification_report(["anger" if g == "anger" else "rest" for g in gold],
                                       ["anger" if p == "anger" else "rest" for p in predicted], ["anger", "rest"])
        report["anger_f1"] = binary["per_class"]["anger"]["f1"]
    if task == "complaint":
        report["complaint_f1"] = report["per_class"]["complaint"]["f1"]
    if probs and all(p is not None for p in probs):
        confidence = [max(p.values()) for p in probs]  # type: ignore[union-attr]
        correct = [max(p, key=p.get) == g for p, g in zip(probs, gold)]  # type: ignore[arg-type]
        report["ece"] = round(ece_from(np.array(confidence), np.array(correct)), 4)
    return report

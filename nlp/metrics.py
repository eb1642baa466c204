"""Classification metrics for ``brandguard nlp eval`` and the training cards (no sklearn needed)."""

from __future__ import annotations

from typing import Sequence


def classification_report(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion matrix (rows = gold).

    When ``anger`` is among the labels, ``anger_f1`` (anger vs the rest) is included too.
    """
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    labels = list(labels)
    extra = sorted({*gold, *predicted} - set(labels))
    labels += extra
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted):
        matrix[index[g]][index[p]] += 1
    per_class = {}
    for label, i in index.items():
        tp = matrix[i][i]
        fp = sum(matrix[r][i] for r in range(len(labels))) - tp
        fn = sum(matrix[i]) - tp
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                            "support": sum(matrix[i])}
    scored = [c for label, c in per_class.items() if c["support"] > 0 or label not in extra]
    report = {
        "n": len(gold),
        "accuracy": round(sum(g == p for g, p in zip(gold, predicted)) / len(gold), 4) if gold else 0.0,
        "macro_f1": round(sum(c["f1"] for c in scored) / len(scored), 4) if scored else 0.0,
        "per_class": per_class,
        "labels": labels,
        "confusion_matrix": matrix,
    }
    if "anger" in index:
        report["anger_f1"] = per_class["anger"]["f1"]
    return report

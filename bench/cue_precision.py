"""How often the rule-based cues (``nlp/cues.py``) fire on labeled data, and how often rightly.

Complaint evidence (complaint reasons and failed support) should fire on complaints and stay
quiet elsewhere; sabotage cues (calls to share, boycotts, press and legal threats) should be rare
on ordinary posts. For every labeled file found this prints, per 1,000 texts, how many texts fire
complaint evidence and what share of those are labeled negative / complaint ("precision": noisy
labels make it a floor — neutral-labeled complaints count against it), and how many fire each
sabotage kind. Files: the training folder's SemEval tweets, Instagram comments, SentiPers reviews
and ArmanEmo tweets, plus the held-out complaint files ``brandguard nlp train`` writes to
``<data_dir>/eval``.

    BRANDGUARD_TRAIN_DATA=../shared/data python bench/cue_precision.py
    python bench/cue_precision.py --data ../shared/data --baseline-rev 9864049   # also the cues of that commit

``--baseline-rev`` loads ``nlp/cues.py`` as it was at a git revision and prints its figures beside
today's, so a change to the patterns is measured on the same texts.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from bench_nlp import data_folder  # the sibling script: bench/ is on sys.path when this runs as a script
from core.config import load_settings
from nlp.datasets import DataError, read_jsonl

SABOTAGE = ("call_to_action", "boycott", "threat_public", "threat_legal")
# (file, task, the labels that make a text "negative" for the precision column); None: no precision
TRAINING_FILES = (
    ("semeval_sentiment_train.jsonl", "sentiment", {"negative"}),
    ("itrc_instagram_fa_train.jsonl", "sentiment", {"negative"}),
    ("deepsentipers_train.jsonl", "sentiment", {"negative"}),
    ("armanemo_train.jsonl", "emotion", None),
)


def cue_module(rev: str | None) -> ModuleType:
    """Today's ``nlp.cues``, or the file as it was at git revision ``rev``."""
    if rev is None:
        import nlp.cues

        return nlp.cues
    root = Path(__file__).resolve().parents[1]
    source = subprocess.run(["git", "show", f"{rev}:nlp/cues.py"], cwd=root, capture_output=True, text=True)
    if source.returncode != 0:
        raise SystemExit(f"--baseline-rev {rev}: {source.stderr.strip()}")
    path = Path(tempfile.mkdtemp()) / "baseline_cues.py"
    path.write_text(source.stdout, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_cues", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["baseline_cues"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def measure(cues: ModuleType, texts: list[str], negative: list[bool] | None) -> dict:
    fired = 0
    right = 0
    sabotage = dict.fromkeys(SABOTAGE, 0)
    for i, text in enumerate(texts):
        kinds = {c.kind for c in cues.extract_cues(text)}
        if any(k.startswith("reason_") or k == "failed_support" for k in kinds):
            fired += 1
            right += bool(negative and negative[i])
        for kind in SABOTAGE:
            sabotage[kind] += kind in kinds
    per_k = 1000 / max(1, len(texts))
    return {"complaint_per_1k": round(fired * per_k, 1), "fired": fired,
            "precision": round(right / fired, 3) if negative is not None and fired else None,
            **{f"{k}_per_1k": round(v * per_k, 1) for k, v in sabotage.items()}}


def labeled_files(data: Path, eval_dir: Path) -> list[tuple[str, list[str], list[bool] | None]]:
    out = []
    for name, task, negative in TRAINING_FILES:
        if (data / name).is_file():
            rows = read_jsonl(data / name, task)
            out.append((name, [r.text for r in rows], [r.label in negative for r in rows] if negative else None))
    for path in sorted(eval_dir.glob("complaint-*-heldout.jsonl")):
        rows = read_jsonl(path, "complaint")
        out.append((f"eval/{path.name}", [r.text for r in rows], [r.label == "complaint" for r in rows]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="labeled-data folder (default: models.train_data_dir / BRANDGUARD_TRAIN_DATA)")
    parser.add_argument("--baseline-rev", help="also measure nlp/cues.py as it was at this git revision")
    args = parser.parse_args()
    settings = load_settings()
    data = data_folder(args.data, settings)
    try:
        files = labeled_files(data, settings.data_dir / "eval")
    except DataError as err:  # names the file and line
        raise SystemExit(str(err)) from None
    if not files:
        raise SystemExit(f"no labeled files found in {data} or {settings.data_dir / 'eval'}")
    versions = {"now": cue_module(None)}
    if args.baseline_rev:
        versions[args.baseline_rev] = cue_module(args.baseline_rev)
    header = f"{'file':<46} {'n':>6} {'cues':>8} {'complaint/1k':>12} {'precision':>9} " + " ".join(f"{k[:12] + '/1k':>15}" for k in SABOTAGE)
    print(header)
    for name, texts, negative in files:
        for version, module in versions.items():
            m = measure(module, texts, negative)
            precision = "-" if m["precision"] is None else f"{m['precision']:.3f}"
            print(f"{name:<46} {len(texts):>6} {version:>8} {m['complaint_per_1k']:>12} {precision:>9} "
                  + " ".join(f"{m[k + '_per_1k']:>15}" for k in SABOTAGE))


if __name__ == "__main__":
    main()

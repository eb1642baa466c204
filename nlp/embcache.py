"""Embedding cache under ``<data_dir>/cache/embeddings`` so re-training never re-embeds.

Keyed by the encoder's fingerprint (source hash + adapter hash), the max length and the exact
texts, so a changed text list or model gives a new file and a stale cache can never be read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np


def cache_path(cache_dir: Path, name: str, texts: Sequence[str], max_length: int, fingerprint: str) -> Path:
    digest = hashlib.sha256(f"{fingerprint}\x1f{max_length}".encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1e")
    return cache_dir / f"{name}-{digest.hexdigest()[:16]}.npy"


def embed_cached(cache_dir: Path, name: str, texts: Sequence[str], max_length: int, fingerprint: str,
                 embed: Callable[[Sequence[str]], np.ndarray], chunk: int = 512,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Embeddings of ``texts``; computed in chunks (resumable: finished chunks are kept)."""
    path = cache_path(cache_dir, name, texts, max_length, fingerprint)
    if path.exists():
        return np.load(path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    parts = []
    for start in range(0, len(texts), chunk):
        part_path = path.with_suffix(f".part{start // chunk}.npy")
        if part_path.exists():
            part = np.load(part_path)
        else:
            part = embed(texts[start:start + chunk]).astype(np.float32)
            np.save(part_path, part)
        parts.append(part)
        if progress:
            progress(min(start + chunk, len(texts)), len(texts))
    result = np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)
    np.save(path, result)
    for start in range(0, len(texts), chunk):
        path.with_suffix(f".part{start // chunk}.npy").unlink(missing_ok=True)
    return result

"""Embedding cache under ``<data_dir>/cache/embeddings`` so re-training never re-embeds.

Every vector is stored with the digest of its text, under a pool named by the encoder's
fingerprint and the max length (``<pool>/<name>-<hash>.npz``: ``keys`` + ``vectors``). A
request first looks for its exact file (same texts in the same order); otherwise any vector
already in the pool is reused by text digest and only the missing texts are embedded — so a
new split or a new sample of the same data costs nothing, while a changed model or max length
starts a new pool and a stale vector can never be read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

KEY_BYTES = 16


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES]


def pool_dir(cache_dir: Path, max_length: int, fingerprint: str) -> Path:
    tag = hashlib.sha256(f"{fingerprint}\x1f{max_length}".encode()).hexdigest()[:12]
    return cache_dir / f"pool-{tag}"


def cache_path(cache_dir: Path, name: str, texts: Sequence[str], max_length: int, fingerprint: str) -> Path:
    digest = hashlib.sha256(f"{fingerprint}\x1f{max_length}".encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1e")
    return pool_dir(cache_dir, max_length, fingerprint) / f"{name}-{digest.hexdigest()[:16]}.npz"


def load_pool(pool: Path) -> dict[bytes, np.ndarray]:
    """Every cached vector of one pool, by text digest."""
    known: dict[bytes, np.ndarray] = {}
    for path in sorted(pool.glob("*.npz")):
        with np.load(path) as data:
            for key, vector in zip(data["keys"], data["vectors"]):
                known[bytes(key)] = vector
    return known


def save_vectors(path: Path, texts: Sequence[str], vectors: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.frombuffer(b"".join(text_key(t) for t in texts), dtype=np.uint8).reshape(len(texts), KEY_BYTES)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, keys=keys, vectors=vectors.astype(np.float32))
    tmp.replace(path)


def embed_cached(cache_dir: Path, name: str, texts: Sequence[str], max_length: int, fingerprint: str,
                 embed: Callable[[Sequence[str]], np.ndarray], chunk: int = 512,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Embeddings of ``texts`` in order; cached vectors are reused, the rest embedded in resumable chunks."""
    path = cache_path(cache_dir, name, texts, max_length, fingerprint)
    if path.exists():
        with np.load(path) as data:
            return data["vectors"]
    pool = pool_dir(cache_dir, max_length, fingerprint)
    known = load_pool(pool) if pool.is_dir() else {}
    keys = [text_key(t) for t in texts]
    missing = sorted({i for i, k in enumerate(keys) if k not in known}, key=lambda i: i)
    missing_texts = list(dict.fromkeys(texts[i] for i in missing))
    for start in range(0, len(missing_texts), chunk):
        part = missing_texts[start:start + chunk]
        vectors = embed(part).astype(np.float32)
        save_vectors(pool / f"{name}-part-{hashlib.sha256(''.join(part).encode()).hexdigest()[:12]}.npz", part, vectors)
        known.update(zip((text_key(t) for t in part), vectors))
        if progress:
            progress(min(start + chunk, len(missing_texts)), len(missing_texts))
    dim = next(iter(known.values())).shape[0] if known else 384
    result = np.stack([known[k] for k in keys]) if keys else np.zeros((0, dim), np.float32)
    save_vectors(path, texts, result)
    for part_file in pool.glob(f"{name}-part-*.npz"):
        part_file.unlink(missing_ok=True)
    return result

"""Encoder runtimes: torch fp32, ONNX Runtime fp32, ONNX Runtime dynamic int8 (per-channel).

The ONNX graphs include mean pooling and L2 normalisation, so every runtime returns the same
kind of vector and the trained heads apply unchanged. ``export_onnx`` writes
``<encoder_dir>/onnx/model.onnx`` and ``model-int8.onnx`` (``brandguard nlp prepare`` does it).

The export is fused with ONNX Runtime's transformer optimizer (``onnxruntime.transformers``):
one ``Attention`` op per layer (query/key/value in one packed MatMul, no mask/transposes
between ops), ``SkipLayerNormalization``, ``BiasGelu`` and ``EmbedLayerNormalization``. The
model is exported with eager attention for that: the fusions recognise BERT's classic attention
pattern, not the one ``scaled_dot_product_attention`` exports to. On our 2-core machine the
fused graph embedded the benchmark stream 1.14× (int8) and 1.22× (fp32) as fast as the plain
export, with the same int8 damage (mean 1 − cosine to fp32 0.0044); see ``nlp/README.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.config import Settings
from nlp.encoder import (BATCH_TOKENS, CHECK_TEXTS, FIX_HINT, PREFIX, Encoder, EncoderNotReady, encoder_dir,
                         load_encoder, mean_pool, read_marker, token_batches)

ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model-int8.onnx"}


def onnx_path(settings_or_dir: Settings | Path, runtime: str) -> Path:
    base = encoder_dir(settings_or_dir) if isinstance(settings_or_dir, Settings) else settings_or_dir
    return base / "onnx" / ONNX_FILES[runtime]


EXPORT_FORMAT = 3  # 1: plain torch export; 2: fused by onnxruntime.transformers; 3: + 7 of 12 feed-forward
# output projections int8 (older exports are redone)
EXPORT_MARKER = "export.json"


def export_onnx(model_dir: Path, force: bool = False) -> dict[str, Path]:
    """Export the prepared encoder to ONNX (fp32, fused) and quantise a dynamic int8 copy."""
    import json

    fp32, int8 = onnx_path(model_dir, "onnx"), onnx_path(model_dir, "onnx-int8")
    marker = fp32.parent / EXPORT_MARKER
    if export_is_current(model_dir) and not force:
        return {"onnx": fp32, "onnx-int8": int8}
    fp32.parent.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    raw = fp32.with_name("model-unfused.onnx")
    wrapper = _export_raw(model_dir, raw)
    config = wrapper.inner.config
    fused = _fuse(raw, config.num_attention_heads, config.hidden_size)
    fused.save_model_to_file(str(fp32))
    raw.unlink()
    check_against_torch(fp32, model_dir, wrapper)
    quantize_int8(fp32, int8)
    marker.write_text(json.dumps({"format": EXPORT_FORMAT, "fused": fused.get_fused_operator_statistics()}, indent=2),
                      encoding="utf-8")
    return {"onnx": fp32, "onnx-int8": int8}


def export_is_current(model_dir: Path) -> bool:
    """Both exports exist and were written by this version's export (``EXPORT_FORMAT``)."""
    import json

    try:
        marker = json.loads((model_dir / "onnx" / EXPORT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (marker.get("format") == EXPORT_FORMAT and onnx_path(model_dir, "onnx").exists()
            and onnx_path(model_dir, "onnx-int8").exists())


def _export_raw(model_dir: Path, path: Path) -> Any:
    """torch → ONNX with eager attention (the pattern the fusions recognise); returns the torch wrapper."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    wrapper = _MeanPooled(model).eval()
    ids = torch.tensor([[0, 1000, 2000, 2]], dtype=torch.long)
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        torch.onnx.export(
            wrapper, (ids, mask), str(path), input_names=["input_ids", "attention_mask"], output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "embedding": {0: "batch"}},
            opset_version=17, dynamo=False,
        )
    return wrapper


def _fuse(path: Path, heads: int, hidden: int) -> Any:
    """ONNX Runtime's BERT fusions, graph-level only (opt_level 1: nothing specific to this CPU is baked in)."""
    import logging

    from onnxruntime.transformers.optimizer import optimize_model

    logging.getLogger("onnxruntime.transformers").setLevel(logging.WARNING)
    fused = optimize_model(str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
    stats = fused.get_fused_operator_statistics()
    if stats.get("Attention", 0) == 0:
        raise ExportError(f"{path}: ONNX Runtime's optimizer fused no attention layer ({stats}); "
                          "the export would be slow — check the onnxruntime and transformers versions")
    return fused


def quantize_int8(fp32: Path, int8: Path, exclude: re.Pattern[str] | None = None) -> None:
    """Dynamic int8 (per-channel weights) of every MatMul and fused Attention except those
    ``exclude`` matches (default ``INT8_EXCLUDE``, measured on the shared encoder)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gemm", "Attention"],
                     nodes_to_exclude=int8_excluded_nodes(fp32, INT8_EXCLUDE if exclude is None else exclude),
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fused ops carry no inferred types


# Sensitivity (bench/int8_sensitivity.py: quantising one group of MatMuls at a time, mean 1 - cosine
# to fp32 over 240 training texts): feed-forward output projections 0.0112, feed-forward input 0.0033,
# value 0.0012, attention output 0.0001, query/key < 0.0001. With every feed-forward output in fp32
# the whole model's damage is 0.00424; adding one layer's feed-forward output to int8 adds: layer 4
# 0.0077, layer 0 0.0013, layer 5 0.0010, layers 1 and 2 0.0003, layer 6 0.0002, the other six
# <= 0.0001. Layers 0, 1, 2, 4 and 5 stay fp32 (damage 0.00485, worst cosine 0.982 vs 0.980 with all
# twelve in fp32): 7 of the 12 projections run int8, encoder 1.10x faster. Keeping only 0, 4 and 5
# (damage 0.00535, 1.26x) cost emotion-fa 1.1 and complaint-fa's review part 1.7 F1 points in int8.
INT8_EXCLUDE = re.compile(r"layer\.(0|1|2|4|5)/output/dense/MatMul$")


def int8_excluded_nodes(fp32: Path, exclude: re.Pattern[str] = INT8_EXCLUDE) -> list[str]:
    """MatMul nodes left in fp32 by the int8 export (see INT8_EXCLUDE)."""
    import onnx

    graph = onnx.load(str(fp32), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "MatMul" and exclude.search(n.name)]


class ExportError(RuntimeError):
    """The exported ONNX graph does not reproduce the torch encoder."""


def check_against_torch(path: Path, model_dir: Path, wrapper: Any, min_cosine: float = 0.9999, prefix: str = PREFIX) -> float:
    """Cosine between the ONNX graph's and torch's embeddings on padded sample texts (raises if too low)."""
    import onnxruntime as ort
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    batch = tokenizer([prefix + t for t in CHECK_TEXTS], padding=True, return_tensors="np")
    feeds = {"input_ids": batch["input_ids"].astype(np.int64), "attention_mask": batch["attention_mask"].astype(np.int64)}
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    with torch.inference_mode():
        want = wrapper(torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])).numpy()
    cosine = float(np.min(np.sum(got * want, axis=1)))
    if cosine < min_cosine:
        raise ExportError(f"{path}: ONNX embeddings disagree with torch (min cosine {cosine:.5f} < {min_cosine})")
    return cosine


class _MeanPooled:  # built lazily so importing this module does not import torch
    def __new__(cls, model: Any) -> Any:
        import torch

        class MeanPooled(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                return mean_pool(self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,
                                 attention_mask)

        return MeanPooled(model)


@dataclass
class OnnxEncoder:
    """Same interface as ``Encoder`` over an ONNX Runtime session."""

    tokenizer: Any
    session: Any
    max_length: int = 256
    hidden_size: int = 384
    fingerprint: str = ""

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        enc = self.tokenizer([PREFIX + t for t in texts], truncation=True, max_length=self.max_length)
        return [len(ids) for ids in enc["input_ids"]]

    def embed(self, texts: Sequence[str], batch_size: int = 32, max_tokens: int = BATCH_TOKENS) -> np.ndarray:
        out = np.zeros((len(texts), self.hidden_size), dtype=np.float32)
        for idx, input_ids, mask in token_batches(self.tokenizer, texts, self.max_length, batch_size, max_tokens):
            out[idx] = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return out


def load_onnx_encoder(settings: Settings, runtime: str, threads: int | None = None) -> OnnxEncoder:
    import onnxruntime as ort
    from transformers import AutoTokenizer

    path = onnx_path(settings, runtime)
    if not path.exists():
        raise EncoderNotReady(f"{path} is missing (models.runtime={runtime}); {FIX_HINT}")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir(settings)))
    marker = read_marker(encoder_dir(settings)) or {}
    return OnnxEncoder(tokenizer, session, settings.models.max_length, fingerprint=marker.get("fingerprint", ""))


def load_runtime_encoder(settings: Settings, threads: int | None = None) -> Encoder | OnnxEncoder:
    """The encoder for ``models.runtime`` (torch, onnx, onnx-int8); ``threads`` caps ONNX Runtime's pool."""
    if settings.models.runtime == "torch":
        return load_encoder(settings)
    load_encoder_check(settings)
    return load_onnx_encoder(settings, settings.models.runtime, threads)


def load_encoder_check(settings: Settings) -> None:
    from nlp.encoder import is_prepared

    if not is_prepared(encoder_dir(settings)):
        raise EncoderNotReady(f"the offline encoder is not prepared in {encoder_dir(settings)}; {FIX_HINT}")

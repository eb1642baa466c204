"""ONNX Runtime encoders give the same embeddings as torch (fp32) or close ones (int8)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from core.config import Settings
from nlp.encoder import EncoderNotReady
from nlp.runtime import EXPORT_FORMAT, export_is_current, export_onnx, load_onnx_encoder, load_runtime_encoder

TEXTS = ["Worst support ever, three calls and no answer", "عالی بود، ممنون از ارسال سریع",
         "I'll never fly with them again #boycott", "گوشی بعد از دو روز خراب شد و پشتیبانی جواب نمیده"]


@pytest.mark.slow
def test_onnx_fp32_matches_torch_and_int8_stays_close(encoder_path: Path, torch_encoder) -> None:  # noqa: ANN001
    export_onnx(encoder_path)  # a no-op once exported
    settings = Settings(models={"encoder_dir": encoder_path})
    reference = torch_encoder.embed(TEXTS)
    fp32 = load_onnx_encoder(settings, "onnx", threads=1).embed(TEXTS)
    int8 = load_onnx_encoder(settings, "onnx-int8", threads=1).embed(TEXTS)
    assert np.min(np.sum(reference * fp32, axis=1)) > 0.9999
    assert np.min(np.sum(reference * int8, axis=1)) > 0.97


def test_an_export_that_disagrees_with_torch_is_refused(tmp_path: Path, encoder_path: Path) -> None:
    import onnx
    from onnx import numpy_helper

    from nlp.runtime import ExportError, _MeanPooled, check_against_torch

    export_onnx(encoder_path)
    model = onnx.load(str(encoder_path / "onnx" / "model.onnx"))
    init = max(model.graph.initializer, key=lambda t: np.prod(t.dims) if len(t.dims) == 2 and t.dims[0] < 1000 else 0)
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 0.5, init.name))  # damage one weight matrix
    broken = tmp_path / "broken.onnx"
    onnx.save(model, str(broken))
    from transformers import AutoModel

    wrapper = _MeanPooled(AutoModel.from_pretrained(str(encoder_path)).eval()).eval()
    with pytest.raises(ExportError, match="disagree with torch"):
        check_against_torch(broken, encoder_path, wrapper)


def test_missing_onnx_export_says_how_to_fix(tmp_path: Path, encoder_path: Path) -> None:
    copy = tmp_path / "e5"
    copy.mkdir()
    for name in ("config.json", "conversion.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"):
        (copy / name).symlink_to(encoder_path / name)
    settings = Settings(models={"encoder_dir": copy, "runtime": "onnx-int8"})
    with pytest.raises(EncoderNotReady, match="model-int8.onnx is missing .*run: brandguard nlp prepare"):
        load_runtime_encoder(settings)


def test_int8_keeps_the_most_sensitive_feed_forward_outputs_in_fp32(encoder_path: Path) -> None:
    import collections

    import onnx

    export_onnx(encoder_path)
    nodes = onnx.load(str(encoder_path / "onnx" / "model-int8.onnx")).graph.node
    fp32_matmuls = [n.name for n in nodes if n.op_type == "MatMul" and "/output/dense/" in n.name
                    and "/attention/" not in n.name]
    # the feed-forward output projections of layers 0, 1, 2, 4 and 5 stay fp32 (the most sensitive)
    assert sorted(int(re.search(r"layer\.(\d+)/", name).group(1)) for name in fp32_matmuls) == [0, 1, 2, 4, 5]
    counts = collections.Counter(n.op_type for n in nodes)
    assert counts["QAttention"] == 12  # query, key and value: one packed int8 projection per layer
    assert counts["MatMulInteger"] == 12 * 2 + 7  # attention output, feed-forward input; 7 feed-forward outputs
    assert counts["MatMul"] == 5


def test_the_export_is_fused_by_onnxruntimes_optimizer(encoder_path: Path) -> None:
    import collections
    import json

    import onnx

    export_onnx(encoder_path)
    counts = collections.Counter(n.op_type for n in onnx.load(str(encoder_path / "onnx" / "model.onnx")).graph.node)
    assert counts["Attention"] == 12 and counts["SkipLayerNormalization"] == 24 and counts["BiasGelu"] == 12
    assert counts["EmbedLayerNormalization"] == 1
    assert counts["Softmax"] == counts["Transpose"] == 0  # inside the fused attention
    marker = json.loads((encoder_path / "onnx" / "export.json").read_text())
    assert marker["format"] == EXPORT_FORMAT and marker["fused"]["Attention"] == 12


def test_an_export_of_an_older_format_is_not_current(tmp_path: Path) -> None:
    """``brandguard nlp prepare`` (and the demo) export again after an upgrade changed the export."""
    onnx_dir = tmp_path / "onnx"
    onnx_dir.mkdir()
    (onnx_dir / "model.onnx").write_bytes(b"old")
    (onnx_dir / "model-int8.onnx").write_bytes(b"old")
    assert not export_is_current(tmp_path)  # written before the format marker existed
    (onnx_dir / "export.json").write_text('{"format": 1}')
    assert not export_is_current(tmp_path)
    (onnx_dir / "export.json").write_text("{broken")
    assert not export_is_current(tmp_path)
    (onnx_dir / "export.json").write_text(f'{{"format": {EXPORT_FORMAT}}}')
    assert export_is_current(tmp_path)
    (onnx_dir / "model-int8.onnx").unlink()
    assert not export_is_current(tmp_path)

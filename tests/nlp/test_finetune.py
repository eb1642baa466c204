"""The LoRA fine-tune: training mechanics, the committed adapter, merging, and head/encoder agreement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.config import Settings
from nlp.analyzer import Analyzer, EncoderMismatch
from nlp.corpora import HEADS, Corpus
from nlp.datasets import Example
from nlp.encoder import Encoder, base_dir, encoder_fingerprint, is_prepared, load_encoder, read_marker, verify_merge
from nlp.finetune import ADAPTER_DIR, ADAPTER_WEIGHTS, CARD, HYPER, adapter_fingerprint, finetune, merge_adapter
from nlp.heads import HEADS_DIR

SENTENCES = {
    ("sentiment", "en"): [("Worst airline ever, lost my bag and nobody answers.", "negative"),
                          ("The flight left on time.", "neutral"), ("Loved the crew, thank you!", "positive")],
    ("sentiment", "fa"): [("کیفیتش افتضاح بود و بعد از دو روز خراب شد", "negative"),
                          ("گوشی را دیروز خریدم", "neutral"), ("خیلی عالی بود، راضیم", "positive")],
    ("emotion", "en"): [("I am furious, they hung up on me again", "anger"), ("Best day ever!", "joy"),
                        ("I miss my old phone so much", "sadness")],
    ("emotion", "fa"): [("دیگه واقعا عصبانی شدم، سه بار زنگ زدم جواب ندادن", "anger"),
                        ("امروز خیلی خوشحالم", "joy"), ("دلم برای خونه تنگ شده", "sadness")],
}


def checkpoint_encoder(path: Path) -> Encoder:
    """Any checkpoint folder as an Encoder (load_encoder accepts only a fully prepared one)."""
    from transformers import AutoModel, AutoTokenizer

    return Encoder(AutoTokenizer.from_pretrained(str(path)), AutoModel.from_pretrained(str(path)).eval())


def tiny_corpora() -> dict[tuple[str, str], Corpus]:
    return {key: Corpus(key[0], key[1], [Example(t, label, key[1], "test") for t, label in rows], [], ["test"])
            for key, rows in SENTENCES.items()}


@pytest.mark.slow
def test_finetune_trains_saves_and_merges_an_adapter(tmp_path: Path, encoder_path: Path) -> None:
    base = base_dir(encoder_path)
    card = finetune(base, tiny_corpora(), tmp_path / "adapter", seed=3, log=lambda _: None,
                    hyper={"r": 2, "alpha": 4, "batch": 2, "warmup_steps": 1, "lr": 5e-2}, max_steps=4)
    assert card["steps"] == 4
    assert (tmp_path / "adapter" / ADAPTER_WEIGHTS).exists()
    assert json.loads((tmp_path / "adapter" / CARD).read_text())["hyper"]["r"] == 2
    merge_adapter(base, tmp_path / "adapter", tmp_path / "merged")
    assert verify_merge(base, tmp_path / "adapter", tmp_path / "merged") >= 0.9999
    base_vec = checkpoint_encoder(base).embed(["پشتیبانی جواب نمیده"])
    tuned_vec = checkpoint_encoder(tmp_path / "merged").embed(["پشتیبانی جواب نمیده"])
    assert float(base_vec[0] @ tuned_vec[0]) < 0.99999  # four steps at a high rate really moved the weights


def test_committed_adapter_is_small_and_documents_its_training() -> None:
    weights = ADAPTER_DIR / ADAPTER_WEIGHTS
    assert weights.stat().st_size < 8 * 1024 * 1024
    card = json.loads((ADAPTER_DIR / CARD).read_text(encoding="utf-8"))
    assert card["seed"] == 13 and card["hyper"] == HYPER
    assert set(card["data"]) == {f"{t}-{lang}" for t, lang in HEADS}
    assert "brandguard nlp finetune" in card["reproduce"]


def test_prepared_encoder_is_the_merged_adapter_and_differs_from_the_base(encoder_path: Path) -> None:
    marker = read_marker(encoder_path)
    assert marker["adapter"] == adapter_fingerprint() and marker["merge_min_cosine"] >= 0.9999
    texts = ["Worst support ever, three calls and no answer", "پشتیبانی جواب نمیده، تحریمشون کنید"]
    base = checkpoint_encoder(base_dir(encoder_path)).embed(texts)
    tuned = load_encoder(Settings(models={"encoder_dir": encoder_path})).embed(texts)
    assert np.max(np.sum(base * tuned, axis=1)) < 0.999


def test_a_changed_adapter_needs_prepare_again(tmp_path: Path, encoder_path: Path) -> None:
    assert is_prepared(encoder_path)
    assert not is_prepared(encoder_path, adapter_dir=tmp_path)  # no adapter there: other weights
    assert encoder_fingerprint(tmp_path) != encoder_fingerprint()


def test_heads_trained_on_other_encoder_weights_are_refused(tmp_path: Path, encoder_path: Path) -> None:
    for path in HEADS_DIR.iterdir():
        data = path.read_bytes()
        if path.name.startswith("sentiment-fa") and path.suffix == ".json":
            card = json.loads(data)
            card["encoder_fingerprint"] = "0000000000000000+1111111111111111"
            data = json.dumps(card).encode()
        (tmp_path / path.name).write_bytes(data)
    settings = Settings(data_dir=tmp_path, models={"encoder_dir": encoder_path, "heads_dir": tmp_path})
    with pytest.raises(EncoderMismatch, match=r"sentiment-fa\.json was trained on encoder 0000.*brandguard nlp"):
        Analyzer(settings)


def test_committed_heads_match_the_committed_adapter() -> None:
    for task, lang in HEADS:
        card = json.loads((HEADS_DIR / f"{task}-{lang}.json").read_text(encoding="utf-8"))
        assert card["encoder_fingerprint"] == encoder_fingerprint(), f"{task}-{lang}: run brandguard nlp train"

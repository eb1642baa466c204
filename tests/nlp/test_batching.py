"""Length-sorted, token-budgeted encoder batches: every text once, within budget, same embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nlp.encoder import token_batches

TEXTS = [
    "ok",
    "Worst support ever, three calls and no answer #boycott",
    "پشتیبانی جواب نمیده",
    "سفارشم از دیجی کالا یک روز زودتر رسید و بسته‌بندیش عالی بود. واقعاً ممنونم از پیک مهربونشون. " * 4,
    "I love this phone",
    "گوشی بعد از دو روز خراب شد",
    "Delivery was late again and the box was crushed, second time this month. Not ordering again. " * 3,
]


def test_batches_cover_every_text_once_within_the_budget(encoder_path: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(encoder_path))
    seen: list[int] = []
    widths = []
    for idx, input_ids, mask in token_batches(tokenizer, TEXTS, max_length=64, batch_size=3, max_tokens=96):
        assert input_ids.shape == mask.shape and input_ids.dtype == np.int64
        assert len(idx) <= 3
        assert len(idx) == 1 or input_ids.size <= 96
        assert mask.sum(axis=1).max() == input_ids.shape[1]  # padded to the batch's longest text only
        widths.append(input_ids.shape[1])
        seen += idx.tolist()
    assert sorted(seen) == list(range(len(TEXTS)))
    assert widths == sorted(widths)  # shortest texts first
    assert max(widths) == 64  # the long review is truncated at max_length


def test_budgeted_batches_embed_like_one_text_at_a_time(torch_encoder) -> None:  # noqa: ANN001
    together = torch_encoder.embed(TEXTS, batch_size=32, max_tokens=256)
    alone = np.concatenate([torch_encoder.embed([t], batch_size=1) for t in TEXTS])
    assert np.min(np.sum(together * alone, axis=1)) > 0.9999


def test_fp32_analysis_of_a_mention_does_not_depend_on_the_mentions_beside_it(tmp_path: Path, encoder_path: Path) -> None:
    """The runtime the model card names for replays and audits that must repeat exactly (int8
    quantises activations per batch, so its scores move with a mention's neighbours)."""
    from nlp.analyzer import Analyzer

    from tests.nlp.conftest import make_mention, nlp_settings

    analyzer = Analyzer(nlp_settings(tmp_path, encoder_path, runtime="onnx"))
    mentions = [make_mention(str(i), text) for i, text in enumerate(TEXTS)]
    together = analyzer.analyze(mentions)
    for mention, batched in zip(mentions, together):
        alone = analyzer.analyze([mention])[0]
        assert (alone.sentiment, alone.sentiment_scores, alone.emotions, alone.complaint) == \
            (batched.sentiment, batched.sentiment_scores, batched.emotions, batched.complaint), mention.text
    assert {a.lang for a in together} >= {"en", "fa"} and all(a.complaint is not None for a in together)

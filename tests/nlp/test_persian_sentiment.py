"""Behaviour of the committed Persian sentiment head on real social-media complaints and praise.

Runs the full analyser (language id → normalisation → encoder → committed ``nlp/heads``) the
way the worker does, on sentences written the way customers post them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.analyzer import Analyzer
from tests.nlp.conftest import make_mention, nlp_settings

COMPLAINTS = [
    # a repair shop returned the phone still broken, and support never answered
    "گوشیم رو برای تعویض صفحه دادم به تعمیرات سپهر موبایل و دوباره خراب تحویلم دادن. این دومین باره! "
    "پنج بار به پشتیبانی زنگ زدم و هیچ‌کس جواب نداد.",
    # an order two weeks late, support only repeats "follow up", refund asked for
    "دو هفته است سفارشم رو از دیجی کالا ثبت کردم و هنوز نرسیده. هر بار زنگ می‌زنم فقط می‌گن پیگیری می‌کنیم. "
    "واقعاً افتضاحه، پولمو پس بدید.",
]
PRAISE = [
    # the courier came early and the goods were well packed
    "سفارشم از دیجی کالا یک روز زودتر رسید و بسته‌بندیش عالی بود. واقعاً ممنونم از پیک مهربونشون.",
    "پشتیبانی اسنپ خیلی سریع جواب داد و مشکل سفرم رو همون روز حل کردن. دمتون گرم!",
]


@pytest.fixture(scope="module")
def analyzer(encoder_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    return Analyzer(nlp_settings(tmp_path_factory.mktemp("fa-sentiment"), encoder_path))


@pytest.mark.parametrize("text", COMPLAINTS)
def test_angry_persian_complaint_is_negative(analyzer: Analyzer, text: str) -> None:
    [analysis] = analyzer.analyze([make_mention("c1", text)])
    assert analysis.lang == "fa"
    assert analysis.sentiment == "negative", analysis.sentiment_scores
    assert analysis.sentiment_scores["negative"] > analysis.sentiment_scores["positive"]


@pytest.mark.parametrize("text", PRAISE)
def test_persian_praise_is_positive(analyzer: Analyzer, text: str) -> None:
    [analysis] = analyzer.analyze([make_mention("p1", text)])
    assert analysis.lang == "fa"
    assert analysis.sentiment == "positive", analysis.sentiment_scores


def test_committed_card_records_the_fine_tune_and_meets_the_target() -> None:
    """``brandguard nlp finetune --seed 13`` wrote the committed head: its card records the plan and result."""
    import json

    from nlp.finetune import ADAPTER_DIR
    from nlp.heads import HEADS_DIR

    card = json.loads((HEADS_DIR / "sentiment-fa.json").read_text(encoding="utf-8"))
    adapter_card = json.loads((ADAPTER_DIR / "card.json").read_text(encoding="utf-8"))
    assert card["seed"] == adapter_card["seed"] == 13
    assert card["trained_by"].startswith("brandguard nlp finetune")
    assert card["data"] == ["deepsentipers_train.jsonl (80%)"]
    assert card["heldout_examples"] == 1112
    assert card["heldout_metrics"]["macro_f1"] >= 0.70

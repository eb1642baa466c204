"""Behaviour of the committed Persian sentiment and complaint heads on real social-media complaints and praise.

Runs the full analyser (language id → normalisation → encoder → committed ``nlp/heads``) the
way the worker does, on sentences written the way customers post them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.analyzer import Analyzer
from tests.nlp.conftest import assert_int8_within_one_point, make_mention, nlp_settings

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


def test_committed_card_records_the_mixture_and_meets_the_targets() -> None:
    """``brandguard nlp finetune --seed 13`` + ``brandguard nlp train --seed 13`` wrote the committed head."""
    import json

    from nlp.finetune import ADAPTER_DIR
    from nlp.heads import HEADS_DIR

    card = json.loads((HEADS_DIR / "sentiment-fa.json").read_text(encoding="utf-8"))
    adapter_card = json.loads((ADAPTER_DIR / "card.json").read_text(encoding="utf-8"))
    assert card["seed"] == adapter_card["seed"] == 13
    assert card["mixture"]["domains"] == ["review", "social"]
    assert any("nlp finetune" in step for step in card["trained_by"])
    parts = card["heldout_metrics_by_part"]
    assert parts["review"]["onnx"]["n"] == 1112 and parts["review"]["onnx"]["macro_f1"] >= 0.72
    social = parts["social"]["onnx"]
    assert social["macro_f1"] >= 0.70 and social["per_class"]["negative"]["recall"] >= 0.80
    assert_int8_within_one_point(parts)


# Colloquial Instagram-style comments to a telecom provider, as people write them.
SOCIAL_COMPLAINTS = [
    "سه روزه اینترنتم قطعه، هر چی به پشتیبانی زنگ میزنم میگن مشکل از خودتونه. این چه وضعشه آخه",
    "آقای وزیر این سرعت اینترنت روستای ما رو ببینید، یه صفحه باز نمیشه، پولشم کامل میگیرن",
]


def test_committed_persian_complaint_card_merges_seeds_trained_for_both_runtimes() -> None:
    """``brandguard nlp train --seed 13`` wrote complaint-fa: each expert five seeds merged, trained on the
    fp32 and the int8 vectors of its texts, so the default runtime (int8) stays within one point of fp32."""
    import json

    from nlp.heads import HEADS_DIR
    from nlp.train import COMPLAINT_FA_MEMBERS

    card = json.loads((HEADS_DIR / "complaint-fa.json").read_text(encoding="utf-8"))
    assert card["seed"] == 13 and card["hyper"]["members"] == COMPLAINT_FA_MEMBERS == 5
    assert card["hyper"]["vectors"] == ["onnx", "onnx-int8"]
    parts = card["heldout_metrics_by_part"]
    assert parts["review"]["onnx"]["n"] == 1112 and parts["social"]["onnx"]["n"] > 1000
    assert_int8_within_one_point(parts)
    for name, part in parts.items():
        assert part["onnx-int8"]["macro_f1"] >= 0.76 and part["onnx-int8"]["ece"] < 0.05, name


@pytest.mark.parametrize("text", SOCIAL_COMPLAINTS + COMPLAINTS)
def test_persian_complaints_have_a_high_complaint_probability(analyzer: Analyzer, text: str) -> None:
    [analysis] = analyzer.analyze([make_mention("c2", text)])
    assert analysis.complaint is not None and analysis.complaint >= 0.5, analysis
    assert analysis.sentiment == "negative", analysis.sentiment_scores


@pytest.mark.parametrize("text", PRAISE)
def test_persian_praise_is_no_complaint(analyzer: Analyzer, text: str) -> None:
    [analysis] = analyzer.analyze([make_mention("p2", text)])
    assert analysis.complaint is not None and analysis.complaint < 0.5, analysis


def test_english_complaint_to_a_brand_and_thanks_are_told_apart(analyzer: Analyzer) -> None:
    complaint, thanks = analyzer.analyze([
        make_mention("e1", "@sepehrmobile my phone came back from repair still broken and nobody answers the phone"),
        make_mention("e2", "@sepehrmobile thank you, the repair was done in a day and the staff were lovely"),
    ])
    assert complaint.lang == thanks.lang == "en"
    assert complaint.complaint is not None and complaint.complaint >= 0.5
    assert thanks.complaint is not None and thanks.complaint < 0.5

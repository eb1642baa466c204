"""Sabotage cues and complaint reasons with evidence spans in the original text."""

from __future__ import annotations

from nlp.cues import Competitor, complaint_reasons, extract_cues

GLOBEX = [Competitor("globex", 'globex OR "گلوبکس" OR @globex_help')]


def kinds(text: str, competitors=()) -> dict[str, list[str]]:  # noqa: ANN001
    found: dict[str, list[str]] = {}
    for cue in extract_cues(text, competitors):
        assert text[cue.start:cue.end] == cue.evidence  # spans always point into the original text
        found.setdefault(cue.kind, []).append(cue.evidence)
    return found


def test_english_saboteur_post() -> None:
    text = ("I called five times, no answer. Retweet this and never buy from @acme again! #acmefail "
            "Going to the press and my lawyer. Switching to Globex.")
    found = kinds(text, GLOBEX)
    assert found["failed_support"] == ["called five times, no answer"]
    assert "Retweet this" in found["call_to_action"] and "#acmefail" in found["call_to_action"]
    assert found["boycott"] == ["never buy from"]
    assert found["threat_public"] == ["Going to the press"]
    assert found["threat_legal"] == ["lawyer"]
    assert found["reason_switching"] == ["Switching to Globex"]
    assert found["tag_competitor"] == ["Globex"]


def test_persian_saboteur_post_with_arabic_letters_and_zwnj() -> None:
    text = ("پشتیبانی ديجي‌كالا جواب نمیده، سه بار زنگ زدم. همه بازنشر کنید! دیگه از دیجی کالا نخرید. "
            "شکایت می‌کنم. خیلی گرونه و گوشی خراب شد.")
    found = kinds(text)
    assert found["failed_support"] == ["پشتیبانی ديجي‌كالا جواب نمیده", "سه بار زنگ"]
    assert found["call_to_action"] == ["همه بازنشر کنید"]
    assert found["boycott"] == ["دیگه از دیجی کالا نخرید"]
    assert found["threat_legal"] == ["شکایت"]
    assert found["reason_price"] == ["گرونه"]
    assert found["reason_product"] == ["خراب"]


def test_persian_boycott_and_competitor_tag() -> None:
    text = "این شرکت رو تحریم کنید، من از این به بعد از گلوبکس خرید می‌کنم"
    found = kinds(text, GLOBEX)
    assert found["boycott"] == ["تحریم"]
    assert found["tag_competitor"] == ["گلوبکس"]
    assert "reason_switching" in found


def test_offsets_are_into_the_original_text() -> None:
    text = "سلام. پشتیبانی   جواب نمی‌ده!"
    cue = extract_cues(text)[0]
    assert cue.kind == "failed_support"
    assert (cue.start, cue.end) == (6, len(text) - 1)
    assert cue.evidence == "پشتیبانی   جواب نمی‌ده"


def test_complaint_reasons_listed_once_in_order() -> None:
    cues = extract_cues("The battery stopped working and it was way overpriced. Also stopped working again.")
    assert complaint_reasons(cues) == ["product", "price"]


def test_praise_and_neutral_posts_fire_nothing() -> None:
    for text in (
        "I shared a photo of my new phone, great price and it works perfectly.",
        "Customer service was quick and friendly, thanks!",
        "این گوشی عالیه، قیمتش هم مناسبه. پیشنهاد می‌کنم بخرید.",
        "ارسال سریع بود و بسته‌بندی عالی",
        "I am going to the store later.",
        "The court scene in the movie was great.",
    ):
        assert extract_cues(text, GLOBEX) == [], text


def test_competitor_needs_configured_brand() -> None:
    assert "tag_competitor" not in kinds("Switching to Globex")
    assert kinds("thanks @globex_help for nothing", GLOBEX)["tag_competitor"] == ["@globex_help"]


def test_persian_positive_verbs_do_not_fire_failed_support_or_product() -> None:
    assert kinds("پشتیبانی سریع جواب میده و گوشی عالی کار می‌کنه") == {}

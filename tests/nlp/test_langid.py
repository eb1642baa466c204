"""Language id on short Persian, English and Arabic texts."""

from __future__ import annotations

import pytest

from nlp.langid import detect_language


@pytest.mark.parametrize("text", [
    "این airline افتضاحه #boycott",
    "پشتیبانی جواب نمیده",
    "سلام خوبی",
    "اين محصول خيلي خوب بود",  # Persian typed with Arabic ي
    "دیگه از دیجی‌کالا خرید نمی‌کنم",
    "ممنون",
])
def test_persian(text: str) -> None:
    assert detect_language(text) == "fa"


@pytest.mark.parametrize("text", [
    "the service was awful",
    "I hate @acme_support https://t.co/xyz",
    "Never buying from them again!!",
])
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", ["مرحبا كيف حالك", "لا أحب هذه الخدمة", "هذا المنتج سيء جدا", "الخدمة سيئة"])
def test_arabic(text: str) -> None:
    assert detect_language(text) == "ar"


@pytest.mark.parametrize("text", ["😡😡 123", "https://example.com", "Le service est vraiment nul", "بہت برا ہے"])
def test_other(text: str) -> None:
    assert detect_language(text) == "other"

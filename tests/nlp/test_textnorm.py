"""Persian/Arabic normalisation (core.textnorm) as the NLP stage relies on it."""

from __future__ import annotations

from core.textnorm import arabic_script_share, normalize_for_match, normalize_for_match_with_offsets, normalize_persian


def test_arabic_yeh_and_kaf_fold_to_persian_letters() -> None:
    assert normalize_persian("ديجي كالا") == "دیجی کالا"
    assert normalize_persian("كتاب") == "کتاب"


def test_persian_letters_are_left_alone() -> None:
    text = "پشتیبانی گوشی ژاکت چرا"
    assert normalize_persian(text) == text


def test_zwnj_kept_for_display_but_a_space_for_matching() -> None:
    assert normalize_persian("نمی\u200cخرم") == "نمی\u200cخرم"
    assert normalize_for_match("نمی\u200cخرم") == "نمی خرم"
    assert normalize_for_match("دیجی\u200cکالا") == normalize_for_match("ديجي كالا")


def test_persian_and_arabic_indic_digits_become_ascii() -> None:
    assert normalize_persian("۱۲۳ و ٤٥٦") == "123 و 456"


def test_diacritics_and_tatweel_removed() -> None:
    assert normalize_persian("سَلامـــ") == "سلام"


def test_arabic_script_share_of_mixed_post() -> None:
    assert arabic_script_share("این airline افتضاحه #boycott") > 0.4
    assert arabic_script_share("the airline is awful") == 0.0
    assert arabic_script_share("1234 !!") == 0.0


def test_offsets_map_normalised_text_back_to_the_original() -> None:
    text = "  پشتیبانی‌ ديجي‌كالا  جواب نمیده ۵ بار"
    normalized, offsets = normalize_for_match_with_offsets(text)
    assert normalized == normalize_for_match(text)
    start = normalized.index("دیجی کالا")
    end = start + len("دیجی کالا")
    assert text[offsets[start]:offsets[end - 1] + 1] == "ديجي‌كالا"
    five = normalized.index("5")
    assert text[offsets[five]] == "۵"


def test_offsets_for_english_case_and_spaces() -> None:
    text = "Called  FIVE times"
    normalized, offsets = normalize_for_match_with_offsets(text)
    assert normalized == "called five times"
    i = normalized.index("five")
    assert text[offsets[i]:offsets[i + 3] + 1] == "FIVE"

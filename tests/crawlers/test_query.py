"""The brand query language: every operator, Persian normalisation, errors naming the position."""

from __future__ import annotations

import pytest

from core.query import And, Hashtag, Handle, Not, Or, Phrase, QueryError, Term, matches, parse_query
from crawlers.demo.config import SEPEHR_QUERY


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("acme", "I love ACME phones", True),  # case-insensitive
        ("acme", "acmeville is a town", False),  # whole words only
        ("acme AND bank", "acme bank branch", True),
        ("acme AND bank", "acme phone", False),
        ("acme bank", "the bank of acme", True),  # adjacent terms mean AND
        ("acme OR arianet", "switching to Arianet", True),
        ("acme OR arianet", "switching to nothing", False),
        ("acme AND NOT jobs", "acme is hiring: jobs page", False),
        ("acme AND NOT jobs", "acme broke my phone", True),
        ("acme -jobs", "acme jobs", False),  # '-' is a short NOT
        ("(acme OR arianet) AND refund", "arianet refund please", True),
        ("(acme OR arianet) AND refund", "arianet is fine", False),
        ('"acme bank"', "I use Acme Bank daily", True),
        ('"acme bank"', "bank at acme", False),  # phrase keeps the order
        ("#acmefail", "never again #AcmeFail", True),
        ("#acmefail", "acmefail without the hash", False),
        ("@acme_support", "hey @Acme_Support answer me", True),
        ("@acme_support", "acme_support without the at", False),
        ("refund*", "I want my refunds now", True),
        ("refund*", "no money back", False),
    ],
)
def test_operators(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_parse_tree_shapes() -> None:
    node = parse_query('(acme OR "acme bank") AND NOT #jobs @acme')
    assert node == And((Or((Term("acme"), Phrase(("acme", "bank")))), Not(Hashtag("jobs")), Handle("acme")))


@pytest.mark.parametrize(
    "text",
    [
        "خرید از ديجي‌كالا",  # Arabic yeh/kaf and a ZWNJ
        "خرید از دیجی کالا",  # a space
        "خرید از دیجیکالا",  # written together
        "خرید از دیجی‌کالا",  # Persian letters, ZWNJ
        "خرید از دِیجی کالا",  # a diacritic (kasra)
    ],
)
def test_persian_phrase_matches_every_spelling(text: str) -> None:
    assert matches('"دیجی کالا"', text)


def test_persian_normalisation_of_letters_digits_and_tatweel() -> None:
    assert matches("كالا", "کالا")  # Arabic kaf in the query, Persian keheh in the text
    assert matches("موبایل", "موبايل")  # Arabic yeh in the text
    assert matches("1403", "سال ۱۴۰۳ بود")  # Persian digits
    assert matches("۱۴۰۳", "in 1403")
    assert matches("٢٠٢٤", "year 2024")  # Arabic-Indic digits
    assert matches("سپهر", "سپـــهر")  # kashida
    assert not matches('"دیجی کالا"', "دیجی ماشین کالا")


def test_demo_query_tells_the_brand_from_the_first_name() -> None:
    assert matches(SEPEHR_QUERY, "@sepehrmobile broke my phone twice #sepehrfail")
    assert matches(SEPEHR_QUERY, "دیگه از سپهر موبایل خرید نمی‌کنم")
    assert matches(SEPEHR_QUERY, "از سپهرموبایل لپ‌تاپ خریدم")
    assert matches(SEPEHR_QUERY, "از سپهر‌موبایل خریدم")  # ZWNJ between the words
    assert matches(SEPEHR_QUERY, "#سپهر_موبایل")
    assert not matches(SEPEHR_QUERY, "My friend Sepehr turns 30 next week")
    assert not matches(SEPEHR_QUERY, "امروز سپهر آبی تهران زیبا بود")


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ('acme AND "bank', 9, "unterminated phrase"),
        ("(acme OR bank", 13, "expected ')'"),
        ("acme OR", 7, "expected a term"),
        ("acme )", 5, "unexpected ')'"),
        ("", 0, "empty query"),
        ("acme AND ()", 10, "expected a term"),
    ],
)
def test_parse_errors_name_the_position(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.position == position
    assert fragment in str(info.value)
    assert f"at position {position}" in str(info.value)

"""The words that make a surge: terms many more authors use now than in the brand's baseline.

A genuine surge of negative posts is usually about one thing ("outage", "#sepehrdown",
"قطعی"), while ordinary complaints are spread over many. ``common_terms`` finds the terms
(words and hashtags, Persian-folded) used by a large share of the window's authors and far
more often than in a sample of the baseline; ``lead_with_terms`` orders the evidence so
the posts that carry those terms come first, riskiest first.
"""

from __future__ import annotations

import re
from collections import defaultdict

from core.domain import Mention
from core.textnorm import normalize_for_match

TOKEN = re.compile(r"#?[^\W_][\w\u200c]{2,}", re.UNICODE)
STOPWORDS = frozenset("""
the and for are but not you your with this that have has had was were they them their our from what when
will would can could just about all any been more most very really again still even than then there here
into out over only also because after before some such its it's i'm don't cant can't dont get got
است این که را از به با در برای یک هم تا اما یا ولی شد شده بود هست نیست من ما شما او آنها خیلی هنوز دیگه دیگر
""".split())
MIN_AUTHORS = 3
MIN_SHARE = 0.25  # of the window's authors
MIN_LIFT = 3.0  # times the term's share in the baseline sample


def terms_of(text: str) -> set[str]:
    """The comparable terms of ``text``: folded words and hashtags of three letters or more."""
    return {t for t in TOKEN.findall(normalize_for_match(text)) if t.lstrip("#") not in STOPWORDS}


def _authors_by_term(mentions: list[Mention], ignore: set[str]) -> tuple[dict[str, set[str]], int]:
    by_term: dict[str, set[str]] = defaultdict(set)
    authors = set()
    for m in mentions:
        author = m.author.key or m.id
        authors.add(author)
        for term in terms_of(m.text) - ignore:
            by_term[term].add(author)
    return by_term, len(authors)


def common_terms(window: list[Mention], baseline: list[Mention], ignore: set[str], limit: int = 3) -> list[tuple[str, int]]:
    """``[(term, authors)]``: terms shared by many of the window's authors, rare in the baseline."""
    now_terms, now_authors = _authors_by_term(window, ignore)
    before_terms, before_authors = _authors_by_term(baseline, ignore)
    if not now_authors:
        return []
    picked = []
    for term, authors in now_terms.items():
        share = len(authors) / now_authors
        before_share = len(before_terms.get(term, ())) / before_authors if before_authors else 0.0
        if len(authors) >= MIN_AUTHORS and share >= MIN_SHARE and share >= MIN_LIFT * before_share:
            picked.append((share - before_share, term, len(authors)))
    picked.sort(key=lambda p: (-p[0], p[1]))
    return [(term, count) for _, term, count in picked[:limit]]


def lead_with_terms(mentions: list[Mention], terms: list[str]) -> list[Mention]:
    """``mentions`` with those carrying the most of ``terms`` first, riskiest first among equals."""
    wanted = set(terms)

    def key(m: Mention) -> tuple[int, float, str]:
        return (-len(terms_of(m.text) & wanted), -(m.risk.score if m.risk else 0.0), m.id)

    return sorted(mentions, key=key)


def brand_words(brand: str) -> set[str]:
    """The brand's own name as terms (also written together, as a hashtag): always present in its
    mentions, never what a surge is about."""
    words = [w.lstrip("#") for w in TOKEN.findall(normalize_for_match(brand))]
    joined = "".join(words)
    return set(words) | {"#" + w for w in words} | {joined, "#" + joined}

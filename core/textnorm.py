"""Persian/Arabic text normalisation used wherever text is compared or indexed.

One function family serves the crawler's brand matching, the NLP models and both
storage adapters, so ``ديجي كالا`` written with Arabic letters finds ``دیجی‌کالا``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

# Arabic code points folded onto the Persian letters readers treat as the same.
_LETTER_MAP = {
    "\u064a": "\u06cc",  # ARABIC YEH -> FARSI YEH
    "\u0649": "\u06cc",  # ALEF MAKSURA -> FARSI YEH
    "\u0643": "\u06a9",  # ARABIC KAF -> KEHEH
    "\u0629": "\u0647",  # TEH MARBUTA -> HEH
    "\u06c0": "\u0647",  # HEH WITH YEH ABOVE -> HEH
    "\u0623": "\u0627",  # ALEF WITH HAMZA ABOVE -> ALEF
    "\u0625": "\u0627",  # ALEF WITH HAMZA BELOW -> ALEF
    "\u0671": "\u0627",  # ALEF WASLA -> ALEF
    "\u0624": "\u0648",  # WAW WITH HAMZA -> WAW
}
_DIGITS = {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DIGITS.update({ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")})

# Harakat, tanwin, superscript alef, Quranic marks and the tatweel (kashida).
_DIACRITICS_RE = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# ZWNJ, ZWJ, LRM/RLM and other invisible joiners that split or glue Persian words.
_JOINERS_RE = re.compile("[\u200c\u200d\u200e\u200f\u2066-\u2069\u202a-\u202e\ufeff]")
_SPACES_RE = re.compile(r"\s+")

_TRANSLATE = {ord(k): v for k, v in _LETTER_MAP.items()}
_TRANSLATE.update(_DIGITS)
# str.translate looks up every character of a non-ASCII text; most texts have nothing to fold.
_FOLDABLE_RE = re.compile("[" + "".join(map(chr, _TRANSLATE)) + "]")

# Half of a surrogate pair without the other half (a source's JSON cut an emoji, "\\ud83d"):
# json.loads keeps it, but no UTF-8 — store, log or HTTP answer — can hold it.
_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (nested in dicts and lists too) as U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE_RE.sub("\ufffd", value) if _LONE_SURROGATE_RE.search(value) else value
    if isinstance(value, dict):
        return {replace_lone_surrogates(k): replace_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_lone_surrogates(v) for v in value]
    return value


ARABIC_SCRIPT_RE = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


def normalize_persian(text: str) -> str:
    """Fold Arabic letter variants, digits and diacritics; keep ZWNJ and case.

    This is the display-safe form: it changes no meaning and keeps half-spaces.
    """
    text = unicodedata.normalize("NFKC", text) if _needs_nfkc(text) else text
    if _FOLDABLE_RE.search(text):
        text = text.translate(_TRANSLATE)
    return _DIACRITICS_RE.sub("", text)


def normalize_for_match(text: str) -> str:
    """The comparison form: Persian folding, joiners to spaces, lower case, one space.

    Both sides of every text comparison (brand queries, search index, model input
    de-duplication) go through this function.
    """
    if text.isascii():  # nothing to fold, strip or unjoin: only case and spaces (same result)
        return " ".join(text.lower().split())
    text = normalize_persian(text)
    text = _JOINERS_RE.sub(" ", text)
    # str.split() splits on exactly the characters \s matches, in C: same result as
    # _SPACES_RE.sub(" ", text).strip(), several times faster on long texts.
    return " ".join(text.casefold().split())


def arabic_script_share(text: str) -> float:
    """Share of letters in ``text`` that are Arabic-script (0.0 when no letters)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if ARABIC_SCRIPT_RE.match(c)) / len(letters)


_PRESENTATION_FORMS_RE = re.compile("[\ufb50-\ufeff]")


def _needs_nfkc(text: str) -> bool:
    # Presentation forms (FB50-FEFF) only occur in copy-pasted PDFs; NFKC is slow, so skip it otherwise.
    # A compiled character class scans in C: ~20x faster than a Python generator on 1 KB texts.
    return _PRESENTATION_FORMS_RE.search(text) is not None


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    """One character's comparison form (memoised: a text repeats few distinct characters)."""
    return _JOINERS_RE.sub(" ", normalize_persian(char)).casefold()


def normalize_for_match_with_offsets(text: str) -> tuple[str, list[int]]:
    """``normalize_for_match(text)`` computed per character, with a map back to ``text``.

    Returns ``(normalized, offsets)`` where ``offsets[k]`` is the index in ``text`` of the
    character that produced ``normalized[k]``; a match ``normalized[a:b]`` is the original
    ``text[offsets[a]:offsets[b - 1] + 1]``. Used to report evidence spans (cue extraction)
    in the text as written.
    """
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        for folded in _fold_char(char):
            if folded.isspace():
                if not out or out[-1] == " ":
                    continue
                folded = " "
            out.append(folded)
            offsets.append(index)
    if out and out[-1] == " ":
        out.pop()
        offsets.pop()
    return "".join(out), offsets

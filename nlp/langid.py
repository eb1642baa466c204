"""Language identification for mentions: ``"fa"``, ``"en"``, ``"ar"`` or ``"other"``.

Two steps, both offline:

1. **Script.** URLs, @handles and the ``#`` of hashtags are dropped, then the share of
   Arabic-script letters (``core.textnorm.arabic_script_share``) decides which detector
   looks at the text. A mostly Persian post with English words ("این airline افتضاحه
   #boycott") therefore stays Persian even though a plain detector calls it English.
2. **Language within the script.** ``lingua`` restricted to a few languages per script
   (Persian/Arabic/Urdu; English plus common Latin-script languages), corrected by letters
   only one language uses: Persian-only پ چ ژ گ and the Persian code points of ی/ک
   against Arabic-only ة ى ي ك and Urdu-only ٹ ڈ ڑ ں ے.

Detectors load lazily once per process (lingua keeps its models in memory).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from core.textnorm import arabic_script_share, normalize_persian

LANGS = ("fa", "en", "ar", "other")

_NOISE_RE = re.compile(r"https?://\S+|www\.\S+|@\w+|[#_]")
_PERSIAN_ONLY = set("پچژگ")
_PERSIAN_FORMS = set("\u06cc\u06a9")  # FARSI YEH, KEHEH: how Persian keyboards type ی/ک
_ARABIC_ONLY = set("\u0629\u0649")  # TEH MARBUTA, ALEF MAKSURA
_ARABIC_FORMS = set("\u064a\u0643")  # ARABIC YEH, ARABIC KAF
_URDU_ONLY = set("ٹڈڑںےۓھ")
_ARABIC_WORDS_RE = re.compile(r"(?:^|\s)(?:ال\w+|في|من|على|إلى|هذا|هذه|التي|الذي|ما|لا|كان|عن)(?=\s|$)")
_PERSIAN_WORDS_RE = re.compile(r"(?:^|\s)(?:است|این|اون|را|رو|که|من|تو|ما|می\S*|نمی\S*|برای|هست|نیست|خیلی|ولی|هم|بود|شد|کرد\S*|خرید\S*|عالی\S*|چی\S*|دیگه)(?=\s|$)")

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _detectors() -> tuple[Any, Any]:
    from lingua import Language, LanguageDetectorBuilder

    with _lock:
        arabic_script = LanguageDetectorBuilder.from_languages(
            Language.PERSIAN, Language.ARABIC, Language.URDU
        ).build()
        latin = LanguageDetectorBuilder.from_languages(
            Language.ENGLISH, Language.FRENCH, Language.GERMAN, Language.SPANISH, Language.ITALIAN,
            Language.PORTUGUESE, Language.DUTCH, Language.TURKISH, Language.INDONESIAN,
        ).build()
    return arabic_script, latin


def detect_language(text: str) -> str:
    """The language of ``text``: ``"fa"``, ``"en"``, ``"ar"`` or ``"other"``.

    Texts with no letters (only emoji, numbers, links) are ``"other"``.
    """
    clean = _NOISE_RE.sub(" ", text)
    letters = [c for c in clean if c.isalpha()]
    if not letters:
        return "other"
    share = arabic_script_share(clean)
    if share >= 0.4:
        return _arabic_script_language(clean)
    if share > 0 and share < 0.4 and _has_arabic_script_word(clean) and len(letters) < 12:
        return _arabic_script_language(clean)
    return _latin_language(clean)


def detect_languages(texts: list[str]) -> list[str]:
    """``detect_language`` for each text, in order."""
    return [detect_language(t) for t in texts]


def _has_arabic_script_word(text: str) -> bool:
    return any(arabic_script_share(word) > 0.9 and len(word) >= 2 for word in text.split())


def _arabic_script_language(text: str) -> str:
    chars = set(text)
    if chars & _URDU_ONLY and not chars & _PERSIAN_ONLY:
        return "other"
    persian_votes = len(chars & _PERSIAN_ONLY) * 2 + len(chars & _PERSIAN_FORMS)
    persian_votes += 2 * len(_PERSIAN_WORDS_RE.findall(normalize_persian(text)))
    arabic_votes = len(chars & _ARABIC_ONLY) * 2 + len(_ARABIC_WORDS_RE.findall(text))
    if chars & _ARABIC_FORMS and not chars & _PERSIAN_FORMS:
        arabic_votes += 1
    if persian_votes >= arabic_votes + 2:
        return "fa"
    if arabic_votes >= persian_votes + 2:
        return "ar"
    detector, _ = _detectors()
    language = detector.detect_language_of(text)
    if language is None:
        return "fa" if persian_votes >= arabic_votes else "ar"
    code = language.iso_code_639_1.name.lower()
    if code == "ur":
        # lingua's Urdu model also fires on short Persian; without Urdu-only letters it is Persian.
        return "fa"
    return code


def _latin_language(text: str) -> str:
    _, detector = _detectors()
    language = detector.detect_language_of(text)
    if language is None:
        return "other"
    return "en" if language.iso_code_639_1.name == "EN" else "other"

"""Analysis and mapping rules of the fake Elasticsearch, as strict as a real cluster where
the adapter depends on them.

- ``standard_tokenize``: the ``standard`` tokenizer's word boundaries (Unicode UAX #29) for
  the cases that matter to brand search: ``acme's``, ``acme’s``, ``don't`` (Single_Quote /
  MidNumLet between letters), ``digikala.com`` (MidNumLet), ``1,000`` and ``3.5`` (MidNum
  between digits) stay **one token**; ZWNJ/ZWJ and combining marks are ignored inside a word
  (so ``دیجی‌کالا`` is one token unless a char filter splits it); ``_`` joins (ExtendNumLet).
- ``Analyzer``: a custom analyzer built from an index's ``analysis`` settings: ``mapping`` char
  filters, the standard tokenizer, and the token filters we use (``lowercase``,
  ``decimal_digit``, ``arabic_normalization``, ``persian_normalization`` as Lucene defines them).
  An unknown char filter, tokenizer, filter or analyzer is a 400 at template/index creation.
- ``validate_mappings``/``validate_document``: unknown field types or parameters in a mapping
  are refused (``mapper_parsing_exception``), and a document whose value does not fit its
  field (an object in a keyword, text in a long, a malformed date) is refused per item.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable

from tests.core.fake_es_errors import EsError

MID_LETTER = set("\u003a\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a")
MID_NUM = set("\u002c\u003b\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b")
MID_NUM_LET = set("\u002e\u2018\u2019\u2024\ufe52\uff07\uff0e")
SINGLE_QUOTE = {"'"}
NUMERIC_EXTRA = {"\u066b"}  # ARABIC DECIMAL SEPARATOR is Numeric in UAX #29
MAX_TOKEN_LENGTH = 255


@lru_cache(maxsize=65_536)
def _kind(ch: str) -> str:
    """The UAX #29 word-break class of ``ch`` (the subset we need)."""
    if ch == "_" or ch in "\u203f\u2040\u2054\ufe33\ufe34\ufe4d\ufe4e\ufe4f\uff3f":
        return "ExtendNumLet"
    if ch in ("\u200c", "\u200d") or unicodedata.category(ch) in ("Mn", "Me", "Mc", "Cf"):
        return "Extend"
    if ch in SINGLE_QUOTE:
        return "Single_Quote"
    if ch in MID_NUM_LET:
        return "MidNumLet"
    if ch in MID_LETTER:
        return "MidLetter"
    if ch in MID_NUM:
        return "MidNum"
    if ch in NUMERIC_EXTRA or unicodedata.category(ch) == "Nd":
        return "Numeric"
    if unicodedata.category(ch).startswith("L"):
        return "ALetter"
    return "Other"


def standard_tokenize(text: str) -> list[str]:
    """Tokens of the ``standard`` tokenizer (letters/digits runs under UAX #29 rules)."""
    chars = [(c, _kind(c)) for c in text]
    tokens: list[str] = []
    i, n = 0, len(chars)
    while i < n:
        if chars[i][1] not in ("ALetter", "Numeric", "ExtendNumLet"):
            i += 1
            continue
        start, last = i, chars[i][1]
        i += 1
        while i < n:
            kind = chars[i][1]
            if kind == "Extend":  # WB4: ignored inside a word
                i += 1
                continue
            if kind in ("ALetter", "Numeric", "ExtendNumLet"):
                last = kind
                i += 1
                continue
            if kind in ("MidLetter", "MidNumLet", "Single_Quote", "MidNum"):
                nxt = next((k for _, k in chars[i + 1:] if k != "Extend"), None)
                letters = last == "ALetter" and nxt == "ALetter" and kind != "MidNum"  # WB6/WB7
                digits = last == "Numeric" and nxt == "Numeric" and kind != "MidLetter"  # WB11/WB12
                if letters or digits:
                    i += 1
                    continue
            break
        word = "".join(c for c, k in chars[start:i])
        word = word.rstrip("".join(c for c, k in chars[start:i] if k == "Extend"))
        if any(k in ("ALetter", "Numeric") for _, k in chars[start:i]):
            tokens.extend(word[p:p + MAX_TOKEN_LENGTH] for p in range(0, len(word), MAX_TOKEN_LENGTH))
    return tokens


# ------------------------------------------------------------------ token filters (Lucene's rules)

_ARABIC_NORMALIZE = str.maketrans({
    "\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627",  # alef madda/hamza -> alef
    "\u0629": "\u0647",  # teh marbuta -> heh
    "\u0649": "\u064a",  # alef maksura -> yeh
})
_ARABIC_STRIP = re.compile("[\u0640\u064b-\u0652]")  # tatweel, harakat
_PERSIAN_NORMALIZE = str.maketrans({
    "\u06cc": "\u064a", "\u06d2": "\u064a",  # farsi yeh, yeh barree -> yeh
    "\u06a9": "\u0643",  # keheh -> kaf
    "\u06c0": "\u0647", "\u06c1": "\u0647", "\u06d5": "\u0647",  # heh forms -> heh
})


def _decimal_digit(token: str) -> str:
    return "".join(str(unicodedata.decimal(c)) if unicodedata.category(c) == "Nd" else c for c in token)


TOKEN_FILTERS: dict[str, Callable[[str], str]] = {
    "lowercase": str.lower,
    "decimal_digit": _decimal_digit,
    "arabic_normalization": lambda t: _ARABIC_STRIP.sub("", t.translate(_ARABIC_NORMALIZE)),
    "persian_normalization": lambda t: t.translate(_PERSIAN_NORMALIZE),
}
BUILTIN_ANALYZERS = {"standard": ((), ("lowercase",))}


def _decode(side: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), side)


def _parse_mapping_rules(name: str, rules: Any) -> dict[str, str]:
    if not isinstance(rules, list) or not rules:
        raise EsError(400, "illegal_argument_exception", f"mapping requires either `mappings` or `mappings_path` to be configured [{name}]")
    out: dict[str, str] = {}
    for rule in rules:
        if not isinstance(rule, str) or "=>" not in rule:
            raise EsError(400, "illegal_argument_exception", f"Invalid mapping rule : [{rule}]")
        key, _, value = rule.partition("=>")
        key, value = _decode(key.strip()), _decode(value.strip())
        if not key:
            raise EsError(400, "illegal_argument_exception", f"Invalid mapping rule : [{rule}]")
        out[key] = value
    return out


class Analyzer:
    """Char filters (longest key first, as Lucene's MappingCharFilter), tokenizer, token filters."""

    def __init__(self, char_maps: list[dict[str, str]], filters: list[str]) -> None:
        self.char_maps = [(m, re.compile("|".join(map(re.escape, sorted(m, key=len, reverse=True))))) for m in char_maps]
        self.filters = [TOKEN_FILTERS[f] for f in filters]
        self._cache: dict[str, list[str]] = {}  # text -> tokens (callers only read them)

    def __call__(self, text: Any) -> list[str]:
        if text is None:
            return []
        text = str(text)
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        if len(self._cache) > 200_000:
            self._cache.clear()
        self._cache[text] = out = self._analyze(text)
        return out

    def _analyze(self, text: str) -> list[str]:
        for mapping, pattern in self.char_maps:
            text = pattern.sub(lambda m, mapping=mapping: mapping[m.group(0)], text)
        out = []
        for token in standard_tokenize(text):
            for f in self.filters:
                token = f(token)
            if token:
                out.append(token)
        return out


def build_analyzers(analysis: dict[str, Any] | None) -> dict[str, Analyzer]:
    """Every analyzer an index can use: the built-in ``standard`` plus its custom ones (validated)."""
    analysis = analysis or {}
    char_filters: dict[str, dict[str, str]] = {}
    for name, spec in (analysis.get("char_filter") or {}).items():
        if spec.get("type") != "mapping":
            raise EsError(400, "illegal_argument_exception", f"fake: unsupported char_filter type [{spec.get('type')}] for [{name}]")
        char_filters[name] = _parse_mapping_rules(name, spec.get("mappings"))
    analyzers = {name: Analyzer([], list(filters)) for name, (_, filters) in BUILTIN_ANALYZERS.items()}
    for name, spec in (analysis.get("analyzer") or {}).items():
        if spec.get("type", "custom") != "custom" or spec.get("tokenizer") != "standard":
            raise EsError(400, "illegal_argument_exception", f"fake: analyzer [{name}] must be custom with the standard tokenizer")
        for cf in spec.get("char_filter", []):
            if cf not in char_filters:
                raise EsError(400, "illegal_argument_exception", f"Custom Analyzer [{name}] failed to find char_filter under name [{cf}]")
        for f in spec.get("filter", []):
            if f not in TOKEN_FILTERS:
                raise EsError(400, "illegal_argument_exception", f"Custom Analyzer [{name}] failed to find filter under name [{f}]")
        analyzers[name] = Analyzer([char_filters[cf] for cf in spec.get("char_filter", [])], list(spec.get("filter", [])))
    return analyzers


# ------------------------------------------------------------------ mappings

FIELD_PARAMS: dict[str, set[str]] = {
    "keyword": {"type", "index", "ignore_above", "doc_values", "fields", "normalizer", "store"},
    "text": {"type", "analyzer", "search_analyzer", "index", "fields", "store"},
    "date": {"type", "format", "index", "doc_values", "store"},
    "long": {"type", "index", "doc_values", "store", "coerce"},
    "integer": {"type", "index", "doc_values", "store", "coerce"},
    "float": {"type", "index", "doc_values", "store", "coerce"},
    "boolean": {"type", "index", "doc_values", "store"},
    "object": {"type", "properties", "enabled", "dynamic"},
}


def validate_mappings(mappings: dict[str, Any], analyzers: dict[str, Analyzer]) -> None:
    """Refuse what a real cluster refuses in our templates' mappings."""
    unknown = set(mappings) - {"dynamic", "properties", "_source", "_meta"}
    if unknown:
        raise EsError(400, "mapper_parsing_exception", f"Root mapping definition has unsupported parameters: {sorted(unknown)}")
    if mappings.get("dynamic", True) not in (True, False, "true", "false", "strict", "runtime"):
        raise EsError(400, "mapper_parsing_exception", f"Could not convert [dynamic] to boolean: {mappings['dynamic']}")
    _validate_properties(mappings.get("properties", {}), analyzers, "")


def _validate_properties(props: dict[str, Any], analyzers: dict[str, Analyzer], path: str) -> None:
    for name, spec in props.items():
        full = f"{path}{name}"
        if not isinstance(spec, dict):
            raise EsError(400, "mapper_parsing_exception", f"Expected map for property [fields] on field [{full}]")
        ftype = spec.get("type", "object")
        if ftype not in FIELD_PARAMS:
            raise EsError(400, "mapper_parsing_exception", f"No handler for type [{ftype}] declared on field [{full}]")
        extra = set(spec) - FIELD_PARAMS[ftype]
        if extra:
            raise EsError(400, "mapper_parsing_exception",
                          f"unknown parameter [{sorted(extra)[0]}] on mapper [{full}] of type [{ftype}]")
        for key in ("analyzer", "search_analyzer"):
            if key in spec and spec[key] not in analyzers:
                raise EsError(400, "mapper_parsing_exception", f"Failed to parse mapping: analyzer [{spec[key]}] has not been configured in mappings")
        if ftype == "object":
            _validate_properties(spec.get("properties", {}), analyzers, full + ".")
        for sub, sub_spec in (spec.get("fields") or {}).items():
            _validate_properties({sub: sub_spec}, analyzers, full + ".")


def _date_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _fits(ftype: str, value: Any) -> bool:
    if ftype in ("keyword", "text"):
        return isinstance(value, (str, int, float, bool))
    if ftype in ("long", "integer"):
        if isinstance(value, bool):
            return False
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None)
    if ftype == "float":
        return not isinstance(value, bool) and isinstance(value, (int, float))
    if ftype == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if ftype == "date":
        return _date_ok(value)
    return True


def validate_document(mappings: dict[str, Any], src: Any, path: str = "") -> None:
    """Raise a 400 ``document_parsing_exception`` when a value does not fit its mapped field."""
    if not isinstance(src, dict):
        raise EsError(400, "document_parsing_exception", f"[1:1] failed to parse: expected an object at [{path or 'root'}]")
    props = mappings.get("properties", {})
    for name, value in src.items():
        spec = props.get(name)
        if spec is None or value is None:
            continue  # unmapped with dynamic: false stays in _source only
        ftype = spec.get("type", "object")
        full = f"{path}{name}"
        if ftype == "object":
            if spec.get("enabled", True) is False:
                continue
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, dict):
                    raise EsError(400, "document_parsing_exception",
                                  f"object mapping for [{full}] tried to parse field [{name}] as object, but found a concrete value")
                validate_document(spec, item, full + ".")
            continue
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, (dict, list)) or not _fits(ftype, item):
                raise EsError(400, "document_parsing_exception",
                              f"failed to parse field [{full}] of type [{ftype}] in document: value {str(item)[:60]!r}")

"""The brand query language: parse once, match texts, compile to search backends.

Syntax (operators in upper case; terms are case-insensitive)::

    acme OR "acme bank" OR #acmefail OR @acme_support
    (دیجی‌کالا OR "دیجی کالا") AND NOT استخدام
    acme -jobs            # '-' is a short NOT; adjacent terms mean AND
    refund*               # prefix term

Texts and terms go through ``core.textnorm.normalize_for_match``, so Arabic ي/ك,
diacritics, ZWNJ, and Persian digits do not matter. A phrase also matches its words
written together (``"دیجی کالا"`` matches ``دیجیکالا``).

Queries come from API callers, so the parser bounds their cost: at most
``MAX_QUERY_CHARS`` characters, ``MAX_TERMS`` terms (``MAX_PREFIX_TERMS`` of them
prefixes of at least ``MIN_PREFIX_CHARS`` letters) and ``MAX_DEPTH`` levels of nested
parentheses/``NOT``/``-``. Every limit is a :class:`QueryError` naming the position, and
no query can drive any of the recursive walkers (matching, FTS5 and Elasticsearch
compilation) near Python's recursion limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Union

from core.textnorm import normalize_for_match

MAX_QUERY_CHARS = 2000
MAX_TERMS = 64
MAX_PREFIX_TERMS = 8
MIN_PREFIX_CHARS = 2
MAX_DEPTH = 12  # Elasticsearch refuses bool queries nested deeper than 30 levels


class QueryError(ValueError):
    """A query that does not parse; the message names the position (0-based column)."""

    def __init__(self, message: str, position: int, query: str) -> None:
        self.position = position
        self.query = query
        pointer = " " * position + "^"
        super().__init__(f"{message} at position {position}\n  {query}\n  {pointer}")


@dataclass(frozen=True)
class Term:
    text: str  # normalised
    prefix: bool = False  # 'refund*'


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]  # normalised words


@dataclass(frozen=True)
class Hashtag:
    tag: str  # normalised, without '#'


@dataclass(frozen=True)
class Handle:
    handle: str  # normalised, without '@'


@dataclass(frozen=True)
class Not:
    child: "Node"


@dataclass(frozen=True)
class And:
    children: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    children: tuple["Node", ...]


Node = Union[Term, Phrase, Hashtag, Handle, Not, And, Or]

_TOKEN_RE = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<phrase>"[^"]*"?)|(?P<word>[^\s()"]+))')
_WORD_RE = re.compile(r"[#@]?\w+")


@dataclass
class _Lexer:
    query: str
    tokens: list[tuple[str, str, int]] = field(default_factory=list)

    def lex(self) -> list[tuple[str, str, int]]:
        pos = 0
        while pos < len(self.query):
            match = _TOKEN_RE.match(self.query, pos)
            if not match or match.end() == pos:
                if self.query[pos:].strip() == "":
                    break
                raise QueryError("unexpected character", pos, self.query)
            kind = match.lastgroup or ""
            start = match.start(kind)
            value = match.group(kind)
            if kind == "phrase" and (len(value) < 2 or not value.endswith('"')):
                raise QueryError("unterminated phrase (missing closing quote)", start, self.query)
            if kind == "word" and value in ("AND", "OR", "NOT"):
                kind = value
            self.tokens.append((kind, value, start))
            pos = match.end()
        return self.tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(f"query longer than {MAX_QUERY_CHARS} characters", MAX_QUERY_CHARS, query)
        self.tokens = _Lexer(query).lex()
        self.i = 0
        self.depth = 0
        self.terms = 0
        self.prefixes = 0

    def _enter(self, pos: int) -> None:
        # Each '(' , NOT and '-' nests one level deeper; the limit keeps every walker shallow.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"query nested deeper than {MAX_DEPTH} levels (parentheses, NOT and '-')", pos, self.query)

    def _leaf(self, node: Node, pos: int) -> Node:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QueryError(f"query has more than {MAX_TERMS} terms", pos, self.query)
        if isinstance(node, Term) and node.prefix:
            self.prefixes += 1
            if self.prefixes > MAX_PREFIX_TERMS:
                raise QueryError(f"query has more than {MAX_PREFIX_TERMS} prefix terms (word*)", pos, self.query)
            if len(node.text) < MIN_PREFIX_CHARS:
                raise QueryError(f"a prefix term needs at least {MIN_PREFIX_CHARS} letters before '*'", pos, self.query)
        return node

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("empty query", 0, self.query)
        node = self._or()
        if self.i < len(self.tokens):
            kind, value, pos = self.tokens[self.i]
            raise QueryError(f"unexpected {value!r}", pos, self.query)
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def _or(self) -> Node:
        children = [self._and()]
        while self._peek() == "OR":
            self.i += 1
            children.append(self._and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _and(self) -> Node:
        children = [self._not()]
        while self._peek() not in (None, "OR", "rp"):
            if self._peek() == "AND":
                self.i += 1
            children.append(self._not())
        return children[0] if len(children) == 1 else And(tuple(children))

    def _not(self) -> Node:
        if self._peek() == "NOT":
            pos = self.tokens[self.i][2]
            self.i += 1
            self._enter(pos)
            node = Not(self._not())
            self.depth -= 1
            return node
        return self._atom()

    def _atom(self) -> Node:
        if self.i >= len(self.tokens):
            raise QueryError("expected a term", len(self.query), self.query)
        kind, value, pos = self.tokens[self.i]
        self.i += 1
        if kind == "lp":
            self._enter(pos)
            node = self._or()
            if self._peek() != "rp":
                where = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.query)
                raise QueryError("expected ')' to close the '(' at position %d" % pos, where, self.query)
            self.i += 1
            self.depth -= 1
            return node
        if kind == "phrase":
            words = tuple(_WORD_RE.findall(normalize_for_match(value[1:-1])))
            words = tuple(w.lstrip("#@") for w in words)
            if not words:
                raise QueryError("empty phrase", pos, self.query)
            return self._leaf(Phrase(words) if len(words) > 1 else Term(words[0]), pos)
        if kind == "word":
            return self._word(value, pos)
        raise QueryError(f"expected a term, found {value!r}", pos, self.query)

    def _word(self, value: str, pos: int) -> Node:
        negations = 0  # '--x' is NOT NOT x; counted in a loop, not by recursion
        while value.startswith("-") and len(value) > 1:
            self._enter(pos)
            value, pos, negations = value[1:], pos + 1, negations + 1
        node = self._leaf(self._bare_word(value, pos), pos)
        for _ in range(negations):
            node = Not(node)
        self.depth -= negations
        return node

    def _bare_word(self, value: str, pos: int) -> Node:
        prefix = value.endswith("*")
        raw = value.rstrip("*")
        norm = normalize_for_match(raw)
        sigil = norm[:1] if norm[:1] in "#@" else ""
        words = _WORD_RE.findall(norm[len(sigil):])
        if not words:
            raise QueryError(f"{value!r} has no letters or digits", pos, self.query)
        words = [w.lstrip("#@") for w in words]
        if sigil == "#":
            return Hashtag("_".join(words))
        if sigil == "@":
            return Handle("_".join(words))
        if len(words) > 1:  # e.g. 'دیجی‌کالا' (ZWNJ) or 'e-mail': its parts, in order
            return Phrase(tuple(words))
        return Term(words[0], prefix=prefix)


@lru_cache(maxsize=1024)
def parse_query(query: str) -> Node:
    """Parse a query; raises :class:`QueryError` naming the position of the problem
    (syntax, or a length, term-count or nesting limit)."""
    if not isinstance(query, str):
        raise TypeError("query must be a string")
    return _Parser(query).parse()


@dataclass(frozen=True)
class MatchText:
    """A text prepared once for matching many queries (normalised, tokenised)."""

    normalized: str
    words: frozenset[str]  # bare words (hashtags and handles included without sigil)
    hashtags: frozenset[str]
    handles: frozenset[str]

    @classmethod
    def of(cls, text: str) -> "MatchText":
        norm = normalize_for_match(text)
        tokens = _WORD_RE.findall(norm)
        hashtags = frozenset(t[1:] for t in tokens if t.startswith("#"))
        handles = frozenset(t[1:] for t in tokens if t.startswith("@"))
        words = frozenset(t.lstrip("#@") for t in tokens)
        # Parts of hashtags/handles joined by '_' count as words too: '#acme_fail' has 'acme'.
        words |= frozenset(p for t in words if "_" in t for p in t.split("_") if p)
        return cls(norm, words, hashtags, handles)


def matches(node: Node | str, text: str | MatchText) -> bool:
    """True when ``text`` satisfies the query."""
    if isinstance(node, str):
        node = parse_query(node)
    prepared = text if isinstance(text, MatchText) else MatchText.of(text)
    return _eval(node, prepared)


def _eval(node: Node, t: MatchText) -> bool:
    if isinstance(node, Term):
        if node.prefix:
            return any(w.startswith(node.text) for w in t.words)
        return node.text in t.words
    if isinstance(node, Phrase):
        return _phrase_regex(node.words).search(t.normalized) is not None
    if isinstance(node, Hashtag):
        return node.tag in t.hashtags
    if isinstance(node, Handle):
        return node.handle in t.handles
    if isinstance(node, Not):
        return not _eval(node.child, t)
    if isinstance(node, And):
        return all(_eval(c, t) for c in node.children)
    if isinstance(node, Or):
        return any(_eval(c, t) for c in node.children)
    raise TypeError(f"unknown query node {node!r}")


@lru_cache(maxsize=4096)
def _phrase_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    # Words in order, separated by spaces/punctuation or written together.
    gap = r"(?:[\W_]+|)"
    return re.compile(r"(?<!\w)" + gap.join(re.escape(w) for w in words) + r"(?!\w)")


def positive_terms(node: Node) -> list[Node]:
    """Leaf nodes that are not under a NOT (useful for highlighting and backends)."""
    if isinstance(node, (Term, Phrase, Hashtag, Handle)):
        return [node]
    if isinstance(node, Not):
        return []
    return [leaf for child in node.children for leaf in positive_terms(child)]

"""Compile a brand query (``core.query`` AST) to an FTS5 MATCH expression.

The expression selects a *superset* of the true matches; ``exact`` says whether it
is the exact set. Hashtags and handles (``#acme``, ``@acme``) and words containing
'_' are indexed as plain words, so their expressions are supersets and the search
re-checks candidates with ``core.query.matches``. A NOT over an inexact part is left
to the re-check. FTS5 has no unary NOT, so a query that is only ``NOT x`` has no
expression here; the search handles it with an anti-join instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from core.query import And, Handle, Hashtag, Node, Not, Or, Phrase, Term

MAX_JOINED_WORDS = 5  # phrases up to this length get every "written together" variant


@dataclass(frozen=True)
class FtsPlan:
    """``expr``: an FTS5 MATCH string, or None when the FTS index cannot narrow the set."""

    expr: str | None
    exact: bool


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _phrase(words: tuple[str, ...]) -> str:
    return _quote(" ".join(words))


def _phrase_variants(words: tuple[str, ...]) -> FtsPlan:
    # "a b c" also matches "abc", "ab c", "a bc": every way of gluing neighbours together.
    exact = all("_" not in w for w in words)
    if len(words) > MAX_JOINED_WORDS:
        return FtsPlan(f"({_phrase(words)} OR {_quote(''.join(words))})", False)
    variants: list[str] = []
    for glue in product((" ", ""), repeat=len(words) - 1):
        text = words[0] + "".join(g + w for g, w in zip(glue, words[1:]))
        variants.append(_quote(text))
    return FtsPlan("(" + " OR ".join(dict.fromkeys(variants)) + ")", exact)


def compile_fts(node: Node) -> FtsPlan:
    """The FTS5 plan of a parsed query."""
    if isinstance(node, Term):
        token = _quote(node.text) + ("*" if node.prefix else "")
        return FtsPlan(token, "_" not in node.text)
    if isinstance(node, Phrase):
        return _phrase_variants(node.words)
    if isinstance(node, (Hashtag, Handle)):
        value = node.tag if isinstance(node, Hashtag) else node.handle
        parts = tuple(p for p in value.split("_") if p)
        return FtsPlan(_phrase(parts) if parts else None, False)
    if isinstance(node, Or):
        plans = [compile_fts(c) for c in node.children]
        if any(p.expr is None for p in plans):
            return FtsPlan(None, False)
        return FtsPlan("(" + " OR ".join(p.expr for p in plans if p.expr) + ")", all(p.exact for p in plans))
    if isinstance(node, And):
        return _compile_and(node.children)
    if isinstance(node, Not):
        return FtsPlan(None, False)
    raise TypeError(f"unknown query node {node!r}")


def _compile_and(children: tuple[Node, ...]) -> FtsPlan:
    positives: list[str] = []
    negatives: list[str] = []
    exact = True
    for child in children:
        if isinstance(child, Not):
            inner = compile_fts(child.child)
            if inner.expr is not None and inner.exact:
                negatives.append(inner.expr)
            else:
                exact = False  # left to the re-check
            continue
        plan = compile_fts(child)
        exact = exact and plan.exact
        if plan.expr is None:
            continue
        positives.append(plan.expr)
    if not positives:
        return FtsPlan(None, False)
    expr = "(" + " AND ".join(positives) + "".join(f" NOT {n}" for n in negatives) + ")"
    return FtsPlan(expr, exact)


def anti_join_expr(node: Node) -> str | None:
    """For a query that is only ``NOT x`` with an exact ``x``: the MATCH of ``x``."""
    if isinstance(node, Not):
        inner = compile_fts(node.child)
        if inner.expr is not None and inner.exact:
            return inner.expr
    return None

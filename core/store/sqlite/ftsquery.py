"""Compile a brand query (``core.query`` AST) to an FTS5 MATCH expression.

The expression selects a *superset* of the true matches; ``exact`` says whether it
is the exact set. Hashtags and handles (``#acme``, ``@acme``) and words containing
'_' are indexed as plain words, so their expressions are supersets and the search
narrows candidates with this expression and checks them exactly with ``compile_sql``.
FTS5 has no unary NOT, so a query that is only ``NOT x`` has no expression here.

``compile_sql`` turns a whole query into an exact SQL condition on ``m.rk`` (FTS5
sub-selects for the exact parts, the ``bg_leaf_match`` function for hashtag/handle
leaves), so the search never re-reads rows in a Python loop and SQLite's progress
handler can stop any query that runs past its budget.
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
                exact = False  # left to the exact SQL check (compile_sql)
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


LEAF_MATCH_FUNCTION = "bg_leaf_match"
_LEAF_CHECK = f"{LEAF_MATCH_FUNCTION}(?, m.doc)"
_SIGILS = {Hashtag: "#\ufe5f\uff03", Handle: "@\ufe6b\uff20"}  # the sigil and what NFKC folds onto it
_FTS_IN = "m.rk IN (SELECT rowid FROM mention_fts WHERE mention_fts MATCH ?)"


def leaf_query(node: Node) -> str:
    """A query string that parses back to the leaf ``node`` (for ``bg_leaf_match``)."""
    if isinstance(node, Hashtag):
        return "#" + node.tag
    if isinstance(node, Handle):
        return "@" + node.handle
    if isinstance(node, Term):
        return node.text + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return '"' + " ".join(node.words) + '"'
    raise TypeError(f"not a leaf: {node!r}")


def compile_sql(node: Node) -> tuple[str, list[str]]:
    """An exact SQL condition (over ``m``) selecting the mentions that match ``node``."""
    plan = compile_fts(node)
    if plan.expr is not None and plan.exact:
        return _FTS_IN, [plan.expr]
    if isinstance(node, Not):
        inner, params = compile_sql(node.child)
        return f"NOT ({inner})", params
    if isinstance(node, (And, Or)):
        # The same child twice (``#a OR #a …``) is evaluated once.
        unique = dict.fromkeys((sql, tuple(params)) for sql, params in map(compile_sql, node.children))
        parts = [(sql, list(params)) for sql, params in unique]
        glue = " AND " if isinstance(node, And) else " OR "
        return "(" + glue.join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]
    check = _LEAF_CHECK
    if isinstance(node, (Hashtag, Handle)):  # a row without the sigil cannot match: decided in C
        sigils = _SIGILS[Hashtag if isinstance(node, Hashtag) else Handle]
        check = "(" + " OR ".join(f"instr(m.doc, '{c}')" for c in sigils) + f") AND {check}"
    if plan.expr is not None:  # the FTS superset first, then the exact check on those rows only
        return f"({_FTS_IN} AND {check})", [plan.expr, leaf_query(node)]
    return f"({check})", [leaf_query(node)]

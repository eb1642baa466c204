"""Declarative selectors: a CSS expression (``::text``/``::attr()`` allowed) or ``xpath:...``."""

from __future__ import annotations

from typing import Any

from parsel import Selector, SelectorList


def select(node: Selector | SelectorList, expr: str) -> SelectorList:
    """Elements or strings ``expr`` selects under ``node``."""
    if expr.startswith("xpath:"):
        return node.xpath(expr[len("xpath:"):])
    return node.css(expr)


def first(node: Selector | SelectorList, expr: str | None) -> str | None:
    """The first match as a stripped string (outer HTML for elements), or None."""
    if not expr:
        return None
    value = select(node, expr).get()
    if value is None:
        return None
    value = value.strip()
    return value or None


def text_of(node: Selector | SelectorList, expr: str | None) -> str | None:
    """All text under the matches of ``expr``, joined; for ``::text``/``@attr`` the values."""
    if not expr:
        return None
    values = [v.strip() for v in select(node, expr).getall() if v and v.strip()]
    return " ".join(values) or None


def option(options: dict[str, Any], path: str, default: Any = None) -> Any:
    """``option(opts, "thread.body")`` reads nested option mappings."""
    node: Any = options
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node

"""HTML to readable text, and canonical URLs, for crawled posts."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import html as lxml_html

_BLOCK_TAGS = {"p", "div", "br", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre", "article", "section"}
_DROP_TAGS = ("script", "style", "noscript", "template")
_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_eid|mc_cid|ref_src|igshid)$", re.IGNORECASE)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment: block elements become line breaks, scripts vanish."""
    if not markup or not markup.strip():
        return ""
    if "<" not in markup:
        return normalize_whitespace(markup)
    root = lxml_html.fragment_fromstring(markup, create_parent="div")
    for bad in root.iter(*_DROP_TAGS):
        bad.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            if element.tag.lower() == "br":
                continue
            element.text = "\n" + (element.text or "")
    return normalize_whitespace(root.text_content())


def normalize_whitespace(text: str) -> str:
    """One space inside lines, at most one blank line between paragraphs, trimmed."""
    lines = [" ".join(line.split()) for line in text.replace("\r", "\n").split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


@lru_cache(maxsize=8192)  # profile and thread URLs repeat on every post
def canonical_url(url: str | None) -> str | None:
    """Lower-case scheme/host, no fragment, no tracking parameters, no default port."""
    if not url:
        return url
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:  # e.g. 'http://[::1' from a hostile page: left for safe_http_url to refuse
        return url.strip()
    if not parts.scheme or not parts.netloc:
        return url.strip()
    netloc = parts.netloc.lower()
    if (parts.scheme == "http" and netloc.endswith(":80")) or (parts.scheme == "https" and netloc.endswith(":443")):
        netloc = netloc.rsplit(":", 1)[0]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING_PARAMS.match(k)])
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


_COUNT_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*([kKmM]|هزار|میلیون)?")


def parse_count(value: object) -> int | None:
    """A shown count as an int: ``12``, ``1.2K``, ``۱۲``, ``3 likes``, ``2.5M``; ``None`` if absent."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    from core.textnorm import normalize_persian

    match = _COUNT_RE.search(normalize_persian(str(value)).replace("٬", ""))
    if not match:
        return None
    number = float(match.group(1).replace(",", "") if match.group(2) else match.group(1).replace(",", ""))
    suffix = (match.group(2) or "").lower()
    factor = {"k": 1_000, "هزار": 1_000, "m": 1_000_000, "میلیون": 1_000_000}.get(suffix, 1)
    return int(round(number * factor))

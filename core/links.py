"""Which URLs from crawled pages may be stored and shown: ``http``/``https`` only.

Crawled pages and feeds are written by strangers. A link like ``javascript:alert(1)``,
`` JaVaScRiPt:…`` or ``data:text/html,…`` must never become an ``href``, and a URL with
spaces or control characters can break out of a Slack ``<url|label>`` or a Markdown link.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SAFE_SCHEMES = ("http", "https")
MAX_URL_CHARS = 2048
_UNSAFE_CHARS = re.compile(r"[\s\x00-\x1f\x7f<>\"'`|\\^{}]")


def safe_http_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host and no characters that could
    break out of an attribute or a chat link; otherwise None."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        return None
    if _UNSAFE_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. a bad IPv6 literal or port
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not host:
        return None
    return url

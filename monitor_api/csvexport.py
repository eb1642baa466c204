"""Mention searches as CSV, safe to open in a spreadsheet.

Crawled text is hostile: a cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) would run as a formula in Excel/LibreOffice/Sheets, so such cells get a
leading apostrophe (OWASP's advice). The file starts with a UTF-8 byte order mark so
spreadsheets read Persian text correctly. Rows are streamed page by page, bounded by
``max_rows``; the first page is read before the response starts, so a bad query or cursor
is still answered with a problem document.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterator

from core.domain import Mention
from core.store.port import MentionQuery, MentionStore

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("id", "published_at", "platform", "source", "brands", "author", "author_name", "followers", "lang",
           "sentiment", "anger", "risk", "title", "text", "url", "shares", "likes", "replies", "customer_id",
           "thread_id")
PAGE = 500
MAX_ROWS = 100_000
BOM = "\ufeff"


def safe_cell(value: Any) -> Any:
    """``value`` as written to CSV: text that a spreadsheet would run as a formula is prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def mention_row(m: Mention) -> list[Any]:
    """One CSV row (cells already made safe)."""
    analysis = m.analysis
    row = [
        m.id, m.published_at.isoformat().replace("+00:00", "Z"), m.platform, m.source, "; ".join(m.brands),
        m.author.key, m.author.name, m.author.followers, m.lang or (analysis.lang if analysis else None),
        analysis.sentiment if analysis else None, round(analysis.anger, 3) if analysis else None,
        round(m.risk.score, 1) if m.risk else None, m.title, m.text, m.url, m.engagement.shares, m.engagement.likes,
        m.engagement.replies, m.customer_id, m.thread_id,
    ]
    return [safe_cell(v) for v in row]


def _line(cells: list[Any] | tuple[Any, ...]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(cells)
    return buf.getvalue()


def mentions_csv(store: MentionStore, query: MentionQuery, max_rows: int) -> Iterator[str]:
    """The CSV text of up to ``max_rows`` matches of ``query``, in chunks (reads the first page now)."""
    query = query.model_copy(update={"limit": min(PAGE, max_rows), "facets": [], "histogram": None})
    first = store.search_mentions(query)

    def chunks() -> Iterator[str]:
        yield BOM + _line(COLUMNS)
        page, written = first, 0
        while True:
            rows = page.items[: max_rows - written]
            yield "".join(_line(mention_row(m)) for m in rows)
            written += len(rows)
            if written >= max_rows or not page.next_cursor:
                return
            page = store.search_mentions(query.model_copy(update={
                "cursor": page.next_cursor, "limit": min(PAGE, max_rows - written)}))

    return chunks()


def content_disposition(name: str) -> dict[str, str]:
    """Headers that make the browser save the CSV as ``name``."""
    return {"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"}

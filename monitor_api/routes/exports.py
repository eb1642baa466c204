"""Exports: a mention search as CSV (same filters as ``GET /v1/mentions``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from core.query import parse_query
from core.store.port import MentionQuery
from monitor_api.csvexport import MAX_ROWS, content_disposition, mentions_csv
from monitor_api.deps import MentionsReader, StoreDep
from monitor_api.params import Rfc3339
from monitor_api.problems import PROBLEM_RESPONSES, ApiProblem

router = APIRouter(prefix="/exports", tags=["mentions"], responses=PROBLEM_RESPONSES)
Many = Annotated[list[Annotated[str, Query(max_length=200)]], Query(max_length=20)]


def export_query(
    q: str | None, brand: list[str], lang: list[str], sentiment: list[str], source: list[str], platform: list[str],
    author: list[str], thread_id: str | None, since: object, until: object, min_risk: float | None, sort: str,
) -> MentionQuery:
    """The search to export; 400 for a query that does not parse or a range that is backwards."""
    text = q.strip() if q and q.strip() else None
    if text is not None:
        parse_query(text)  # QueryError -> 400 naming the position, before the response starts
    if since and until and since >= until:  # type: ignore[operator]
        raise ApiProblem(400, "Bad request", "'since' must be before 'until'", kind="bad-request")
    return MentionQuery(text=text, brands=brand, langs=lang, sentiments=sentiment, sources=source, platforms=platform,
                        authors=[a.lower() for a in author], thread_id=thread_id, since=since, until=until,
                        min_risk=min_risk, sort=sort)


@router.get("/mentions.csv", summary="Export a mention search as CSV",
            responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a header row"}})
def export_mentions(
    store: StoreDep,
    _: MentionsReader,
    q: Annotated[str | None, Query(max_length=2000, description="brand query language")] = None,
    brand: Many = [],  # noqa: B006 - FastAPI copies defaults
    lang: Many = [],  # noqa: B006
    sentiment: Annotated[list[Literal["negative", "neutral", "positive"]], Query(max_length=3)] = [],  # noqa: B006
    source: Many = [],  # noqa: B006
    platform: Many = [],  # noqa: B006
    author: Many = [],  # noqa: B006
    thread_id: Annotated[str | None, Query(max_length=500)] = None,
    since: Rfc3339 | None = None,
    until: Rfc3339 | None = None,
    min_risk: Annotated[float | None, Query(ge=0, le=100)] = None,
    sort: Literal["newest", "oldest", "risk"] = "newest",
    max_rows: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 10_000,
) -> StreamingResponse:
    """Up to ``max_rows`` matching mentions, one per row. Cells that a spreadsheet would run
    as a formula (starting with = + - @) are prefixed with an apostrophe."""
    query = export_query(q, brand, lang, list(sentiment), source, platform, author, thread_id, since, until,
                         min_risk, sort)
    return StreamingResponse(mentions_csv(store, query, max_rows), media_type="text/csv; charset=utf-8",
                             headers=content_disposition("mentions.csv"))

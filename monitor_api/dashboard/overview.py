"""The analysts' overview page (``/ui/``, the landing page after sign-in), its chart
downloads (SVG; PNG is drawn from the SVG by ``static/overview.js``) and the CSV export of
a dashboard search.

The numbers come from ``core.stats.overview.build_overview``, the same computation as
``GET /v1/stats/overview``. The page refreshes its body in place (``?partial=1``) every
minute; without JavaScript it is a plain form and links.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from markupsafe import Markup

from core.domain import AlertState
from core.stats.overview import Overview, build_overview
from core.store.port import AlertFilter, MentionQuery
from core.store.stats_port import StatsFilter
from monitor_api.csvexport import content_disposition, mentions_csv
from monitor_api.dashboard.auth import ScopeMissing, page_principal, templates
from monitor_api.dashboard.overview_charts import lines_over_time, mix_bars, share_of_voice
from monitor_api.problems import ApiProblem
from monitor_api.routes.stats import resolve_filter

router = APIRouter(prefix="/ui", include_in_schema=False)
RANGE_CHOICES = ("24h", "7d", "30d", "custom")
CHARTS = ("sov", "volume", "negative", "platforms", "langs")
REFRESH_SECONDS = 60
EXPORT_ROWS = 10_000
OPEN_STATES = [AlertState.open, AlertState.acknowledged, AlertState.assigned]
Text = Annotated[str, Query(max_length=200)]
Many = Annotated[list[Annotated[str, Query(max_length=200)]], Query(max_length=20)]


def parse_page_time(value: str, name: str) -> datetime:
    """A ``datetime-local`` value (taken as UTC) or an RFC 3339 time."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a date and time (YYYY-MM-DDTHH:MM, UTC)") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def page_filter(request: Request, range_name: str, since: str, until: str, brand: list[str], platform: list[str],
                lang: list[str], source: list[str]) -> StatsFilter:
    """The page's range and filters as a ``StatsFilter``; ValueError naming the bad field."""
    if range_name not in RANGE_CHOICES:
        raise ValueError(f"range: choose one of {', '.join(RANGE_CHOICES)}")
    custom = range_name == "custom"
    start = parse_page_time(since, "since") if custom and since else None
    end = parse_page_time(until, "until") if custom and until else None
    if custom and start is None:
        raise ValueError("since: a custom range needs a start")
    try:
        return resolve_filter(request.app.state.clock, None if custom else range_name, start, end, brand, platform,
                              lang, source)
    except ApiProblem as exc:
        raise ValueError(exc.detail or exc.title) from None


def _charts(overview: Overview, competitors: set[str]) -> dict[str, Markup]:
    volume = overview.volume
    return {
        "sov": Markup(share_of_voice(overview.share_of_voice, "Share of voice: mentions per brand", "chart-sov",
                                     selected=overview.brands, competitors=competitors)),
        "volume": Markup(lines_over_time(volume.brands or [volume.overall], volume.interval,
                                         f"Mentions per {volume.interval} and brand", "chart-volume")),
        "negative": Markup(lines_over_time(volume.brands or [volume.overall], volume.interval,
                                           f"Negative share per {volume.interval} and brand", "chart-negative",
                                           percent=True)),
        "platforms": Markup(mix_bars(overview.mix.platforms, "Platform mix", "chart-platforms")),
        "langs": Markup(mix_bars(overview.mix.langs, "Language mix", "chart-langs")),
    }


def _query_string(params: dict[str, Any]) -> str:
    return urlencode([(k, v) for k, values in params.items() for v in (values if isinstance(values, list) else [values])
                      if v not in (None, "")])


def search_link(flt: StatsFilter, **extra: Any) -> str:
    """``/ui/mentions`` for the overview's range and filters plus ``extra`` (q, author, thread_id...)."""
    params: dict[str, Any] = {"brand": flt.brands[:1], "platform": flt.platforms[:1], "lang": flt.langs[:1],
                              "source": flt.sources[:1], "since": flt.since.isoformat(),
                              "until": flt.until.isoformat(), **extra}
    return "/ui/mentions?" + _query_string(params)


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request, range: Text = "7d", since: Text = "", until: Text = "",  # noqa: A002 - the form's name
    brand: Many = [], platform: Many = [], lang: Many = [], source: Many = [],  # noqa: B006
    partial: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    try:
        principal = page_principal(request, "mentions:read")
    except ScopeMissing:
        return RedirectResponse("/ui/alerts", status_code=303)  # support staff land on their inbox
    settings, store = request.app.state.settings, request.app.state.store
    form = {"range": range, "since": since, "until": until, "brand": brand[:1], "platform": platform[:1],
            "lang": lang[:1], "source": source[:1]}
    context: dict[str, Any] = {"principal": principal, "form": form, "ranges": RANGE_CHOICES, "error": None,
                               "refresh_seconds": REFRESH_SECONDS, "competitors": {b.name for b in settings.brands
                                                                                   if b.competitor}}
    try:
        flt = page_filter(request, range, since, until, brand, platform, lang, source)
    except ValueError as exc:
        context["error"] = str(exc)
        return templates.TemplateResponse(request, "overview.html", context, status_code=400)
    overview = build_overview(store, flt)
    options = store.mention_mix(flt.model_copy(update={"brands": [], "platforms": [], "langs": [], "sources": []}))
    brand_names = list(dict.fromkeys([b.name for b in settings.brands] + [s.brand for s in overview.volume.brands
                                                                          if s.brand]))
    alerts = []
    if principal.has("alerts:read"):
        alerts, _ = store.list_alerts(AlertFilter(states=OPEN_STATES, brands=flt.brands, limit=5))
    query = _query_string({k: v for k, v in form.items()})
    context.update({
        "overview": overview, "flt": flt, "charts": _charts(overview, context["competitors"]), "alerts": alerts,
        "can_alerts": principal.has("alerts:read"), "brand_options": brand_names,
        "platform_options": [b.value for b in options.platforms], "lang_options": [b.value for b in options.langs],
        "source_options": [b.value for b in options.sources], "query": query,
        "search_link": lambda **extra: search_link(flt, **extra), "negative_pct": (
            overview.volume.overall.negative / overview.volume.overall.count * 100
            if overview.volume.overall.count else 0.0),
    })
    name = "_overview_body.html" if partial == "1" else "overview.html"
    return templates.TemplateResponse(request, name, context)


@router.get("/overview/chart/{name}.svg")
def chart_download(
    request: Request, name: str, range: Text = "7d", since: Text = "", until: Text = "",  # noqa: A002
    brand: Many = [], platform: Many = [], lang: Many = [], source: Many = [],  # noqa: B006
) -> Response:
    """One overview chart as a standalone SVG file."""
    page_principal(request, "mentions:read")
    if name not in CHARTS:
        return Response(f"unknown chart {name!r}", status_code=404, media_type="text/plain")
    try:
        flt = page_filter(request, range, since, until, brand, platform, lang, source)
    except ValueError as exc:
        return Response(str(exc), status_code=400, media_type="text/plain")
    competitors = {b.name for b in request.app.state.settings.brands if b.competitor}
    charts = _charts(build_overview(request.app.state.store, flt), competitors)
    svg = '<?xml version="1.0" encoding="UTF-8"?>\n' + str(charts[name])
    stamp = flt.until.strftime("%Y%m%d-%H%M")
    headers = {**content_disposition(f"brandguard-{name}-{stamp}.svg"),
               "Content-Security-Policy": "default-src 'none'", "Cache-Control": "no-store"}
    if request.query_params.get("inline") == "1":  # drawn into a canvas by overview.js for the PNG
        headers["Content-Disposition"] = "inline"
    return Response(svg, media_type="image/svg+xml", headers=headers)


@router.get("/mentions/export.csv")
def export_search(
    request: Request, q: Annotated[str, Query(max_length=2000)] = "", brand: Text = "", lang: Text = "",
    sentiment: Text = "", platform: Text = "", source: Text = "", author: Text = "",
    thread_id: Annotated[str, Query(max_length=500)] = "", since: Text = "", until: Text = "",
) -> Response:
    """The dashboard's mention search (same parameters as ``/ui/mentions``) as CSV."""
    page_principal(request, "mentions:read")
    try:
        query = MentionQuery(
            text=q.strip() or None, brands=[brand] if brand else [], langs=[lang] if lang else [],
            sentiments=[sentiment] if sentiment else [], platforms=[platform] if platform else [],
            sources=[source] if source else [], authors=[author.lower()] if author else [],
            thread_id=thread_id or None, since=parse_page_time(since, "since") if since else None,
            until=parse_page_time(until, "until") if until else None,
        )
        chunks = mentions_csv(request.app.state.store, query, EXPORT_ROWS)
    except ValueError as exc:  # a query that does not parse, a bad time
        return Response(str(exc), status_code=400, media_type="text/plain; charset=utf-8")
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers=content_disposition("mentions.csv"))

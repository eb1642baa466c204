"""Dashboard pages: alert inbox (with actions), one alert, mention search, one customer.

Handlers only gather what a page shows from the store and hand it to a template; charts come
from :mod:`monitor_api.dashboard.charts`.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from core.domain import Alert, AlertState, Mention
from core.store.port import AlertFilter, MentionQuery, NotFoundError, StoreError
from monitor_api.dashboard.auth import check_same_origin, page_principal, templates
from monitor_api.dashboard.charts import Series, line_chart, stacked_bars

router = APIRouter(prefix="/ui", include_in_schema=False)
INBOX_STATES = ("open", "acknowledged", "assigned", "snoozed", "resolved")
FACETS = ["brands", "lang", "sentiment", "emotion", "platform", "source"]


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status)


@router.get("/alerts", response_class=HTMLResponse)
def inbox(request: Request, state: Annotated[str | None, Query(max_length=20)] = None) -> Response:
    principal = page_principal(request, "alerts:read")
    store = request.app.state.store
    states = [AlertState(state)] if state in INBOX_STATES else [AlertState(s) for s in INBOX_STATES[:4]]
    alerts, _ = store.list_alerts(AlertFilter(states=states, limit=100))
    customers = {a.customer_id: store.get_customer(a.customer_id) for a in alerts if a.customer_id}
    return _render(request, "inbox.html", {"principal": principal, "alerts": alerts, "customers": customers,
                                           "state": state or "", "states": INBOX_STATES,
                                           "can_write": principal.has("alerts:write")})


@router.post("/alerts/{alert_id}/action")
def alert_action(
    request: Request, alert_id: str, action: Annotated[str, Form(max_length=20)],
    assignee: Annotated[str | None, Form(max_length=200)] = None, note: Annotated[str | None, Form(max_length=5000)] = None,
    snooze_hours: Annotated[float | None, Form(ge=0.1, le=720)] = None, back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    check_same_origin(request)
    principal = page_principal(request, "alerts:write")
    from alerts.lifecycle import apply_action

    now = request.app.state.clock.now()
    until = now + timedelta(hours=snooze_hours) if snooze_hours else None
    message = ""
    try:
        apply_action(request.app.state.store, alert_id, action, principal.actor, assignee=assignee or None, until=until,
                     note=note or None, now=now)
    except NotFoundError:
        return _render(request, "error.html", {"principal": principal, "message": f"No alert {alert_id}."}, 404)
    except ValueError as exc:
        message = str(exc)
    target = back if back.startswith("/ui/") else f"/ui/alerts/{alert_id}"
    if message:
        target += ("&" if "?" in target else "?") + urlencode({"error": message})
    return RedirectResponse(target, status_code=303)


def _engagement_chart(mentions: list[Mention]) -> Markup:
    top = max(mentions, key=lambda m: (len(m.engagement_history), m.engagement.shares or 0), default=None)
    if top is None:
        return Markup(line_chart([], "Engagement"))
    history = top.engagement_history
    series = [Series(name, [(p.at, float(getattr(p, field))) for p in history if getattr(p, field) is not None])
              for name, field in (("shares", "shares"), ("likes", "likes"), ("replies", "replies"))]
    author = top.author.handle or top.author.name or top.platform
    return Markup(line_chart([s for s in series if s.points], f"Engagement of @{author}'s post over time"))


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: str, error: Annotated[str | None, Query(max_length=1000)] = None) -> Response:
    principal = page_principal(request, "alerts:read")
    store = request.app.state.store
    alert: Alert | None = store.get_alert(alert_id)
    if alert is None:
        return _render(request, "error.html", {"principal": principal, "message": f"No alert {alert_id}."}, 404)
    evidence = store.get_mentions(alert.mention_ids[:200])
    thread_mentions: list[Mention] = []
    if alert.subject_kind == "thread" and (thread := store.get_thread(alert.subject_id)) is not None:
        thread_mentions = store.get_mentions(thread.mention_ids[:200])
    timeline = sorted({m.id: m for m in [*evidence, *thread_mentions]}.values(), key=lambda m: m.published_at)
    customer = store.get_customer(alert.customer_id) if alert.customer_id else None
    flag = store.get_risk_flag(alert.customer_id) if alert.customer_id else None
    return _render(request, "alert.html", {
        "principal": principal, "alert": alert, "timeline": timeline, "customer": customer, "flag": flag,
        "chart": _engagement_chart(evidence), "deliveries": store.list_deliveries(alert_id=alert.id, limit=50),
        "error": error, "can_write": principal.has("alerts:write"),
    })


@router.get("/mentions", response_class=HTMLResponse)
def mention_search(
    request: Request, q: Annotated[str, Query(max_length=2000)] = "", brand: Annotated[str, Query(max_length=200)] = "",
    lang: Annotated[str, Query(max_length=10)] = "", sentiment: Annotated[str, Query(max_length=20)] = "",
    platform: Annotated[str, Query(max_length=50)] = "", cursor: Annotated[str | None, Query(max_length=1000)] = None,
    source: Annotated[str, Query(max_length=200)] = "", author: Annotated[str, Query(max_length=300)] = "",
    thread_id: Annotated[str, Query(max_length=500)] = "", since: Annotated[str, Query(max_length=40)] = "",
    until: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    principal = page_principal(request, "mentions:read")
    from monitor_api.dashboard.overview import parse_page_time

    filters = {"q": q, "brand": brand, "lang": lang, "sentiment": sentiment, "platform": platform, "source": source,
               "author": author, "thread_id": thread_id, "since": since, "until": until}
    error, page = None, None
    wait = request.app.state.search_limit.take(principal.key_id)
    try:
        if wait > 0:
            raise StoreError(f"too many searches: this key may search again in {math.ceil(wait)} s")
        # Facets and the chart come from SQL/Elasticsearch aggregations on the first page only.
        page = request.app.state.store.search_mentions(MentionQuery(
            text=q.strip() or None, brands=[brand] if brand else [], langs=[lang] if lang else [],
            sentiments=[sentiment] if sentiment else [], platforms=[platform] if platform else [],
            sources=[source] if source else [], authors=[author.lower()] if author else [], thread_id=thread_id or None,
            since=parse_page_time(since, "since") if since else None,
            until=parse_page_time(until, "until") if until else None,
            cursor=cursor, limit=50, facets=FACETS if not cursor else [], histogram="hour" if not cursor else None,
            budget_s=request.app.state.settings.api.search_budget_seconds,
        ))
    except (ValueError, StoreError) as exc:  # syntax errors name the position; bad cursors; too costly
        error, page = str(exc), None
    filters = {k: v for k, v in filters.items() if v}
    chart = Markup(stacked_bars(_hourly(page.histogram), "Mentions per hour, negative in red")) if page else Markup("")
    next_url = "/ui/mentions?" + urlencode({**filters, "cursor": page.next_cursor}) if page and page.next_cursor else None
    return _render(request, "mentions.html", {"principal": principal, "page": page, "filters": filters, "error": error,
                                              "chart": chart, "next_url": next_url,
                                              "export_url": "/ui/mentions/export.csv?" + urlencode(filters),
                                              "facet_link": lambda name, value: "/ui/mentions?" + urlencode(
                                                  {**filters, {"brands": "brand"}.get(name, name): value})})


def _hourly(buckets: list[Any], max_buckets: int = 500) -> list[tuple[Any, int, int]]:
    """Hourly buckets with the empty hours filled in, so the chart's x axis is time (newest kept)."""
    if not buckets:
        return []
    counts = {b.start: (b.count, b.negative) for b in buckets}
    start, end = min(counts), max(counts)
    hours = int((end - start).total_seconds() // 3600)
    if hours >= max_buckets:
        start = end - timedelta(hours=max_buckets - 1)
        hours = max_buckets - 1
    slots = [start + timedelta(hours=i) for i in range(hours + 1)]
    return [(t, *counts.get(t, (0, 0))) for t in slots]


@router.get("/customers/{crm_id}", response_class=HTMLResponse)
def customer_page(request: Request, crm_id: str, error: Annotated[str | None, Query(max_length=1000)] = None) -> Response:
    principal = page_principal(request, "risk:read")
    store = request.app.state.store
    customer = store.get_customer(crm_id)
    if customer is None:
        return _render(request, "error.html", {"principal": principal, "message": f"No customer {crm_id}."}, 404)
    mentions = store.search_mentions(MentionQuery(customer_id=crm_id, limit=50)).items
    alerts, _ = store.list_alerts(AlertFilter(customer_id=crm_id, limit=20))
    return _render(request, "customer.html", {"principal": principal, "customer": customer, "mentions": mentions,
                                              "links": store.get_links(crm_id=crm_id), "alerts": alerts,
                                              "flag": store.get_risk_flag(crm_id), "error": error,
                                              "can_link": principal.has("customers:write")})


@router.post("/customers/{crm_id}/links")
def decide_customer_link(
    request: Request, crm_id: str, author_key: Annotated[str, Form(max_length=300)],
    decision: Annotated[str, Form(pattern="^(confirm|reject)$")],
) -> Response:
    check_same_origin(request)
    principal = page_principal(request, "customers:write")
    from monitor_api.customers import decide_link

    target = f"/ui/customers/{crm_id}"
    try:
        decide_link(request.app.state.store, crm_id, author_key, decision == "confirm", principal.actor,
                    request.app.state.clock.now())
    except (NotFoundError, ValueError) as exc:
        target += "?" + urlencode({"error": str(exc)})
    return RedirectResponse(target, status_code=303)

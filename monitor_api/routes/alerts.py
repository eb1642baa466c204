"""The alert inbox: list and filter, one alert with evidence and deliveries, lifecycle actions,
silences, and redelivering a dead delivery."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, StringConstraints

from core.domain import Alert, AlertState, Delivery, DeliveryStatus, Mention, Severity, Silence
from core.store.port import AlertFilter
from monitor_api.deps import AlertsReader, AlertsWriter, ClockDep, StoreDep
from monitor_api.jsonbody import CleanJsonRoute
from monitor_api.params import Rfc3339
from monitor_api.problems import PROBLEM_RESPONSES, ApiProblem

router = APIRouter(tags=["alerts"], responses=PROBLEM_RESPONSES, route_class=CleanJsonRoute)


class AlertPage(BaseModel):
    items: list[Alert]
    next_cursor: str | None = None


class AlertView(BaseModel):
    """An alert with its timeline (inside ``alert``), its evidence mentions and its deliveries."""

    alert: Alert
    evidence: list[Mention] = Field(default_factory=list)
    deliveries: list[Delivery] = Field(default_factory=list)


class AlertAction(BaseModel):
    """A person's action on an alert."""

    action: Literal["acknowledge", "assign", "resolve", "reopen", "snooze", "note"]
    assignee: str | None = Field(default=None, max_length=200)
    until: Rfc3339 | None = None
    note: str | None = Field(default=None, max_length=5000)


MAX_MATCHERS = 20  # a silence names a situation, not a list of everything
MAX_LIST = 50


class SilenceIn(BaseModel):
    """Mute notifications of alerts whose labels match every matcher until ``ends_at``."""

    matchers: dict[Annotated[str, StringConstraints(max_length=100)], Annotated[str, StringConstraints(max_length=500)]] = Field(
        min_length=1, max_length=MAX_MATCHERS, description='e.g. {"brand": "Sepehr Mobile", "rule": "spike"}')
    ends_at: Rfc3339
    starts_at: Rfc3339 | None = None
    comment: str = Field(default="", max_length=2000)


@router.get("/alerts", response_model=AlertPage, summary="List alerts, most recently updated first")
def list_alerts(
    store: StoreDep,
    _: AlertsReader,
    state: Annotated[list[AlertState], Query(max_length=10)] = [],  # noqa: B006
    severity: Annotated[list[Severity], Query(max_length=10)] = [],  # noqa: B006
    brand: Annotated[list[Annotated[str, StringConstraints(max_length=200)]], Query(max_length=MAX_LIST)] = [],  # noqa: B006
    rule: str | None = None,
    customer_id: str | None = None,
    assignee: str | None = None,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    flt = AlertFilter(states=state, severities=[s.value for s in severity], brands=brand, rule=rule,
                      customer_id=customer_id, assignee=assignee, cursor=cursor, limit=limit)
    items, next_cursor = store.list_alerts(flt)
    return AlertPage(items=items, next_cursor=next_cursor)


def _alert_or_404(store: StoreDep, alert_id: str) -> Alert:
    alert = store.get_alert(alert_id)
    if alert is None:
        raise ApiProblem(404, "Not found", f"no alert with id {alert_id!r}", kind="not-found")
    return alert


@router.get("/alerts/{alert_id}", response_model=AlertView, summary="One alert with evidence and deliveries")
def get_alert(alert_id: str, store: StoreDep, _: AlertsReader) -> AlertView:
    alert = _alert_or_404(store, alert_id)
    return AlertView(alert=alert, evidence=store.get_mentions(alert.mention_ids[:200]),
                     deliveries=store.list_deliveries(alert_id=alert.id, limit=200))


@router.post("/alerts/{alert_id}/actions", response_model=Alert, summary="Acknowledge, assign, resolve, reopen, snooze or note")
def act_on_alert(alert_id: str, body: AlertAction, store: StoreDep, clock: ClockDep, principal: AlertsWriter) -> Alert:
    """Apply a lifecycle action; 409 when the alert's state does not allow it."""
    from alerts.lifecycle import apply_action

    try:
        return apply_action(store, alert_id, body.action, principal.actor, assignee=body.assignee, until=body.until,
                            note=body.note, now=clock.now())
    except ValueError as exc:
        raise ApiProblem(409, "Action not allowed", str(exc), kind="invalid-transition") from None


@router.get("/silences", response_model=list[Silence], summary="Silences (active now unless all=true)")
def list_silences(store: StoreDep, clock: ClockDep, _: AlertsReader, all: bool = False) -> list[Silence]:  # noqa: A002
    return store.list_silences(active_at=None if all else clock.now())


@router.post("/silences", response_model=Silence, status_code=201, summary="Create a silence")
def create_silence(body: SilenceIn, store: StoreDep, clock: ClockDep, principal: AlertsWriter) -> Silence:
    starts_at = body.starts_at or clock.now()
    if body.ends_at <= starts_at:
        raise ApiProblem(400, "Bad request", "ends_at must be after starts_at (or after now)", kind="bad-request")
    if any(not label.strip() or not value.strip() for label, value in body.matchers.items()):
        raise ApiProblem(400, "Bad request", "every matcher needs a label and a value", kind="bad-request")
    silence = Silence(id=f"sil-{uuid.uuid4().hex[:12]}", matchers=body.matchers, starts_at=starts_at,
                      ends_at=body.ends_at, created_by=principal.actor, comment=body.comment)
    store.add_silence(silence)
    return silence


@router.delete("/silences/{silence_id}", status_code=204, summary="Delete a silence")
def delete_silence(silence_id: str, store: StoreDep, _: AlertsWriter) -> Response:
    if not store.delete_silence(silence_id):
        raise ApiProblem(404, "Not found", f"no silence with id {silence_id!r}", kind="not-found")
    return Response(status_code=204)


@router.post("/deliveries/{delivery_id}/redeliver", response_model=Delivery, summary="Send a dead delivery again")
def redeliver(delivery_id: str, store: StoreDep, clock: ClockDep, _: AlertsWriter) -> Delivery:
    delivery = store.get_delivery(delivery_id)
    if delivery is None:
        raise ApiProblem(404, "Not found", f"no delivery with id {delivery_id!r}", kind="not-found")
    if delivery.status not in (DeliveryStatus.dead, DeliveryStatus.failed):
        raise ApiProblem(409, "Not redeliverable", f"delivery {delivery_id} is {delivery.status.value}; only dead or "
                         "failed deliveries can be sent again", kind="not-redeliverable")
    return store.redeliver(delivery_id, now=clock.now())

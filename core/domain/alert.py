"""Alerts with their lifecycle timeline, outbox deliveries and silences."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from core.domain.common import DomainModel, UtcDatetime, utcnow


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    high = "high"
    critical = "critical"


class AlertState(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    assigned = "assigned"
    snoozed = "snoozed"
    resolved = "resolved"


class AlertEvent(DomainModel):
    """One entry of an alert's timeline: created, evidence, ack, assign, note, escalated, ..."""

    at: UtcDatetime = Field(default_factory=utcnow)
    kind: str
    actor: str = "system"
    note: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Alert(DomainModel):
    """One alert per situation, grouped by ``fingerprint`` and updated as evidence grows.

    ``version`` is the optimistic-concurrency token: the store refuses an update whose
    expected version is not the stored one.
    """

    id: str
    fingerprint: str  # brand + situation (customer, campaign, thread, post, brand or term)
    rule: str  # the lead rule: the one that opened the alert or last raised its severity
    rules: list[str] = Field(default_factory=list)  # every rule that matched this situation
    brand: str | None = None
    severity: Severity
    state: AlertState = AlertState.open
    subject_kind: str  # mention, thread, campaign, customer, brand, term
    subject_id: str
    title: str
    reasons: list[str] = Field(default_factory=list)
    mention_ids: list[str] = Field(default_factory=list)
    customer_id: str | None = None
    score: float | None = None
    teams: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    assignee: str | None = None
    snoozed_until: UtcDatetime | None = None
    ack_deadline: UtcDatetime | None = None  # escalate when not acknowledged by then
    escalated: bool = False
    created_at: UtcDatetime = Field(default_factory=utcnow)
    updated_at: UtcDatetime = Field(default_factory=utcnow)
    last_notified_at: UtcDatetime | None = None
    last_evidence_at: UtcDatetime | None = None  # the last time a rule matched (calm-down clock)
    calmed_at: UtcDatetime | None = None  # set when the situation calmed down; cleared when it flares
    growth: dict[str, Any] = Field(default_factory=dict)  # figures at first alert and peak (alerts.growth)
    timeline: list[AlertEvent] = Field(default_factory=list)
    version: int = 0


class DeliveryStatus(StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by a dispatcher (lease in ``lease_until``)
    sent = "sent"
    failed = "failed"  # will be retried at ``next_attempt_at``
    dead = "dead"  # gave up; visible and redeliverable


class Delivery(DomainModel):
    """An outbox row: one notification of one alert change to one channel.

    ``id`` is stable and sent to receivers so they can de-duplicate.
    """

    id: str
    alert_id: str
    channel: str
    kind: str = "notify"  # notify, reminder, escalation, resolved
    payload: dict[str, Any] = Field(default_factory=dict)
    status: DeliveryStatus = DeliveryStatus.pending
    attempts: int = 0
    next_attempt_at: UtcDatetime = Field(default_factory=utcnow)
    lease_owner: str | None = None
    lease_until: UtcDatetime | None = None
    last_error: str | None = None
    created_at: UtcDatetime = Field(default_factory=utcnow)
    sent_at: UtcDatetime | None = None


class Silence(DomainModel):
    """Mutes notifications of alerts whose labels match every matcher until ``ends_at``."""

    id: str
    matchers: dict[str, str]  # label -> value, e.g. {"brand": "Acme", "rule": "spike"}
    starts_at: UtcDatetime = Field(default_factory=utcnow)
    ends_at: UtcDatetime
    created_by: str = "system"
    comment: str = ""

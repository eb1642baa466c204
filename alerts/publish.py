"""Write an alert change and its deliveries in one store call (the outbox pattern).

``publish_match`` folds a rule match into the alert with its fingerprint and writes it with
optimistic concurrency, re-reading and re-merging on conflict: two workers racing on one
situation end with one alert, and only the write that won carries deliveries, so nothing is
sent twice. Silences and inhibition decide whether a notifying change gets deliveries.

A situation whose key changed (a thread's author linked to a customer after the thread was
alerted) is found under its previous key (``RuleMatch.fallback_fingerprints``) while that
alert is unresolved, and moves to the new key in the same write.
"""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime

from alerts.grouping import GroupChange, merge_match
from alerts.growth import GrowthPolicy
from alerts.message import build_message
from alerts.outbox import deliveries_for
from alerts.rules.base import Rule, RuleMatch
from alerts.silences import MuteChecker
from core.config import Settings
from core.domain import Alert, AlertEvent, AlertState, Customer, Delivery, Mention, Severity
from core.store.port import ConflictError, Store

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 20


def evidence_for(store: Store, alert: Alert) -> tuple[Mention | None, Customer | None]:
    """The newest evidence mention and the linked customer, for a message about ``alert``."""
    mentions = store.get_mentions(alert.mention_ids[-1:]) if alert.mention_ids else []
    customer = store.get_customer(alert.customer_id) if alert.customer_id else None
    return (mentions[0] if mentions else None), customer


def attach_deliveries(
    store: Store, settings: Settings, alert: Alert, *, kind: str, change: str, version: int, channels: list[str],
    now: datetime, mention: Mention | None, customer: Customer | None, muter: MuteChecker | None = None,
) -> list[Delivery]:
    """Deliveries for a notifying change unless muted; records the decision on the timeline."""
    decision = (muter or MuteChecker(store, now)).decide(alert)
    if decision.kind:
        alert.timeline.append(AlertEvent(at=now, kind=decision.kind, note=decision.detail, data=decision.data or {}))
    if decision.muted or not channels:
        return []
    digested = digest_channels(settings, alert.severity, kind)
    at_once = [c for c in dict.fromkeys(channels) if c not in digested]
    later = [c for c in dict.fromkeys(channels) if c in digested]  # in the channel's next digest (alerts.calm)
    deliveries: list[Delivery] = []
    if at_once:
        payload = build_message(alert, kind, change, settings, mention, customer)
        payload["version"] = version
        deliveries = deliveries_for(alert.id, version, kind, at_once, payload, now)
    alert.last_notified_at = now
    data: dict = {"kind": kind, "channels": [d.channel for d in deliveries], "delivery_ids": [d.id for d in deliveries]}
    if later:
        data["digest_channels"] = later
    alert.timeline.append(AlertEvent(at=now, kind="notified", data=data))
    return deliveries


def digest_channels(settings: Settings, severity: Severity, kind: str) -> set[str]:
    """Channels that take a notification of ``severity`` in their digest instead of at once
    (escalations always go at once)."""
    if kind == "escalation":
        return set()
    return {name for name, ch in settings.alerts.channels.items()
            if ch.digest_minutes and severity.value in ch.digest_severities}


def write_change(
    store: Store, settings: Settings, change: GroupChange, now: datetime,
    mention: Mention | None = None, customer: Customer | None = None, muter: MuteChecker | None = None,
) -> Alert:
    """One write of ``change`` (raises ConflictError when someone else wrote first)."""
    alert = change.alert
    version = 1 if change.is_new else change.expected_version + 1
    deliveries: list[Delivery] = []
    if change.notify_kind:
        deliveries = attach_deliveries(
            store, settings, alert, kind=change.notify_kind, change=change.change, version=version,
            channels=list(change.notify_channels if change.notify_channels is not None else alert.channels), now=now, mention=mention, customer=customer, muter=muter,
        )
    if change.is_new:
        written = store.create_alert(alert, deliveries)
    else:
        written = store.update_alert(alert, expected_version=change.expected_version, deliveries=deliveries)
    if muter is not None:
        muter.note_written(written)
    return written


def find_situation_alert(store: Store, match: RuleMatch) -> Alert | None:
    """The alert of ``match``'s situation: under its key, else an unresolved one under a previous key."""
    existing = store.find_alert_by_fingerprint(match.fingerprint)
    if existing is not None and existing.state != AlertState.resolved:
        return existing
    for fingerprint in match.fallback_fingerprints:
        previous = store.find_alert_by_fingerprint(fingerprint)
        if previous is not None and previous.state != AlertState.resolved:
            return previous
    return existing


def publish_match(
    store: Store, settings: Settings, rule: Rule, match: RuleMatch, now: datetime, customer: Customer | None = None,
    muter: MuteChecker | None = None,
) -> Alert | None:
    """Create or update the alert of ``match``'s situation; None when the match adds nothing."""
    for attempt in range(CONFLICT_RETRIES):
        if attempt:
            time.sleep(random.uniform(0, 0.005 * attempt))  # jitter: racing workers stop colliding in lockstep
        existing = find_situation_alert(store, match)
        change = merge_match(existing, match, rule, now, GrowthPolicy.from_settings(settings))
        if change is None:
            return None
        try:
            return write_change(store, settings, change, now, match.mention, customer, muter)
        except ConflictError:
            log.debug("alert %s changed under us; re-merging", match.fingerprint)
    raise ConflictError(f"alert {match.fingerprint} kept changing; gave up after {CONFLICT_RETRIES} tries")

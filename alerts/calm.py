"""A situation that calms down, and digests of the small stuff.

**Calm down.** An active alert (open, acknowledged or assigned) that no rule matched for
``alerts.calm_after_minutes`` (its velocity or risk stayed under every threshold) has calmed
down: one "calmed down" notification goes to the channels that heard of it, and with
``alerts.auto_resolve`` it is resolved in the same write. Fresh evidence afterwards re-notifies
as "flared" (or reopens it, when it was resolved; see ``alerts.grouping``).

**Digests.** A channel with ``digest_minutes`` gets its ``digest_severities`` (default info and
warning) notifications as one summary per period instead of one message each; higher
severities still go at once. The summary is a normal outbox delivery (stable id from the
channel and period) written with the newest alert of the period, so it is sent, retried and
de-duplicated like any other, and renders through every notifier's usual message.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from alerts.grouping import copy_alert
from alerts.message import dashboard_link
from alerts.outbox import delivery_id
from alerts.publish import attach_deliveries, evidence_for
from alerts.rules.base import severity_rank
from core.config import Settings
from core.domain import Alert, AlertEvent, AlertState, Delivery
from core.store.port import AlertFilter, ConflictError, Store

log = logging.getLogger(__name__)

CALMABLE = [AlertState.open, AlertState.acknowledged, AlertState.assigned]
DIGEST_CHECKPOINT = "alerts:digest:"
MAX_SCAN = 2000  # alerts looked at per sweep
MAX_DIGEST_LINES = 20


def notified_channels(alert: Alert) -> list[str]:
    """Every channel that was told about ``alert`` (at once or in a digest)."""
    channels: list[str] = []
    for event in alert.timeline:
        if event.kind == "notified":
            channels += list(event.data.get("channels") or []) + list(event.data.get("digest_channels") or [])
    return list(dict.fromkeys(channels))


def _alerts(store: Store, flt: AlertFilter, stop_before: datetime | None = None):  # noqa: ANN202 - iterator
    """Alerts matching ``flt``, newest updated first, paging up to MAX_SCAN (or to ``stop_before``)."""
    seen = 0
    cursor = None
    while seen < MAX_SCAN:
        page, cursor = store.list_alerts(flt.model_copy(update={"cursor": cursor, "limit": 200}))
        for alert in page:
            if stop_before is not None and alert.updated_at < stop_before:
                return
            seen += 1
            yield alert
        if cursor is None:
            return


def calm_down(store: Store, settings: Settings, now: datetime) -> int:
    """Notify (and optionally resolve) every active alert quiet for ``calm_after_minutes``; returns how many."""
    quiet = timedelta(minutes=settings.alerts.calm_after_minutes)
    calmed = 0
    for alert in list(_alerts(store, AlertFilter(states=CALMABLE))):
        last = alert.last_evidence_at or alert.updated_at
        if alert.calmed_at is not None or now - last < quiet:
            continue
        changed = copy_alert(alert)
        changed.calmed_at, changed.updated_at = now, now
        minutes = round((now - last).total_seconds() / 60)
        resolve = settings.alerts.auto_resolve
        changed.timeline.append(AlertEvent(at=now, kind="calmed", data={"quiet_minutes": minutes, "resolved": resolve}))
        if resolve:
            changed.state, changed.snoozed_until = AlertState.resolved, None
            changed.timeline.append(AlertEvent(at=now, kind="resolve", actor="brandguard", note="calmed down",
                                               data={"from": alert.state.value, "to": "resolved"}))
        mention, customer = evidence_for(store, alert)
        deliveries = attach_deliveries(
            store, settings, changed, kind="calmed", change="calmed", version=alert.version + 1,
            channels=notified_channels(alert), now=now, mention=mention, customer=customer,
        )
        try:
            store.update_alert(changed, expected_version=alert.version, deliveries=deliveries)
            calmed += 1
        except ConflictError:
            continue  # it moved meanwhile (new evidence, a person): the next sweep looks again
    return calmed


def _digest_payload(settings: Settings, channel: str, since: datetime, now: datetime,
                    items: list[tuple[Alert, list[str]]]) -> dict[str, Any]:
    top = max((a.severity for a, _ in items), key=severity_rank)
    minutes = round((now - since).total_seconds() / 60)
    lines = [f"[{a.severity.value}] {a.title} — {', '.join(dict.fromkeys(changes))}, {len(a.mention_ids)} mention(s): "
             f"{dashboard_link(settings, a.id)}" for a, changes in items[:MAX_DIGEST_LINES]]
    if len(items) > MAX_DIGEST_LINES:
        lines.append(f"… and {len(items) - MAX_DIGEST_LINES} more")
    newest = items[0][0]
    brands = {a.brand for a, _ in items}
    return {
        "event": "digest", "change": "digest", "headline": f"Digest of the last {minutes} min",
        "alert_id": newest.id, "rule": "digest", "brand": brands.pop() if len(brands) == 1 else None,
        "severity": top.value, "state": "open", "title": f"{len(items)} alert(s) for {channel}",
        "reasons": lines, "subject": {"kind": "digest", "id": channel},
        "mention_count": sum(len(a.mention_ids) for a, _ in items), "score": None, "teams": [],
        "dashboard_url": f"{settings.alerts.dashboard_url.rstrip('/')}/alerts",
        "version": newest.version, "updated_at": now.isoformat(),
        "alerts": [{"id": a.id, "severity": a.severity.value, "title": a.title, "changes": changes}
                   for a, changes in items[:MAX_DIGEST_LINES]],
    }


def send_digests(store: Store, settings: Settings, now: datetime) -> int:
    """One summary delivery per digest channel whose period ended; returns how many were written."""
    written = 0
    for channel, config in settings.alerts.channels.items():
        if not config.digest_minutes:
            continue
        raw = store.get_checkpoint(DIGEST_CHECKPOINT + channel)
        if raw is None:
            store.set_checkpoint(DIGEST_CHECKPOINT + channel, now.isoformat())  # the first period starts now
            continue
        since = datetime.fromisoformat(raw)
        if now - since < timedelta(minutes=config.digest_minutes):
            continue
        store.set_checkpoint(DIGEST_CHECKPOINT + channel, now.isoformat())  # first: a second worker skips
        items = []
        for alert in _alerts(store, AlertFilter(), stop_before=since):
            changes = [e.data.get("kind", "notify") for e in alert.timeline
                       if e.kind == "notified" and since <= e.at < now and channel in (e.data.get("digest_channels") or [])]
            if changes:
                items.append((alert, changes))
        if items and _write_digest(store, settings, channel, since, now, items):
            written += 1
    return written


def _write_digest(store: Store, settings: Settings, channel: str, since: datetime, now: datetime,
                  items: list[tuple[Alert, list[str]]]) -> bool:
    payload = _digest_payload(settings, channel, since, now, items)
    carrier_id = items[0][0].id
    digest_id = delivery_id(f"digest:{channel}", int(since.timestamp()), "digest", channel)
    for _ in range(5):
        carrier = store.get_alert(carrier_id)
        if carrier is None:
            return False
        changed = copy_alert(carrier)
        changed.timeline.append(AlertEvent(at=now, kind="digest", data={
            "channel": channel, "delivery_id": digest_id, "alert_ids": [a.id for a, _ in items[:50]]}))
        delivery = Delivery(id=digest_id, alert_id=carrier_id, channel=channel, kind="digest", payload=payload,
                            next_attempt_at=now, created_at=now)
        try:
            store.update_alert(changed, expected_version=carrier.version, deliveries=[delivery])
            return True
        except ConflictError:
            continue
    log.warning("digest for %s: alert %s kept changing; the digest is skipped", channel, carrier_id)
    return False

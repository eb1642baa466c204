"""Escalation: an alert nobody acknowledged by its ``ack_deadline`` goes to the escalation route.

Each alert is escalated once: the ``escalated`` flag is set in the same optimistic write that
carries the escalation deliveries, so two workers cannot both escalate it. Two other timed
sweeps live here: reminders for alerts still open after their rule's ``repeat_minutes``, and
waking snoozed alerts whose snooze ended (they notify again and get a fresh ack deadline).
"""

from __future__ import annotations

import logging
from datetime import datetime

from alerts.grouping import GroupChange, ack_deadline_for, copy_alert, reminder_change
from alerts.publish import attach_deliveries, evidence_for, write_change
from alerts.rules.base import Rule
from core.config import Settings
from core.domain import AlertEvent, AlertState
from core.store.port import AlertFilter, ConflictError, Store

log = logging.getLogger(__name__)


def escalate_due(store: Store, settings: Settings, now: datetime, limit: int = 100) -> int:
    """Escalate every overdue unacknowledged alert; returns how many were escalated."""
    escalated = 0
    channels = list(settings.alerts.escalation_channels)
    for alert in store.alerts_due_for_escalation(now, limit=limit):
        if alert.state != AlertState.open or alert.escalated:
            continue
        changed = copy_alert(alert)
        changed.escalated = True
        changed.updated_at = now
        overdue = (now - alert.ack_deadline).total_seconds() / 60 if alert.ack_deadline else 0
        changed.timeline.append(AlertEvent(at=now, kind="escalated", data={
            "channels": channels, "ack_deadline": alert.ack_deadline.isoformat() if alert.ack_deadline else None,
            "overdue_minutes": round(overdue, 1)}))
        mention, customer = evidence_for(store, alert)
        deliveries = attach_deliveries(
            store, settings, changed, kind="escalation", change="escalation", version=alert.version + 1,
            channels=channels, now=now, mention=mention, customer=customer,
        )
        try:
            store.update_alert(changed, expected_version=alert.version, deliveries=deliveries)
            escalated += 1
        except ConflictError:
            log.info("alert %s changed while escalating; the next sweep looks again", alert.id)
    return escalated


def send_reminders(store: Store, settings: Settings, rules: list[Rule], now: datetime) -> int:
    """Re-notify alerts still open after their rule's ``repeat_minutes``; returns how many."""
    sent = 0
    for rule in rules:
        if rule.common.repeat_minutes is None:
            continue
        alerts, _ = store.list_alerts(AlertFilter(states=[AlertState.open], rule=rule.name, limit=200))
        for alert in alerts:
            change: GroupChange | None = reminder_change(alert, rule, now)
            if change is None:
                continue
            mention, customer = evidence_for(store, alert)
            try:
                write_change(store, settings, change, now, mention, customer)
                sent += 1
            except ConflictError:
                continue  # another worker reminded, or the alert moved on
    return sent


def wake_snoozed(store: Store, settings: Settings, rules: list[Rule], now: datetime) -> int:
    """Reopen snoozed alerts whose ``snoozed_until`` passed and notify their channels again."""
    by_name = {r.name: r for r in rules}
    woken = 0
    snoozed, _ = store.list_alerts(AlertFilter(states=[AlertState.snoozed], limit=200))
    for alert in snoozed:
        if alert.snoozed_until is None or alert.snoozed_until > now:
            continue
        changed = copy_alert(alert)
        changed.state, changed.snoozed_until, changed.updated_at = AlertState.open, None, now
        rule = by_name.get(alert.rule)
        if rule is not None and not alert.escalated:
            changed.ack_deadline = ack_deadline_for(rule, alert.severity, now)
        changed.timeline.append(AlertEvent(at=now, kind="snooze_ended"))
        change = GroupChange(changed, False, alert.version, "reminder", "snooze_ended")
        mention, customer = evidence_for(store, alert)
        try:
            write_change(store, settings, change, now, mention, customer)
            woken += 1
        except ConflictError:
            continue  # someone acted on it meanwhile; the next sweep looks again
    return woken

"""Silences (matchers + expiry) and inhibition (a critical alert mutes its related warnings).

A silence mutes notifications of alerts whose labels match every matcher (``fnmatch``
wildcards allowed) between ``starts_at`` and ``ends_at``. The alert itself is still created
and updated — only its deliveries are held back — and its timeline says which silence muted it.

**When the silence store cannot be read we notify.** A silence is a convenience; missing a
real incident is the failure we fear most (ElastAlert's silences failed open the other
way). The worker logs the error and writes a ``silence_check_failed`` event on the alert.
Inhibition lookups fail the same way: towards notifying.

Inhibition: a ``warning`` or ``info`` alert is muted while an unresolved ``critical`` alert of
the same brand is related to it: same customer, same subject, or shared evidence mentions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from core.domain import Alert, AlertState, Severity, Silence
from core.store.port import AlertFilter, AlertStore

log = logging.getLogger(__name__)

INHIBITED_SEVERITIES = (Severity.warning, Severity.info)
UNRESOLVED = [AlertState.open, AlertState.acknowledged, AlertState.assigned, AlertState.snoozed]


@dataclass
class MuteDecision:
    """Whether to hold back an alert's notifications, and why (for the timeline)."""

    muted: bool
    kind: str | None = None  # silenced, inhibited, silence_check_failed
    detail: str = ""
    data: dict | None = None


def alert_labels(alert: Alert) -> dict[str, str]:
    """The labels silence matchers are compared with."""
    labels = {
        "rule": alert.rule, "brand": alert.brand or "", "severity": alert.severity.value,
        "subject_kind": alert.subject_kind, "subject_id": alert.subject_id,
        "customer_id": alert.customer_id or "", "team": ",".join(alert.teams),
    }
    return labels


def silence_matches(silence: Silence, alert: Alert, now: datetime) -> bool:
    if not (silence.starts_at <= now < silence.ends_at):
        return False
    labels = alert_labels(alert)
    return all(fnmatchcase(labels.get(key, ""), pattern) for key, pattern in silence.matchers.items())


def related(critical: Alert, alert: Alert) -> bool:
    """Same brand and the same customer, the same subject, or shared evidence."""
    if critical.id == alert.id or critical.brand != alert.brand:
        return False
    if alert.customer_id and alert.customer_id == critical.customer_id:
        return True
    if (alert.subject_kind, alert.subject_id) == (critical.subject_kind, critical.subject_id):
        return True
    return bool(set(alert.mention_ids) & set(critical.mention_ids))


def mute_decision(store: AlertStore, alert: Alert, now: datetime) -> MuteDecision:
    """Silenced? Inhibited? Any read failure decides for notifying (see module docstring)."""
    try:
        silences = store.list_silences(active_at=now)
    except Exception as exc:  # noqa: BLE001 - any failure of the silence store: notify anyway
        log.error("silences could not be read (%s); notifying alert %s anyway", exc, alert.id)
        return MuteDecision(False, "silence_check_failed", f"silences could not be read: {type(exc).__name__}: {exc}")
    for silence in silences:
        if silence_matches(silence, alert, now):
            return MuteDecision(True, "silenced", silence.comment or f"silence {silence.id}", {"silence_id": silence.id})
    if alert.severity not in INHIBITED_SEVERITIES:
        return MuteDecision(False)
    try:
        criticals, _ = store.list_alerts(AlertFilter(states=UNRESOLVED, severities=[Severity.critical.value],
                                                     brands=[alert.brand] if alert.brand else [], limit=200))
    except Exception as exc:  # noqa: BLE001
        log.error("inhibition check failed (%s); notifying alert %s anyway", exc, alert.id)
        return MuteDecision(False, "silence_check_failed", f"inhibition check failed: {type(exc).__name__}: {exc}")
    for critical in criticals:
        if related(critical, alert):
            return MuteDecision(True, "inhibited", f"muted by critical alert {critical.id}", {"by": critical.id})
    return MuteDecision(False)

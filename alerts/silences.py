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

The worker reads silences and critical alerts once per batch (:class:`MuteChecker`), so a
silence created mid-batch applies from the next batch (a second or so later).
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


class MuteChecker:
    """Decides for many alerts with one read of the silences and one of the unresolved critical
    alerts (the worker keeps one per batch, so the checks cost two queries, not two per alert).
    Alerts written meanwhile are fed back with ``note_written`` so inhibition stays current."""

    def __init__(self, store: AlertStore, now: datetime) -> None:
        self.store, self.now = store, now
        self._silences: list[Silence] | None = None
        self._silence_error: str | None = None
        self._criticals: dict[str, Alert] | None = None
        self._critical_error: str | None = None

    def _load_silences(self) -> None:
        if self._silences is not None or self._silence_error is not None:
            return
        try:
            self._silences = self.store.list_silences(active_at=self.now)
        except Exception as exc:  # noqa: BLE001 - any failure of the silence store: notify anyway
            log.error("silences could not be read (%s); notifying anyway", exc)
            self._silence_error = f"silences could not be read: {type(exc).__name__}: {exc}"

    def _load_criticals(self) -> None:
        if self._criticals is not None or self._critical_error is not None:
            return
        try:
            found, _ = self.store.list_alerts(AlertFilter(states=UNRESOLVED, severities=[Severity.critical.value], limit=500))
            self._criticals = {a.id: a for a in found}
        except Exception as exc:  # noqa: BLE001
            log.error("inhibition check failed (%s); notifying anyway", exc)
            self._critical_error = f"inhibition check failed: {type(exc).__name__}: {exc}"

    def note_written(self, alert: Alert) -> None:
        """Keep the critical-alert view current after this worker wrote ``alert``."""
        if self._criticals is None:
            return
        if alert.severity == Severity.critical and alert.state in UNRESOLVED:
            self._criticals[alert.id] = alert
        else:
            self._criticals.pop(alert.id, None)

    def decide(self, alert: Alert) -> MuteDecision:
        """Silenced? Inhibited? Any read failure decides for notifying (see module docstring)."""
        self._load_silences()
        if self._silence_error is not None:
            return MuteDecision(False, "silence_check_failed", self._silence_error)
        for silence in self._silences or []:
            if silence_matches(silence, alert, self.now):
                return MuteDecision(True, "silenced", silence.comment or f"silence {silence.id}", {"silence_id": silence.id})
        if alert.severity not in INHIBITED_SEVERITIES:
            return MuteDecision(False)
        self._load_criticals()
        if self._critical_error is not None:
            return MuteDecision(False, "silence_check_failed", self._critical_error)
        for critical in (self._criticals or {}).values():
            if related(critical, alert):
                return MuteDecision(True, "inhibited", f"muted by critical alert {critical.id}", {"by": critical.id})
        return MuteDecision(False)


def mute_decision(store: AlertStore, alert: Alert, now: datetime) -> MuteDecision:
    """Silenced? Inhibited? (one-off check; see :class:`MuteChecker`)."""
    return MuteChecker(store, now).decide(alert)

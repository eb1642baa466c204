"""One alert per situation: merge a rule match into the alert with the same fingerprint.

``merge_match`` is pure: given the stored alert (or none) and a new match it returns the
alert's next state and whether to notify, or ``None`` when the match adds nothing (the same
mention seen again after a restart, a second worker's duplicate). The worker writes the
result with optimistic concurrency and re-merges on conflict.

Notify on: a new alert, a reopened one, a severity raise (re-notify on escalation), a snooze
broken by a severity raise, and a reminder when ``repeat_minutes`` passed while still open.
New evidence alone updates the alert silently (no N messages for N mentions).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from alerts.rules.base import Rule, RuleMatch, severity_rank
from core.domain import Alert, AlertEvent, AlertState, Severity

MAX_MENTION_IDS = 1000  # evidence kept on the alert; the count goes on in the timeline
MAX_REASONS = 20
EVIDENCE_COALESCE = timedelta(minutes=5)  # evidence arriving this close together is one timeline entry
DEFAULT_ACK_SLA_MINUTES = {Severity.critical: 15, Severity.high: 30, Severity.warning: 120, Severity.info: None}
ACTIVE_STATES = (AlertState.open, AlertState.acknowledged, AlertState.assigned, AlertState.snoozed)


@dataclass
class GroupChange:
    """The next state of an alert and how to write and announce it."""

    alert: Alert
    is_new: bool
    expected_version: int  # 0 for a new alert
    notify_kind: str | None  # "notify", "reminder" or None (silent update)
    change: str  # created, reopened, severity_raised, evidence, reminder


def alert_id_for(fingerprint: str, now: datetime) -> str:
    """A readable, deterministic id: the fingerprint's hash and the opening second."""
    digest = hashlib.blake2b(fingerprint.encode(), digest_size=6).hexdigest()
    return f"al-{digest}-{int(now.timestamp())}"


def ack_deadline_for(rule: Rule, severity: Severity, now: datetime) -> datetime | None:
    minutes = rule.common.ack_sla_minutes or DEFAULT_ACK_SLA_MINUTES[severity]
    return None if minutes is None else now + timedelta(minutes=minutes)


def copy_alert(alert: Alert) -> Alert:
    """A copy safe to change: new lists, shared (never mutated) events. Much cheaper than a deep
    copy once the timeline holds hundreds of events."""
    return alert.model_copy(update={
        "mention_ids": list(alert.mention_ids), "reasons": list(alert.reasons), "timeline": list(alert.timeline),
        "teams": list(alert.teams), "channels": list(alert.channels),
    })


def _merge_unique(old: list[str], new: list[str], cap: int) -> list[str]:
    seen = set(old)
    merged = list(old)
    for item in new:
        if item not in seen:
            seen.add(item)
            merged.append(item)
    return merged[-cap:]


def combine_matches(matches: list[RuleMatch]) -> RuleMatch:
    """One match out of several of the same fingerprint (one batch of mentions on one thread):
    all their evidence, the highest severity, the newest reasons and mention first."""
    if len(matches) == 1:
        return matches[0]
    top = max(matches, key=lambda m: severity_rank(m.severity))
    newest = max(matches, key=lambda m: m.mention.published_at if m.mention is not None else datetime.min.replace(tzinfo=timezone.utc))
    ids: list[str] = []
    reasons: list[str] = []
    for m in matches:
        ids = _merge_unique(ids, m.mention_ids, MAX_MENTION_IDS)
    for m in reversed(matches):
        reasons = _merge_unique(reasons, m.reasons, MAX_REASONS * 2)
    scores = [m.score for m in matches if m.score is not None]
    return replace(
        top, mention_ids=ids, reasons=reasons[:MAX_REASONS], mention=newest.mention, score=max(scores) if scores else None,
        customer_id=next((m.customer_id for m in matches if m.customer_id), None), facts={**top.facts, **matches[-1].facts},
    )


def _add_evidence(alert: Alert, fresh_ids: list[str], now: datetime) -> None:
    """Attach ``fresh_ids`` and note them on the timeline, folding into a recent evidence entry
    so a thread with thousands of replies keeps a readable timeline."""
    alert.mention_ids = _merge_unique(alert.mention_ids, fresh_ids, MAX_MENTION_IDS)
    last = alert.timeline[-1] if alert.timeline else None
    if last is not None and last.kind == "evidence" and now - last.at <= EVIDENCE_COALESCE:
        data = dict(last.data)
        data["mention_ids"] = (list(data.get("mention_ids", [])) + fresh_ids)[:50]
        data["count"] = int(data.get("count", 0)) + len(fresh_ids)
        alert.timeline[-1] = last.model_copy(update={"data": data, "at": now})
    else:
        alert.timeline.append(AlertEvent(at=now, kind="evidence", data={"mention_ids": fresh_ids[:50], "count": len(fresh_ids)}))


def new_alert(match: RuleMatch, rule: Rule, now: datetime) -> Alert:
    """The first alert of a situation."""
    return Alert(
        id=alert_id_for(match.fingerprint, now), fingerprint=match.fingerprint, rule=match.rule, brand=match.brand,
        severity=match.severity, subject_kind=match.subject_kind, subject_id=match.subject_id, title=match.title,
        reasons=match.reasons[:MAX_REASONS], mention_ids=match.mention_ids[-MAX_MENTION_IDS:],
        customer_id=match.customer_id, score=match.score, teams=[rule.common.team] if rule.common.team else [],
        channels=list(rule.common.channels), ack_deadline=ack_deadline_for(rule, match.severity, now),
        created_at=now, updated_at=now,
        timeline=[AlertEvent(at=now, kind="created", data={"mention_ids": match.mention_ids[:50], "severity": match.severity.value})],
    )


def merge_match(existing: Alert | None, match: RuleMatch, rule: Rule, now: datetime) -> GroupChange | None:
    """Fold ``match`` into ``existing`` (same fingerprint); see the module docstring."""
    if existing is None or (
        existing.state == AlertState.resolved
        and now - existing.updated_at > timedelta(hours=rule.common.reopen_within_hours)
    ):
        return GroupChange(new_alert(match, rule, now), True, 0, "notify", "created")

    alert = copy_alert(existing)
    fresh_ids = [i for i in match.mention_ids if i not in set(alert.mention_ids)]
    raised = severity_rank(match.severity) > severity_rank(alert.severity)
    events: list[AlertEvent] = []
    notify: str | None = None
    change = "evidence"

    if alert.state == AlertState.resolved:
        if not fresh_ids and not raised:
            return None  # the evidence that was resolved, seen again
        alert.state = AlertState.open
        alert.escalated = False
        alert.ack_deadline = ack_deadline_for(rule, max(match.severity, alert.severity, key=severity_rank), now)
        events.append(AlertEvent(at=now, kind="reopened", data={"mention_ids": fresh_ids[:50]}))
        notify, change = "notify", "reopened"
    elif alert.state == AlertState.snoozed and alert.snoozed_until is not None and alert.snoozed_until <= now:
        alert.state, alert.snoozed_until = AlertState.open, None
        events.append(AlertEvent(at=now, kind="snooze_ended"))
        if fresh_ids or raised:
            notify, change = "notify", "snooze_ended"
    elif not fresh_ids and not raised:
        return _reminder(alert, rule, now)

    if raised:
        events.append(AlertEvent(at=now, kind="severity_raised", data={"from": alert.severity.value, "to": match.severity.value}))
        alert.severity = match.severity
        if alert.state == AlertState.snoozed:
            alert.state, alert.snoozed_until = AlertState.open, None
            events.append(AlertEvent(at=now, kind="snooze_broken", note="severity raised"))
        if alert.state == AlertState.open and not alert.escalated:
            alert.ack_deadline = ack_deadline_for(rule, match.severity, now)
        notify, change = "notify", ("severity_raised" if change == "evidence" else change)
    alert.timeline.extend(events)
    events = []
    if fresh_ids:
        _add_evidence(alert, fresh_ids, now)
    newest_first = _merge_unique(match.reasons, alert.reasons, len(match.reasons) + len(alert.reasons))
    alert.reasons = newest_first[:MAX_REASONS]
    alert.title = match.title
    if match.score is not None:
        alert.score = max(alert.score or 0.0, match.score)
    alert.customer_id = alert.customer_id or match.customer_id
    if notify is None and _reminder_due(alert, rule, now):
        notify, change = "reminder", "evidence"
        events.append(AlertEvent(at=now, kind="reminder"))
    alert.timeline.extend(events)
    alert.updated_at = now
    return GroupChange(alert, False, existing.version, notify, change)


def _reminder_due(alert: Alert, rule: Rule, now: datetime) -> bool:
    if rule.common.repeat_minutes is None or alert.state != AlertState.open:
        return False
    last = alert.last_notified_at or alert.created_at
    return now - last >= timedelta(minutes=rule.common.repeat_minutes)


def _reminder(alert: Alert, rule: Rule, now: datetime) -> GroupChange | None:
    if not _reminder_due(alert, rule, now):
        return None
    version = alert.version
    alert.timeline.append(AlertEvent(at=now, kind="reminder"))
    alert.updated_at = now
    return GroupChange(alert, False, version, "reminder", "reminder")


def reminder_change(alert: Alert, rule: Rule, now: datetime) -> GroupChange | None:
    """A reminder for an alert still open after ``repeat_minutes`` with nothing new (periodic sweep)."""
    return _reminder(copy_alert(alert), rule, now)

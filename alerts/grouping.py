"""One alert per situation: merge a rule match into the alert with the same fingerprint.

The fingerprint names the situation (brand + customer, campaign, thread, post, brand or
term; see ``alerts.situation``), not the rule: every rule that matches a situation adds its
reasons and evidence to the one alert (``Alert.rules``). A rule joining an alert notifies
only the channels that have not heard of it yet; everyone else hears again only when the
severity rises — from a rule, or from growth (``alerts.growth``).

``merge_match`` is pure: given the stored alert (or none) and a new match it returns the
alert's next state and whether to notify, or ``None`` when the match adds nothing (the same
mention seen again after a restart, a second worker's duplicate). The worker writes the
result with optimistic concurrency and re-merges on conflict.

Notify on: a new alert, a reopened one, a severity raise (re-notify on escalation), a snooze
broken by a severity raise, and a reminder when ``repeat_minutes`` passed while still open.
New evidence alone updates the alert silently (no N messages for N mentions).

Reasons and score follow the *current* evidence. Each piece of evidence (a mention for
customer and mention alerts, the subject itself for thread, campaign, brand and term
alerts, whose matches describe the whole subject) keeps its latest score and reasons in
the timeline entry that recorded it (``data["scores"]`` / ``data["reasons"]``). On every
merge the alert's score is the highest current score and its reasons are the pieces'
reasons, riskiest first, so a re-scored post replaces its own "shares +7/h" with
"shares +598/h" instead of keeping both. A merge that changes only score or reasons (the
same post re-crawled) is a silent ``updated`` timeline entry; each merge adds at most one
evidence/updated entry (entries within ``EVIDENCE_COALESCE`` fold together). Severity
still only rises, and notifications still go out only as listed above.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from alerts.growth import GrowthPolicy, level_of, severity_with_growth, track, with_growth_reason
from alerts.rules.base import Rule, RuleMatch, severity_rank
from core.domain import Alert, AlertEvent, AlertState, Severity

MAX_MENTION_IDS = 1000  # evidence kept on the alert; the count goes on in the timeline
MAX_REASONS = 20
MAX_TRACKED_EVIDENCE = 50  # pieces of evidence whose score and reasons one timeline entry keeps
SUBJECT_LEVEL = ("thread", "campaign", "brand", "term")  # matches that describe the whole subject
EVIDENCE_COALESCE = timedelta(minutes=5)  # evidence arriving this close together is one timeline entry
DEFAULT_ACK_SLA_MINUTES = {Severity.critical: 15, Severity.high: 30, Severity.warning: 120, Severity.info: None}
ACTIVE_STATES = (AlertState.open, AlertState.acknowledged, AlertState.assigned, AlertState.snoozed)
PIECE_RULE_SEP = "\u241f"  # evidence piece keys are "<mention id or subject>␟<rule>"


@dataclass
class GroupChange:
    """The next state of an alert and how to write and announce it."""

    alert: Alert
    is_new: bool
    expected_version: int  # 0 for a new alert
    notify_kind: str | None  # "notify", "reminder" or None (silent update)
    change: str  # created, reopened, severity_raised, joined, flared, evidence, reminder
    notify_channels: list[str] | None = None  # None: every channel of the alert


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
        "teams": list(alert.teams), "channels": list(alert.channels), "rules": list(alert.rules),
        "growth": dict(alert.growth),
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
    evidence: dict[str, tuple[float | None, list[str]]] = {}
    growth: dict[str, float] = {}
    for m in matches:  # later matches (newer evidence) win for the same piece
        evidence.update(evidence_of(m))
        for name, value in m.growth.items():
            growth[name] = max(value, growth.get(name, value))
    return replace(
        top, mention_ids=ids, reasons=reasons[:MAX_REASONS], mention=newest.mention, score=max(scores) if scores else None,
        customer_id=next((m.customer_id for m in matches if m.customer_id), None), facts={**top.facts, **matches[-1].facts},
        evidence=evidence, growth=growth,
    )


def evidence_of(match: RuleMatch) -> dict[str, tuple[float | None, list[str]]]:
    """``{piece: (score, reasons)}`` of a match: per mention, or one piece for a subject-level match;
    each rule's pieces are its own (two rules quoting one post keep both their reasons)."""
    if match.evidence:
        return dict(match.evidence)
    if match.subject_kind in SUBJECT_LEVEL:
        key = f"{match.subject_kind}:{match.subject_id}"
    else:
        key = match.mention.id if match.mention is not None else (match.mention_ids[-1] if match.mention_ids else None)
    return {f"{key}{PIECE_RULE_SEP}{match.rule}": (match.score, list(match.reasons))} if key else {}


def piece_mention_id(key: str) -> str:
    """The mention id (or subject) an evidence piece key names."""
    return key.split(PIECE_RULE_SEP, 1)[0]


def _evidence_data(pieces: dict[str, tuple[float | None, list[str]]]) -> dict[str, dict]:
    """Timeline data for ``pieces``: their scores and reasons (the riskiest ``MAX_TRACKED_EVIDENCE``)."""
    kept = sorted(pieces.items(), key=lambda kv: -(kv[1][0] or 0.0))[:MAX_TRACKED_EVIDENCE]
    return {"scores": {k: s for k, (s, _) in kept if s is not None},
            "reasons": {k: list(r[:MAX_REASONS]) for k, (_, r) in kept}}


def current_evidence(timeline: list[AlertEvent]) -> tuple[dict[str, float], dict[str, list[str]]]:
    """The latest recorded score and reasons of each piece of evidence on an alert's timeline."""
    scores: dict[str, float] = {}
    reasons: dict[str, list[str]] = {}
    for event in timeline:
        scores.update(event.data.get("scores") or {})
        reasons.update(event.data.get("reasons") or {})
    return scores, reasons


def _shape(reason: str) -> str:
    return re.sub(r"\d[\d.,]*", "#", reason)


def refreshed_reasons(old: list[str], new: list[str]) -> list[str]:
    """``new`` first, then the old reasons a new one does not replace ('shares +598/h' replaces
    'shares +7/h': the same words with other figures)."""
    shapes = {_shape(r) for r in new}
    out = list(dict.fromkeys(new))
    out += [r for r in old if r not in out and _shape(r) not in shapes]
    return out[:MAX_REASONS]


def _refresh(alert: Alert, match: RuleMatch, legacy: bool) -> None:
    """Set the alert's score and reasons from its current evidence (see the module docstring).

    ``legacy``: the alert was written before evidence was tracked, so what it shows is kept
    where the new evidence does not replace it."""
    scores, reasons = current_evidence(alert.timeline)  # includes this merge's evidence once recorded
    if reasons and not legacy:
        order = sorted(reasons, key=lambda k: -scores.get(k, 0.0))
        merged: list[str] = []
        for key in order:
            merged = _merge_unique(merged, reasons[key], MAX_REASONS * 4)
        alert.reasons = merged[:MAX_REASONS]
    else:
        alert.reasons = refreshed_reasons(alert.reasons, match.reasons)
    if scores and not legacy:
        alert.score = max(scores.values())
    elif match.score is not None:
        alert.score = match.score if not legacy else max(alert.score or 0.0, match.score)


def _record(alert: Alert, kind: str, ids: list[str], pieces: dict[str, tuple[float | None, list[str]]],
            now: datetime) -> None:
    """Note new (``evidence``) or re-scored (``updated``) evidence on the timeline with its scores
    and reasons, folding into a recent entry of the same kind so a thread with thousands of
    replies keeps a readable timeline."""
    tracked = _evidence_data(pieces)
    last = alert.timeline[-1] if alert.timeline else None
    if last is not None and last.kind == kind and now - last.at <= EVIDENCE_COALESCE:
        data = dict(last.data)
        data["mention_ids"] = _merge_unique(list(data.get("mention_ids", [])), ids, 50)[:50]
        data["count"] = int(data.get("count", 0)) + len(ids)
        olds = {k: (v, (data.get("reasons") or {}).get(k, [])) for k, v in (data.get("scores") or {}).items()}
        folded = _evidence_data({**olds, **{k: (tracked["scores"].get(k), r) for k, r in tracked["reasons"].items()}})
        data["scores"], data["reasons"] = folded["scores"], folded["reasons"]
        alert.timeline[-1] = last.model_copy(update={"data": data, "at": now})
    else:
        data = {"mention_ids": ids[:50], "count": len(ids), **tracked}
        alert.timeline.append(AlertEvent(at=now, kind=kind, data=data))


def _add_evidence(alert: Alert, fresh_ids: list[str], now: datetime,
                  pieces: dict[str, tuple[float | None, list[str]]] | None = None) -> None:
    """Attach ``fresh_ids`` and note them (with the evidence's scores and reasons) on the timeline."""
    alert.mention_ids = _merge_unique(alert.mention_ids, fresh_ids, MAX_MENTION_IDS)
    _record(alert, "evidence", fresh_ids, pieces or {}, now)


def new_alert(match: RuleMatch, rule: Rule, now: datetime, policy: GrowthPolicy | None = None) -> Alert:
    """The first alert of a situation."""
    kind, ident = match.situation
    growth = track({"rule_severity": match.severity.value}, match.growth)
    level, growth_reason = level_of(growth, policy or GrowthPolicy())
    severity = severity_with_growth(match.severity, level)
    return Alert(
        id=alert_id_for(match.fingerprint, now), fingerprint=match.fingerprint, rule=match.rule, rules=[match.rule],
        brand=match.brand, severity=severity, subject_kind=kind, subject_id=ident, title=match.title,
        reasons=with_growth_reason(match.reasons, growth_reason, MAX_REASONS), mention_ids=match.mention_ids[-MAX_MENTION_IDS:],
        customer_id=match.customer_id, score=match.score, teams=[rule.common.team] if rule.common.team else [],
        channels=list(dict.fromkeys(rule.common.channels)), ack_deadline=ack_deadline_for(rule, severity, now),
        created_at=now, updated_at=now, last_evidence_at=now, growth=growth,
        timeline=[AlertEvent(at=now, kind="created", data={"mention_ids": match.mention_ids[:50], "severity": severity.value,
                                                           "rule": match.rule, **_evidence_data(evidence_of(match))})],
    )


def _join(alert: Alert, match: RuleMatch, rule: Rule, now: datetime) -> tuple[bool, list[str]]:
    """Add ``rule`` to the alert's rules, teams and channels; returns (joined, channels new to the alert)."""
    known = alert.rules or [alert.rule]
    new_channels = [c for c in dict.fromkeys(rule.common.channels) if c not in alert.channels]
    alert.channels = alert.channels + new_channels
    if rule.common.team and rule.common.team not in alert.teams:
        alert.teams = alert.teams + [rule.common.team]
    if match.rule in known:
        alert.rules = known
        return False, new_channels
    alert.rules = known + [match.rule]
    alert.timeline.append(AlertEvent(at=now, kind="rule_matched", data={
        "rule": match.rule, "severity": match.severity.value, "rule_reasons": match.reasons[:3], "channels_added": new_channels}))
    return True, new_channels


def merge_match(existing: Alert | None, match: RuleMatch, rule: Rule, now: datetime,
                policy: GrowthPolicy | None = None) -> GroupChange | None:
    """Fold ``match`` into ``existing`` (same situation); see the module docstring."""
    policy = policy or GrowthPolicy()
    if existing is None or (
        existing.state == AlertState.resolved
        and now - existing.updated_at > timedelta(hours=rule.common.reopen_within_hours)
    ):
        return GroupChange(new_alert(match, rule, now, policy), True, 0, "notify", "created")

    alert = copy_alert(existing)
    fresh_ids = [i for i in match.mention_ids if i not in set(alert.mention_ids)]
    rule_severity = max(Severity(alert.growth.get("rule_severity", alert.severity)), match.severity, key=severity_rank)
    growth = track({**alert.growth, "rule_severity": rule_severity.value}, match.growth)
    level, growth_reason = level_of(growth, policy)
    target = severity_with_growth(rule_severity, level)
    raised = severity_rank(target) > severity_rank(alert.severity)
    pieces = evidence_of(match)
    known_scores, known_reasons = current_evidence(alert.timeline)
    changed = {k: v for k, v in pieces.items()
               if known_reasons.get(k) != list(v[1][:MAX_REASONS]) or known_scores.get(k) != v[0]}
    legacy = not known_reasons and not known_scores
    if legacy and not fresh_ids:  # an alert from before evidence was tracked: compare what it shows
        changed = pieces if (refreshed_reasons(alert.reasons, match.reasons) != alert.reasons
                             or (match.score is not None and match.score != alert.score)) else {}
    joining = match.rule not in (alert.rules or [alert.rule])
    new_channels = [c for c in rule.common.channels if c not in alert.channels]
    events: list[AlertEvent] = []
    notify: str | None = None
    notify_channels: list[str] | None = None
    change = "evidence"

    if alert.state == AlertState.resolved:
        if not fresh_ids and not raised:
            return None  # the evidence that was resolved, seen again
        alert.state = AlertState.open
        alert.escalated, alert.calmed_at = False, None
        alert.ack_deadline = ack_deadline_for(rule, max(target, alert.severity, key=severity_rank), now)
        events.append(AlertEvent(at=now, kind="reopened", data={"mention_ids": fresh_ids[:50]}))
        notify, change = "notify", "reopened"
    elif alert.state == AlertState.snoozed and alert.snoozed_until is not None and alert.snoozed_until <= now:
        alert.state, alert.snoozed_until = AlertState.open, None
        events.append(AlertEvent(at=now, kind="snooze_ended"))
        if fresh_ids or raised:
            notify, change = "notify", "snooze_ended"
    elif not fresh_ids and not raised and not changed and not joining and not new_channels:
        return _reminder(alert, rule, now)

    if alert.calmed_at is not None and (fresh_ids or raised):
        events.append(AlertEvent(at=now, kind="flared", data={"calmed_at": alert.calmed_at.isoformat()}))
        alert.calmed_at = None
        if notify is None and alert.state != AlertState.snoozed:
            notify, change = "notify", "flared"
    if raised:
        data = {"from": alert.severity.value, "to": target.value, "rule": match.rule}
        if growth_reason and severity_rank(target) > severity_rank(rule_severity):
            data["growth"] = growth_reason
        events.append(AlertEvent(at=now, kind="severity_raised", data=data))
        alert.severity = target
        alert.rule, alert.title = match.rule, match.title  # the rule that raised it leads now
        if alert.state == AlertState.snoozed:
            alert.state, alert.snoozed_until = AlertState.open, None
            events.append(AlertEvent(at=now, kind="snooze_broken", note="severity raised"))
        if alert.state == AlertState.open and not alert.escalated:
            alert.ack_deadline = ack_deadline_for(rule, target, now)
        notify, change = "notify", ("severity_raised" if change in ("evidence", "flared") else change)
    elif match.rule == alert.rule:
        alert.title = match.title
    alert.timeline.extend(events)
    events = []
    joined, new_channels = _join(alert, match, rule, now)
    if notify is None and new_channels and alert.state in (AlertState.open, AlertState.acknowledged, AlertState.assigned):
        # Channels of a joining rule hear of the situation once; the others already did.
        notify, change, notify_channels = "notify", "joined", new_channels
    score_before = alert.score
    if fresh_ids:
        _add_evidence(alert, fresh_ids, now, pieces)
    elif changed:
        known_ids = set(alert.mention_ids)
        _record(alert, "updated", list(dict.fromkeys(piece_mention_id(k) for k in changed if piece_mention_id(k) in known_ids)),
                changed, now)
    _refresh(alert, match, legacy)
    alert.reasons = with_growth_reason(alert.reasons, growth_reason, MAX_REASONS)
    if not fresh_ids and changed and alert.timeline[-1].kind == "updated" and score_before != alert.score:
        last = alert.timeline[-1]
        data = dict(last.data)
        data["score"] = {"from": (data.get("score") or {"from": score_before})["from"], "to": alert.score}
        alert.timeline[-1] = last.model_copy(update={"data": data})
    kind, ident = match.situation
    alert.fingerprint, alert.subject_kind, alert.subject_id = match.fingerprint, kind, ident  # moves a re-keyed situation
    if match.situation_kind is not None or match.customer_id:
        alert.customer_id = match.customer_id  # the situation's own customer, not whoever posted first
    alert.growth = growth
    if fresh_ids or raised or changed or joined:
        alert.last_evidence_at = now
    if notify is None and _reminder_due(alert, rule, now):
        notify, change = "reminder", "evidence"
        events.append(AlertEvent(at=now, kind="reminder"))
    alert.timeline.extend(events)
    alert.updated_at = now
    return GroupChange(alert, False, existing.version, notify, change, notify_channels)


def _reminder_due(alert: Alert, rule: Rule, now: datetime) -> bool:
    if rule.common.repeat_minutes is None or alert.state != AlertState.open or alert.calmed_at is not None:
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

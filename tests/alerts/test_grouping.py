"""Grouping: one alert per situation, updated as evidence grows; notify only when it matters."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerts.grouping import merge_match
from alerts.rules import load_rules
from alerts.rules.base import MentionContext
from core.domain import AlertState, Severity
from tests.alerts.conftest import MINA_EN, NOW, make_settings, mention, thread


def _thread_rule(tmp_path: Path, **extra):
    [rule] = load_rules(make_settings(tmp_path, rules=[
        {"type": "risk_threshold", "subject": "thread", "threshold": 60, "critical_above": 90, "channels": ["inbox"], **extra}]))
    return rule


def _match(rule, native_id: str, risk: float = 75):
    m = mention(native_id, MINA_EN, thread_id="th-1")
    [match] = rule.evaluate(MentionContext(mention=m, now=NOW, thread=thread("th-1", [m.id], risk=risk)))
    return match


def _stored(change):
    # What the store does on write: bump the version.
    return change.alert.model_copy(update={"version": change.expected_version + 1})


def test_fifty_matches_in_one_thread_make_one_alert_notified_once(tmp_path: Path) -> None:
    rule = _thread_rule(tmp_path)
    alert, notifications = None, []
    for i in range(50):
        change = merge_match(alert, _match(rule, f"reply-{i}"), rule, NOW + timedelta(seconds=i))
        assert change is not None
        assert change.is_new == (i == 0)
        if change.notify_kind:
            notifications.append(change.change)
        alert = _stored(change)
    assert notifications == ["created"]
    assert len(alert.mention_ids) == 50 and alert.version == 50
    assert alert.fingerprint == "Sepehr Mobile|thread:th-1"  # the situation, not the rule
    assert sum(e.data.get("count", 0) for e in alert.timeline if e.kind == "evidence") == 49


def test_the_same_mention_again_changes_nothing(tmp_path: Path) -> None:
    rule = _thread_rule(tmp_path)
    alert = _stored(merge_match(None, _match(rule, "a"), rule, NOW))
    assert merge_match(alert, _match(rule, "a"), rule, NOW + timedelta(minutes=1)) is None


def test_severity_raise_renotifies_and_resets_sla(tmp_path: Path) -> None:
    rule = _thread_rule(tmp_path)
    alert = _stored(merge_match(None, _match(rule, "a", risk=70), rule, NOW))
    assert alert.severity == Severity.warning
    change = merge_match(alert, _match(rule, "b", risk=95), rule, NOW + timedelta(minutes=5))
    assert change.notify_kind == "notify" and change.change == "severity_raised"
    assert change.alert.severity == Severity.critical
    assert change.alert.ack_deadline == NOW + timedelta(minutes=5 + 15)
    assert [e.kind for e in change.alert.timeline][-2:] == ["severity_raised", "evidence"]


def test_resolved_alert_flaring_again_is_reopened_within_the_window(tmp_path: Path) -> None:
    rule = _thread_rule(tmp_path, reopen_within_hours=24)
    alert = _stored(merge_match(None, _match(rule, "a"), rule, NOW))
    alert = alert.model_copy(update={"state": AlertState.resolved, "updated_at": NOW + timedelta(hours=1)})
    change = merge_match(alert, _match(rule, "b"), rule, NOW + timedelta(hours=2))
    assert change.alert.id == alert.id and change.alert.state == AlertState.open and change.change == "reopened"
    later = merge_match(alert, _match(rule, "c"), rule, NOW + timedelta(days=3))
    assert later.is_new and later.alert.id != alert.id  # long after resolution: a new situation


def test_snoozed_alert_collects_evidence_quietly_until_the_snooze_ends(tmp_path: Path) -> None:
    rule = _thread_rule(tmp_path)
    alert = _stored(merge_match(None, _match(rule, "a"), rule, NOW))
    alert = alert.model_copy(update={"state": AlertState.snoozed, "snoozed_until": NOW + timedelta(hours=1)})
    quiet = merge_match(alert, _match(rule, "b"), rule, NOW + timedelta(minutes=10))
    assert quiet.notify_kind is None and quiet.alert.state == AlertState.snoozed
    woke = merge_match(_stored(quiet), _match(rule, "c"), rule, NOW + timedelta(hours=2))
    assert woke.notify_kind == "notify" and woke.alert.state == AlertState.open


def test_reminder_after_repeat_interval(tmp_path: Path) -> None:
    rule = _thread_rule(tmp_path, repeat_minutes=30)
    alert = _stored(merge_match(None, _match(rule, "a"), rule, NOW)).model_copy(update={"last_notified_at": NOW})
    assert merge_match(alert, _match(rule, "b"), rule, NOW + timedelta(minutes=10)).notify_kind is None
    change = merge_match(alert, _match(rule, "c"), rule, NOW + timedelta(minutes=31))
    assert change.notify_kind == "reminder"


def test_thread_reasons_are_the_newest_figures_and_the_list_stays_short(tmp_path: Path) -> None:
    rule = _thread_rule(tmp_path)
    alert = _stored(merge_match(None, _match(rule, "a"), rule, NOW))
    for i in range(30):
        match = _match(rule, f"r{i}")
        match.reasons = [f"shares +{100 + i}/h", "'Boost this'"]
        alert = _stored(merge_match(alert, match, rule, NOW + timedelta(minutes=i)))
    assert alert.reasons == ["shares +129/h", "'Boost this'"]  # the thread's current figures, not 30 stale ones
    match = _match(rule, "r-many")
    match.reasons = [f"reason {chr(65 + i)}" for i in range(30)]
    assert len(merge_match(alert, match, rule, NOW + timedelta(hours=1)).alert.reasons) == 20

"""Alert lifecycle through apply_action: transitions, timeline, clear errors, conflicts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alerts.lifecycle import apply_action
from core.domain import Alert, AlertState, Severity
from core.store.port import ConflictError, NotFoundError
from tests.alerts.conftest import BRAND, NOW, make_settings, open_test_store


@pytest.fixture
def store(tmp_path: Path):
    store = open_test_store(make_settings(tmp_path))
    store.create_alert(Alert(id="al-1", fingerprint="fp-1", rule="key-customer", brand=BRAND, severity=Severity.critical,
                             subject_kind="customer", subject_id="C-1042", title="Mina Rahimi is complaining",
                             created_at=NOW, updated_at=NOW))
    yield store
    store.close()


def test_full_lifecycle_keeps_a_timeline(store) -> None:
    t = NOW
    apply_action(store, "al-1", "acknowledge", "sara@support", now=t + timedelta(minutes=2))
    apply_action(store, "al-1", "assign", "sara@support", assignee="reza@pr", now=t + timedelta(minutes=3))
    apply_action(store, "al-1", "note", "reza@pr", note="called Mina, replacement phone on the way — با مینا تماس گرفتم",
                 now=t + timedelta(minutes=30))
    resolved = apply_action(store, "al-1", "resolve", "reza@pr", now=t + timedelta(hours=2))
    assert resolved.state == AlertState.resolved and resolved.assignee == "reza@pr"
    reopened = apply_action(store, "al-1", "reopen", "sara@support", note="she posted again", now=t + timedelta(hours=5))
    assert reopened.state == AlertState.open
    kinds = [(e.kind, e.actor) for e in reopened.timeline]
    assert kinds == [("acknowledge", "sara@support"), ("assign", "sara@support"), ("note", "reza@pr"),
                     ("resolve", "reza@pr"), ("reopen", "sara@support")]
    assert reopened.timeline[1].data == {"from": "acknowledged", "to": "assigned", "assignee": "reza@pr"}
    assert "با مینا تماس گرفتم" in reopened.timeline[2].note
    assert store.get_alert("al-1").version == 6


def test_snooze_needs_a_future_time(store) -> None:
    with pytest.raises(ValueError, match="'until' must be a time in the future"):
        apply_action(store, "al-1", "snooze", "sara", until=NOW - timedelta(minutes=1), now=NOW)
    snoozed = apply_action(store, "al-1", "snooze", "sara", until=NOW + timedelta(hours=4), now=NOW)
    assert snoozed.state == AlertState.snoozed and snoozed.snoozed_until == NOW + timedelta(hours=4)


def test_invalid_transitions_say_which(store) -> None:
    with pytest.raises(ValueError, match=r"cannot reopen alert al-1: it is open \(reopen is allowed from: resolved\)"):
        apply_action(store, "al-1", "reopen", "sara", now=NOW)
    apply_action(store, "al-1", "resolve", "sara", now=NOW)
    with pytest.raises(ValueError, match="cannot acknowledge alert al-1: it is resolved"):
        apply_action(store, "al-1", "acknowledge", "sara", now=NOW)
    apply_action(store, "al-1", "reopen", "sara", now=NOW)
    with pytest.raises(ValueError, match="an assignee is required"):
        apply_action(store, "al-1", "assign", "sara", now=NOW)
    with pytest.raises(ValueError, match="unknown alert action 'escalate'"):
        apply_action(store, "al-1", "escalate", "sara", now=NOW)
    with pytest.raises(ValueError, match="the note is empty"):
        apply_action(store, "al-1", "note", "sara", note="  ", now=NOW)


def test_unknown_alert_is_not_found(store) -> None:
    with pytest.raises(NotFoundError):
        apply_action(store, "al-404", "acknowledge", "sara", now=NOW)


def test_conflicting_writes_are_retried(store, monkeypatch) -> None:
    real_update = store.update_alert
    calls = {"n": 0}

    def racing_update(alert, expected_version, deliveries=()):
        calls["n"] += 1
        if calls["n"] == 1:  # a worker attaches evidence just before our write lands
            current = store.get_alert(alert.id)
            real_update(current.model_copy(update={"mention_ids": ["mastodon-new"]}), current.version)
        return real_update(alert, expected_version, deliveries)

    monkeypatch.setattr(store, "update_alert", racing_update)
    acked = apply_action(store, "al-1", "acknowledge", "sara", now=NOW)
    assert acked.state == AlertState.acknowledged and acked.mention_ids == ["mastodon-new"]  # nothing lost
    assert calls["n"] == 2


def test_gives_up_after_repeated_conflicts(store, monkeypatch) -> None:
    def always_conflict(*args, **kwargs):
        raise ConflictError("changed meanwhile")

    monkeypatch.setattr(store, "update_alert", always_conflict)
    with pytest.raises(ConflictError):
        apply_action(store, "al-1", "acknowledge", "sara", now=NOW)

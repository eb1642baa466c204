"""The per-source seen-state that keeps re-crawls incremental."""

from __future__ import annotations

from datetime import timedelta

from crawlers.state import SeenState
from tests.crawlers.conftest import NOW


def test_visit_rules_new_changed_active_and_quiet(tmp_path) -> None:
    state = SeenState(tmp_path / "seen.sqlite", revisit_seconds=600, revisit_window_hours=24)
    assert state.should_visit("t/1", NOW)  # never seen
    state.mark("t/1", NOW, kind="thread", activity_at=NOW - timedelta(hours=1), signature="3 replies")
    assert not state.should_visit("t/1", NOW + timedelta(minutes=5), "3 replies")  # seen 5 minutes ago
    assert state.should_visit("t/1", NOW + timedelta(minutes=5), "4 replies")  # a new reply on the listing
    assert state.should_visit("t/1", NOW + timedelta(minutes=11), "3 replies")  # active and due again
    state.mark("t/old", NOW, kind="thread", activity_at=NOW - timedelta(days=3))
    assert not state.should_visit("t/old", NOW + timedelta(hours=2))  # quiet for longer than the window


def test_due_for_revisit_lists_young_entries_first_and_survives_reopening(tmp_path) -> None:
    path = tmp_path / "seen.sqlite"
    state = SeenState(path, revisit_seconds=600, revisit_window_hours=24)
    state.mark("s/young", NOW, kind="status", activity_at=NOW - timedelta(minutes=30))
    state.mark("s/older", NOW, kind="status", activity_at=NOW - timedelta(hours=5))
    state.mark("s/ancient", NOW, kind="status", activity_at=NOW - timedelta(days=5))
    state.mark("t/thread", NOW, kind="thread", activity_at=NOW)
    state.close()
    reopened = SeenState(path, revisit_seconds=600, revisit_window_hours=24)
    assert reopened.due_for_revisit(NOW + timedelta(minutes=5), "status") == []
    assert reopened.due_for_revisit(NOW + timedelta(minutes=15), "status") == ["s/young", "s/older"]
    assert reopened.forget_visits_at(NOW) == 4
    assert reopened.get("s/young") is None

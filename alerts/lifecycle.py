"""What people do to an alert: acknowledge, assign, resolve, reopen, snooze, note.

Allowed transitions (anything else raises ValueError naming the action and the state):

=============  ==============================================  ===========
action         from                                            to
=============  ==============================================  ===========
acknowledge    open, snoozed                                   acknowledged
assign         open, acknowledged, assigned, snoozed           assigned (needs ``assignee``)
resolve        open, acknowledged, assigned, snoozed           resolved
reopen         resolved                                        open
snooze         open, acknowledged, assigned, snoozed           snoozed (needs ``until`` in the future)
note           any                                             unchanged (needs ``note``)
=============  ==============================================  ===========

Every action appends an AlertEvent to the timeline. Writes use optimistic concurrency and are
retried a few times when a worker or another person changed the alert in between.
"""

from __future__ import annotations

from datetime import datetime, timezone

from alerts.grouping import copy_alert
from core.domain import Alert, AlertEvent, AlertState
from core.store.port import AlertStore, ConflictError, NotFoundError

S = AlertState
ALLOWED_FROM: dict[str, tuple[AlertState, ...]] = {
    "acknowledge": (S.open, S.snoozed),
    "assign": (S.open, S.acknowledged, S.assigned, S.snoozed),
    "resolve": (S.open, S.acknowledged, S.assigned, S.snoozed),
    "reopen": (S.resolved,),
    "snooze": (S.open, S.acknowledged, S.assigned, S.snoozed),
    "note": tuple(AlertState),
}
ACTIONS = tuple(ALLOWED_FROM)
CONFLICT_RETRIES = 5


def _apply(alert: Alert, action: str, actor: str, assignee: str | None, until: datetime | None,
           note: str | None, now: datetime) -> Alert:
    if alert.state not in ALLOWED_FROM[action]:
        allowed = ", ".join(s.value for s in ALLOWED_FROM[action])
        raise ValueError(f"cannot {action} alert {alert.id}: it is {alert.state.value} ({action} is allowed from: {allowed})")
    changed = copy_alert(alert)
    data: dict = {"from": alert.state.value}
    if action == "acknowledge":
        changed.state = S.acknowledged
        changed.snoozed_until = None
    elif action == "assign":
        if not assignee or not assignee.strip():
            raise ValueError(f"cannot assign alert {alert.id}: an assignee is required")
        changed.state, changed.assignee = S.assigned, assignee.strip()
        changed.snoozed_until = None
        data["assignee"] = changed.assignee
    elif action == "resolve":
        changed.state, changed.snoozed_until = S.resolved, None
    elif action == "reopen":
        changed.state, changed.escalated = S.open, False
    elif action == "snooze":
        if until is None or until <= now:
            raise ValueError(f"cannot snooze alert {alert.id}: 'until' must be a time in the future")
        changed.state, changed.snoozed_until = S.snoozed, until
        data["until"] = until.isoformat()
    elif action == "note":
        if not note or not note.strip():
            raise ValueError(f"cannot add a note to alert {alert.id}: the note is empty")
    data["to"] = changed.state.value
    changed.timeline.append(AlertEvent(at=now, kind=action, actor=actor, note=note, data=data))
    changed.updated_at = now
    return changed


def apply_action(
    store: AlertStore, alert_id: str, action: str, actor: str, *, assignee: str | None = None,
    until: datetime | None = None, note: str | None = None, now: datetime | None = None,
) -> Alert:
    """Apply ``action`` by ``actor`` to alert ``alert_id`` and return the stored alert.

    Raises NotFoundError for an unknown alert, ValueError for an unknown action or a transition
    that is not allowed, ConflictError if the alert kept changing under us.
    """
    if action not in ALLOWED_FROM:
        raise ValueError(f"unknown alert action {action!r} (known: {', '.join(ACTIONS)})")
    if not actor:
        raise ValueError("an actor is required (who did this?)")
    now = now or datetime.now(timezone.utc)
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    last_conflict: ConflictError | None = None
    for _ in range(CONFLICT_RETRIES):
        alert = store.get_alert(alert_id)
        if alert is None:
            raise NotFoundError(f"alert {alert_id!r} not found")
        changed = _apply(alert, action, actor, assignee, until, note, now)
        try:
            return store.update_alert(changed, expected_version=alert.version)
        except ConflictError as exc:
            last_conflict = exc  # someone else wrote first: re-read and re-apply
    assert last_conflict is not None
    raise last_conflict

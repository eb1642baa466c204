"""Contract: alerts with optimistic concurrency, escalation, silences and the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.domain import Alert, AlertEvent, AlertState, Delivery, DeliveryStatus, Severity, Silence
from core.store.port import AlertFilter, ConflictError, NotFoundError
from tests.contract.conftest import NOW, refresh


def _alert(n: int, fingerprint: str | None = None, **kw) -> Alert:
    base = dict(
        id=f"al-{n}", fingerprint=fingerprint or f"viral_thread|digikala|th-{n}", rule="viral_thread",
        brand="digikala", severity=Severity.high, subject_kind="thread", subject_id=f"th-{n}",
        title="Angry customer thread about Digikala refunds is spreading",
        reasons=["engagement x12 in 2h", "call to boycott"], mention_ids=[f"forum-{n}"],
        created_at=NOW + timedelta(minutes=n), updated_at=NOW + timedelta(minutes=n),
        timeline=[AlertEvent(at=NOW, kind="created")],
    )
    base.update(kw)
    return Alert(**base)


def _delivery(alert_id: str, channel: str, n: int = 0, **kw) -> Delivery:
    return Delivery(id=f"{alert_id}:{channel}:{n}", alert_id=alert_id, channel=channel,
                    payload={"title": "هشدار: موج شکایت از دیجی‌کالا"}, next_attempt_at=NOW, created_at=NOW, **kw)


def test_create_writes_alert_and_deliveries_and_refuses_duplicate_fingerprint(store) -> None:
    created = store.create_alert(_alert(1), [_delivery("al-1", "slack"), _delivery("al-1", "email")])
    assert created.version == 1 and store.get_alert("al-1").version == 1
    refresh(store)
    assert {d.channel for d in store.list_deliveries(alert_id="al-1")} == {"slack", "email"}
    with pytest.raises(ConflictError):
        store.create_alert(_alert(2, fingerprint=created.fingerprint), [_delivery("al-2", "slack")])
    assert store.get_alert("al-2") is None and store.list_deliveries(alert_id="al-2") == []  # atomic
    # Once resolved, the same situation may open a new alert.
    store.update_alert(created.model_copy(update={"state": AlertState.resolved}), expected_version=1)
    store.create_alert(_alert(3, fingerprint=created.fingerprint))
    assert store.find_alert_by_fingerprint(created.fingerprint).id == "al-3"


def test_optimistic_concurrency_conflict(store) -> None:
    a = store.create_alert(_alert(1))
    mine = a.model_copy(update={"state": AlertState.acknowledged, "assignee": "mina"})
    theirs = a.model_copy(update={"severity": Severity.critical})
    assert store.update_alert(mine, expected_version=1, deliveries=[_delivery("al-1", "slack", 1)]).version == 2
    with pytest.raises(ConflictError):
        store.update_alert(theirs, expected_version=1, deliveries=[_delivery("al-1", "sms", 2)])
    stored = store.get_alert("al-1")
    assert (stored.version, stored.state, stored.severity) == (2, AlertState.acknowledged, Severity.high)
    refresh(store)
    assert [d.channel for d in store.list_deliveries(alert_id="al-1")] == ["slack"]  # loser's delivery not written
    with pytest.raises(NotFoundError):
        store.update_alert(_alert(99), expected_version=1)


def test_list_filter_and_cursor(store) -> None:
    for n in range(7):
        store.create_alert(_alert(n, severity=Severity.critical if n % 2 else Severity.warning,
                                  customer_id="C-1001" if n < 3 else None))
    store.update_alert(store.get_alert("al-2").model_copy(update={"state": AlertState.assigned, "assignee": "ali"}), 1)
    refresh(store)
    alerts, cursor = store.list_alerts(AlertFilter(limit=3))
    seen = [a.id for a in alerts]
    while cursor:
        alerts, cursor = store.list_alerts(AlertFilter(limit=3, cursor=cursor))
        seen.extend(a.id for a in alerts)
    assert seen == [f"al-{n}" for n in range(6, -1, -1)]  # newest updated first, no gaps
    assert {a.id for a in store.list_alerts(AlertFilter(severities=["critical"]))[0]} == {"al-1", "al-3", "al-5"}
    assert [a.id for a in store.list_alerts(AlertFilter(states=[AlertState.assigned]))[0]] == ["al-2"]
    assert [a.id for a in store.list_alerts(AlertFilter(assignee="ali"))[0]] == ["al-2"]
    assert {a.id for a in store.list_alerts(AlertFilter(customer_id="C-1001"))[0]} == {"al-0", "al-1", "al-2"}
    assert len(store.list_alerts(AlertFilter(brands=["digikala"], rule="viral_thread", limit=100))[0]) == 7
    assert {k: v for k, v in store.count_alerts_by_state().items() if v} == {"open": 6, "assigned": 1}


def test_escalation_due(store) -> None:
    store.create_alert(_alert(1, ack_deadline=NOW + timedelta(minutes=15)))
    store.create_alert(_alert(2, ack_deadline=NOW + timedelta(minutes=5)))
    acked = store.create_alert(_alert(3, ack_deadline=NOW))
    store.update_alert(acked.model_copy(update={"state": AlertState.acknowledged}), 1)
    store.create_alert(_alert(4, ack_deadline=NOW, escalated=True))
    store.create_alert(_alert(5))  # no deadline
    refresh(store)
    assert [a.id for a in store.alerts_due_for_escalation(NOW + timedelta(minutes=10))] == ["al-2"]
    assert [a.id for a in store.alerts_due_for_escalation(NOW + timedelta(hours=1))] == ["al-2", "al-1"]


def test_silences(store) -> None:
    store.add_silence(Silence(id="s1", matchers={"brand": "digikala"}, starts_at=NOW, ends_at=NOW + timedelta(hours=2)))
    store.add_silence(Silence(id="s2", matchers={"rule": "spike"}, starts_at=NOW + timedelta(hours=1),
                              ends_at=NOW + timedelta(hours=3), comment="maintenance"))
    assert [s.id for s in store.list_silences()] == ["s1", "s2"]
    assert [s.id for s in store.list_silences(active_at=NOW + timedelta(minutes=30))] == ["s1"]
    assert [s.id for s in store.list_silences(active_at=NOW + timedelta(hours=2))] == ["s2"]
    assert store.delete_silence("s1") and not store.delete_silence("s1")
    assert [s.id for s in store.list_silences()] == ["s2"]


def test_outbox_claim_lease_and_outcomes(store) -> None:
    assert store.enqueue_deliveries([_delivery("al-1", "slack"), _delivery("al-1", "email")]) == 2
    assert store.enqueue_deliveries([_delivery("al-1", "slack")]) == 0  # idempotent by id
    refresh(store)
    first = store.claim_due_deliveries("disp-1", limit=10, lease_seconds=30, now=NOW)
    assert {d.channel for d in first} == {"slack", "email"} and all(d.status == DeliveryStatus.sending for d in first)
    assert store.claim_due_deliveries("disp-2", limit=10, lease_seconds=30, now=NOW) == []  # no double claim
    slack = next(d for d in first if d.channel == "slack")
    email = next(d for d in first if d.channel == "email")
    assert store.mark_delivery_sent(slack.id, "disp-1", now=NOW)
    assert store.get_delivery(slack.id).status == DeliveryStatus.sent
    assert store.mark_delivery_failed(email.id, "disp-1", "SMTP 451 try later", NOW + timedelta(minutes=1))
    refresh(store)
    assert store.claim_due_deliveries("disp-2", 10, 30, now=NOW + timedelta(seconds=30)) == []
    [retry] = store.claim_due_deliveries("disp-2", 10, 30, now=NOW + timedelta(minutes=2))
    assert retry.id == email.id and retry.attempts == 2 and retry.last_error == "SMTP 451 try later"
    # disp-2 dies; its lease expires and disp-3 takes over; disp-2's late outcome is refused.
    refresh(store)
    [taken] = store.claim_due_deliveries("disp-3", 10, 30, now=NOW + timedelta(minutes=3))
    assert taken.id == email.id
    assert not store.mark_delivery_sent(email.id, "disp-2", now=NOW + timedelta(minutes=3))
    assert store.mark_delivery_failed(email.id, "disp-3", "mailbox full", None, dead=True)
    assert store.get_delivery(email.id).status == DeliveryStatus.dead
    refresh(store)
    assert {k: v for k, v in store.count_deliveries_by_status().items() if v} == {"sent": 1, "dead": 1}
    assert [d.id for d in store.list_deliveries(status="dead")] == [email.id]
    again = store.redeliver(email.id, now=NOW + timedelta(minutes=5))
    assert again.status == DeliveryStatus.pending and again.attempts == 0
    refresh(store)
    assert [d.id for d in store.claim_due_deliveries("disp-1", 10, 30, now=NOW + timedelta(minutes=5))] == [email.id]
    with pytest.raises(NotFoundError):
        store.redeliver("nope")


def test_outbox_concurrent_dispatchers_never_share(store) -> None:
    import threading

    store.enqueue_deliveries([_delivery(f"al-{i}", "webhook", i) for i in range(30)])
    refresh(store)
    got: list[str] = []
    lock = threading.Lock()

    def dispatcher(name: str) -> None:
        while batch := store.claim_due_deliveries(name, 2, 300, now=NOW):
            with lock:
                got.extend(d.id for d in batch)

    threads = [threading.Thread(target=dispatcher, args=(f"d{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == 30 and len(set(got)) == 30

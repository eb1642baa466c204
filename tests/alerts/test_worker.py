"""The alert worker against the SQLite store: grouping, the demo escalation, silences and
inhibition, escalation after the SLA, periodic rules and restarts without floods."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.lifecycle import apply_action
from alerts.worker import PERIODIC_CHECKPOINT, AlertWorker
from core.domain import Severity, Silence
from core.store.port import AlertFilter
from tests.alerts.conftest import (
    BRAND, COPY_EN, MINA_EN, MINA_FA, NOW, campaign, drain, mention, mina, open_test_store, seed, thread,
)

THREAD_RULE = {"type": "risk_threshold", "name": "risky-thread", "subject": "thread", "threshold": 60,
               "critical_above": 90, "channels": ["inbox"], "team": "support"}
KEY_RULE = {"type": "key_customer_negative", "name": "key-customer", "severity": "high", "channels": ["inbox"]}
POST_RULE = {"type": "risk_threshold", "name": "risky-post", "subject": "mention", "threshold": 50,
             "severity": "warning", "channels": ["inbox"]}


@pytest.fixture
def env(alert_env):  # noqa: ANN001, ANN201
    return alert_env


def all_alerts(store):
    return store.list_alerts(AlertFilter(limit=500))[0]


def test_fifty_mentions_in_one_thread_make_one_alert_updated_with_each(env) -> None:
    settings, store, worker = env(THREAD_RULE)
    replies = [mention(f"r{i}", f"{COPY_EN} ({i})", handle=f"acc{i}", thread_id="th-mina",
                       published=NOW - timedelta(minutes=50 - i)) for i in range(50)]
    seed(store, replies[:20], threads=[thread("th-mina", [m.id for m in replies[:20]], risk=75)])
    drain(worker)
    seed(store, replies[20:], threads=[thread("th-mina", [m.id for m in replies], risk=93)])
    drain(worker)
    [alert] = all_alerts(store)
    assert len(alert.mention_ids) == 50 and alert.severity == Severity.critical
    assert alert.teams == ["support"] and alert.subject_id == "th-mina"
    deliveries = store.list_deliveries(alert_id=alert.id)
    # One notification when it opened, one when it became critical — not fifty.
    assert sorted(d.payload["change"] for d in deliveries) == ["created", "severity_raised"]
    assert store.queue_depth("alert")["ready"] == 0


def test_demo_escalation_one_alert_names_mina_her_tier_and_ticket(env) -> None:
    settings, store, worker = env(KEY_RULE)
    forum = mention("forum-881", MINA_FA, platform="forum", handle="mina_r", lang="fa", customer_id="C-1042",
                    published=NOW - timedelta(minutes=30))
    masto = mention("masto-109", MINA_EN, handle="mina_r", customer_id="C-1042", followers=1240)
    seed(store, [forum, masto], customers=[mina()])
    drain(worker)
    [alert] = all_alerts(store)
    assert alert.customer_id == "C-1042" and alert.severity == Severity.critical
    assert set(alert.mention_ids) == {forum.id, masto.id}
    [delivery] = store.list_deliveries(alert_id=alert.id)
    payload = delivery.payload
    assert payload["customer"] == {"crm_id": "C-1042", "name": "Mina Rahimi", "tier": "gold", "lifetime_value": 4800.0,
                                   "open_ticket": {"id": "T-881", "status": "reopened",
                                                   "subject": "screen replacement failed twice",
                                                   "opened_at": (NOW - timedelta(days=9)).isoformat()}}
    # Both posts came in one batch: one message, quoting the newest post, counting both.
    assert payload["mention"]["id"] == masto.id and payload["mention"]["author"]["followers"] == 1240
    assert payload["mention_count"] == 2
    assert payload["dashboard_url"] == f"http://127.0.0.1:8080/alerts/{alert.id}"
    assert "ticket T-881 reopened, open 9 days" in payload["reasons"]


def test_silenced_alert_is_recorded_but_not_sent(env, clock) -> None:
    settings, store, worker = env(POST_RULE)
    store.add_silence(Silence(id="maint", matchers={"brand": BRAND, "rule": "risky-*"}, starts_at=NOW - timedelta(hours=1),
                              ends_at=NOW + timedelta(hours=1), comment="known outage, PR already on it"))
    seed(store, [mention("s1", MINA_EN, handle="mina_r")])
    drain(worker)
    [alert] = all_alerts(store)
    assert store.list_deliveries(alert_id=alert.id) == []
    assert [e for e in alert.timeline if e.kind == "silenced"][0].note == "known outage, PR already on it"
    clock.advance(timedelta(hours=2))  # the silence expired
    seed(store, [mention("s2", COPY_EN, handle="other", published=NOW + timedelta(hours=2))])
    drain(worker)
    assert len(store.list_deliveries(status="pending")) == 1


def test_unreadable_silence_store_fails_towards_notifying(env, monkeypatch) -> None:
    settings, store, worker = env(POST_RULE)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("database disk image is malformed")

    monkeypatch.setattr(store, "list_silences", broken)
    seed(store, [mention("s1", MINA_EN, handle="mina_r")])
    drain(worker)
    [alert] = all_alerts(store)
    assert len(store.list_deliveries(alert_id=alert.id)) == 1
    [event] = [e for e in alert.timeline if e.kind == "silence_check_failed"]
    assert "malformed" in event.note


def test_critical_alert_inhibits_related_warnings_of_other_situations(env) -> None:
    campaign_rule = {"type": "campaign_detected", "name": "campaign", "min_authors": 3, "channels": ["inbox"]}
    settings, store, worker = env(KEY_RULE, campaign_rule, POST_RULE)
    # Mina's post is also one of the copies of a campaign: the campaign (warning) shares evidence
    # with her critical key-customer alert, so it is recorded but muted.
    post = mention("m1", MINA_EN, handle="mina_r", customer_id="C-1042", campaign_id="camp-x")
    stranger = mention("m2", COPY_EN, handle="stranger", published=NOW - timedelta(minutes=1))
    seed(store, [post], customers=[mina()], campaigns=[campaign("camp-x", [post.id], ["a:1", "a:2", "a:3"])])
    drain(worker)
    seed(store, [stranger])
    drain(worker)
    by_subject = {a.subject_id: a for a in all_alerts(store)}
    critical = by_subject["C-1042"]
    # Her post matched key-customer and risky-post: one alert, one notification.
    assert critical.severity == Severity.critical and critical.rules == ["key-customer", "risky-post"]
    assert len(store.list_deliveries(alert_id=critical.id)) == 1
    inhibited = by_subject["camp-x"]
    assert store.list_deliveries(alert_id=inhibited.id) == []
    assert any(e.kind == "inhibited" and e.data["by"] == critical.id for e in inhibited.timeline)
    unrelated = by_subject[stranger.id]  # nothing in common with it: still notified
    assert len(store.list_deliveries(alert_id=unrelated.id)) == 1


def test_unacknowledged_alert_escalates_once_after_its_sla(env, clock) -> None:
    settings, store, worker = env({**THREAD_RULE, "ack_sla_minutes": 10}, escalation=["inbox"])
    seed(store, [mention("e1", MINA_EN, thread_id="th-e")], threads=[thread("th-e", [], risk=70)])
    drain(worker)
    [alert] = all_alerts(store)
    clock.advance(timedelta(minutes=9))
    worker.tick(force=True)
    assert [d.kind for d in store.list_deliveries(alert_id=alert.id)] == ["notify"]
    clock.advance(timedelta(minutes=2))
    worker.tick(force=True)
    worker.tick(force=True)
    AlertWorker(settings, store, clock, "alert-w2").tick(force=True)  # a second worker finds nothing left
    kinds = sorted(d.kind for d in store.list_deliveries(alert_id=alert.id))
    assert kinds == ["escalation", "notify"]
    escalated = store.get_alert(alert.id)
    assert escalated.escalated and any(e.kind == "escalated" for e in escalated.timeline)
    [esc] = [d for d in store.list_deliveries(alert_id=alert.id) if d.kind == "escalation"]
    assert esc.payload["headline"].startswith("ESCALATED")


def test_acknowledged_alert_does_not_escalate(env, clock) -> None:
    settings, store, worker = env({**THREAD_RULE, "ack_sla_minutes": 10}, escalation=["inbox"])
    seed(store, [mention("e1", MINA_EN, thread_id="th-e")], threads=[thread("th-e", [], risk=70)])
    drain(worker)
    [alert] = all_alerts(store)
    apply_action(store, alert.id, "acknowledge", "sara@support", now=NOW + timedelta(minutes=3))
    clock.advance(timedelta(hours=1))
    worker.tick(force=True)
    assert [d.kind for d in store.list_deliveries(alert_id=alert.id)] == ["notify"]


SPIKE = {"type": "negative_spike", "name": "spike", "window_minutes": 60, "baseline_hours": 24,
         "min_count": 5, "factor": 3, "channels": ["inbox"]}


def _negatives(count: int, start, step: timedelta, prefix: str, sentiment: str = "negative", tag: str = ""):
    return [mention(f"{prefix}{i}", f"Sepehr Mobile support is useless again {tag}", handle=f"{prefix}user{i}",
                    published=start + step * i, sentiment=sentiment, risk=None) for i in range(count)]


def test_spike_rule_never_fires_on_a_quiet_brand(env) -> None:
    settings, store, worker = env(SPIKE)
    worker.tick(force=True)  # 0 vs 0
    seed(store, _negatives(2, NOW - timedelta(minutes=30), timedelta(minutes=5), "q"), queue=False)
    worker.tick(force=True)  # 2 vs 0: below the minimum volume
    assert all_alerts(store) == []


def test_spike_rule_fires_on_a_real_spike_against_a_quiet_baseline(env) -> None:
    settings, store, worker = env(SPIKE)
    baseline = _negatives(6, NOW - timedelta(hours=26), timedelta(hours=3), "b")  # ~0.25 per hour, past the learning day
    spike = _negatives(12, NOW - timedelta(minutes=55), timedelta(minutes=4), "s")
    seed(store, baseline + spike, queue=False)
    worker.tick(force=True)
    [alert] = all_alerts(store)
    assert alert.rule == "spike" and alert.subject_kind == "brand" and alert.subject_id == BRAND
    assert alert.reasons[0].startswith("12 negative mentions in 60 min vs 0.2 usual")
    assert len(alert.mention_ids) == 12


def test_spike_rule_is_quiet_when_the_volume_is_the_brands_normal(env) -> None:
    settings, store, worker = env(SPIKE)
    steady = _negatives(24 * 6, NOW - timedelta(hours=25), timedelta(minutes=10), "n")  # 6 per hour, all day
    seed(store, steady, queue=False)
    worker.tick(force=True)
    assert all_alerts(store) == []


def test_surging_new_hashtag_in_negative_posts(env) -> None:
    settings, store, worker = env({"type": "surging_term", "name": "surge", "min_authors": 5, "channels": ["inbox"]})
    old = _negatives(10, NOW - timedelta(days=3), timedelta(hours=2), "o", tag="#sepehrfail")
    fresh = _negatives(7, NOW - timedelta(minutes=40), timedelta(minutes=5), "f", tag="#sepehrfail #کلاهبرداری_سپهر")
    seed(store, old + fresh, queue=False)
    worker.tick(force=True)
    [alert] = all_alerts(store)
    assert alert.subject_kind == "term" and alert.subject_id == "کلاهبرداری_سپهر"  # #sepehrfail is not new
    assert "used by 7 accounts" in alert.reasons[0]


def test_restart_does_not_rerun_periodic_rules_or_alert_on_old_posts(env, clock) -> None:
    settings, store, worker = env(SPIKE, {**POST_RULE, "max_mention_age_hours": 24})
    worker.tick(force=True)
    first_check = store.get_checkpoint(PERIODIC_CHECKPOINT)
    clock.advance(timedelta(seconds=20))
    restarted = AlertWorker(settings, store, clock, "alert-w1")
    restarted.tick()
    assert store.get_checkpoint(PERIODIC_CHECKPOINT) == first_check  # not due yet: no re-run
    # A long outage: the queue still holds a post published two days ago. It is consumed, not alerted.
    clock.advance(timedelta(days=2))
    seed(store, [mention("stale", MINA_EN, published=NOW - timedelta(days=2))])
    drain(restarted)
    assert all_alerts(store) == [] and store.queue_depth("alert")["ready"] == 0


def test_replayed_queue_items_after_a_crash_create_nothing_new(env, clock) -> None:
    settings, store, worker = env(THREAD_RULE)
    posts = [mention(f"c{i}", MINA_EN, handle=f"u{i}", thread_id="th-c") for i in range(5)]
    seed(store, posts, threads=[thread("th-c", [p.id for p in posts], risk=80)])
    # Worker 1 claims the batch, writes the alert and dies before acking.
    items = store.claim("alert", "alert-w1", 50, 30, now=NOW)
    for item in items:
        worker.evaluate_mention(store.get_mention(item.mention_id), NOW)
    clock.advance(timedelta(seconds=31))  # lease expired
    assert drain(AlertWorker(settings, store, clock, "alert-w2")) == 5
    [alert] = all_alerts(store)
    assert len(store.list_deliveries(alert_id=alert.id)) == 1 and alert.version == 5


def test_two_workers_side_by_side_make_one_alert_and_one_notification(env, tmp_path: Path) -> None:
    from core.clock import SimulatedClock

    settings, store, _ = env(THREAD_RULE)
    clock = SimulatedClock(NOW, speed=1.0)  # real time passing, in the story's calendar (any date works)
    posts = [mention(f"p{i}", f"{COPY_EN} {i}", handle=f"a{i}", thread_id="th-race") for i in range(60)]
    seed(store, posts, threads=[thread("th-race", [p.id for p in posts], risk=80)])
    second_store = open_test_store(settings)  # its own connections, as a second process would have
    workers = [AlertWorker(settings, store, clock, "w1", batch=5), AlertWorker(settings, second_store, clock, "w2", batch=5)]
    errors: list[BaseException] = []

    def run(w):
        try:
            drain(w, limit=200)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    second_store.close()
    assert not errors
    [alert] = all_alerts(store)
    assert len(alert.mention_ids) == 60
    assert len(store.list_deliveries(alert_id=alert.id)) == 1


def test_campaign_copies_from_twenty_accounts_make_one_growing_campaign_alert(env) -> None:
    settings, store, worker = env({"type": "campaign_detected", "name": "campaign", "min_authors": 5,
                                   "critical_authors": 15, "channels": ["inbox"]})
    copies = [mention(f"copy{i}", COPY_EN, handle=f"acct{i}", campaign_id="camp-mina",
                      published=NOW - timedelta(minutes=20 - i)) for i in range(20)]
    for size in (3, 8, 20):  # the risk stage grows the campaign as copies arrive
        members = copies[:size]
        seed(store, members, campaigns=[campaign("camp-mina", [m.id for m in members],
                                                 [m.author.key for m in members])])
        drain(worker)
    [alert] = all_alerts(store)
    assert alert.subject_id == "camp-mina" and alert.severity == Severity.critical
    assert len(alert.mention_ids) == 20
    assert alert.reasons[0] == "coordinated campaign: 20 accounts posting near-identical text"
    changes = sorted(d.payload["change"] for d in store.list_deliveries(alert_id=alert.id))
    assert changes == ["created", "severity_raised"]  # opened at 8 accounts, escalated to critical at 20


def test_snoozed_alert_wakes_and_notifies_when_the_snooze_ends(env, clock) -> None:
    settings, store, worker = env(KEY_RULE)
    seed(store, [mention("z1", MINA_EN, handle="mina_r", customer_id="C-1042")], customers=[mina()])
    drain(worker)
    [alert] = all_alerts(store)
    apply_action(store, alert.id, "snooze", "sara@support", until=NOW + timedelta(hours=1), now=NOW)
    clock.advance(timedelta(minutes=30))
    worker.tick(force=True)
    assert store.get_alert(alert.id).state == "snoozed"
    clock.advance(timedelta(minutes=31))
    worker.tick(force=True)
    woke = store.get_alert(alert.id)
    assert woke.state == "open" and woke.timeline[-2].kind == "snooze_ended"
    assert woke.ack_deadline == NOW + timedelta(minutes=61 + 15)
    assert sorted(d.kind for d in store.list_deliveries(alert_id=alert.id)) == ["notify", "reminder"]


def _rescored(m, score: float, reasons: list[str], negativity: float = 0.9):
    from core.domain import RiskScore

    return m.model_copy(update={"risk": RiskScore(score=score, reasons=reasons, components={"negativity": negativity})})


def _rescore_stored(store, m, score: float, reasons: list[str]) -> None:
    """What the risk stage does after a re-crawl: patch the new risk and queue the post for alerts."""
    from core.store.port import MentionPatch

    risk = _rescored(m, score, reasons).risk
    assert store.patch_mentions([MentionPatch(id=m.id, risk=risk.model_dump(mode="json"))]).ok
    store.enqueue("alert", [m.id], now=NOW)


def test_a_rescored_post_refreshes_the_alerts_reasons_and_score_silently_with_one_timeline_entry(env) -> None:
    settings, store, worker = env(KEY_RULE)
    masto = mention("masto-109", MINA_EN, handle="mina_r", customer_id="C-1042")
    masto = _rescored(masto, 70, ["angry 0.89", "'Boost this'", "shares +7/h", "linked to C-1042, gold tier"])
    seed(store, [masto], customers=[mina()])
    drain(worker)
    forum = _rescored(mention("forum-881", MINA_FA, platform="forum", handle="mina_r", lang="fa", customer_id="C-1042"),
                      66, ["negative 0.59", "'همه بازنشر کنید'", "shares +2/h", "complaint: switching, product"])
    seed(store, [forum])
    drain(worker)
    [alert] = all_alerts(store)
    assert "shares +7/h" in alert.reasons and alert.score == 70
    version = alert.version

    _rescore_stored(store, masto, 88, ["angry 0.89", "'Boost this'", "shares +598/h", "linked to C-1042, gold tier"])
    drain(worker)
    [alert] = all_alerts(store)
    assert "shares +598/h" in alert.reasons and "shares +7/h" not in alert.reasons
    assert "'همه بازنشر کنید'" in alert.reasons and "shares +2/h" in alert.reasons  # the forum post's own figures stay
    assert alert.reasons.index("shares +598/h") < alert.reasons.index("'همه بازنشر کنید'")  # riskiest post first
    assert alert.score == 88 and alert.version == version + 1
    [updated] = [e for e in alert.timeline if e.kind == "updated"]
    assert updated.data["score"] == {"from": 70, "to": 88} and updated.data["mention_ids"] == [masto.id]
    assert len(store.list_deliveries(alert_id=alert.id)) == 1  # new figures alone notify nobody

    _rescore_stored(store, masto, 88, ["angry 0.89", "'Boost this'", "shares +598/h", "linked to C-1042, gold tier"])
    drain(worker)
    assert all_alerts(store)[0].version == version + 1  # the same figures again change nothing


def test_a_complaint_the_model_called_neutral_joins_the_key_customer_alert_by_its_risk_negativity(env) -> None:
    settings, store, worker = env(KEY_RULE)
    masto = mention("masto-109", MINA_EN, handle="mina_r", customer_id="C-1042")
    forum = _rescored(mention("forum-881", MINA_FA, platform="forum", handle="mina_r", lang="fa", customer_id="C-1042",
                              sentiment="neutral", published=NOW - timedelta(minutes=30)),
                      67, ["complaint cues imply negative 0.82", "'همه بازنشر کنید'"], negativity=0.825)
    calm = _rescored(mention("masto-200", "Is Sepehr Mobile open on Friday?", handle="mina_r", customer_id="C-1042",
                             sentiment="neutral"), 20, [], negativity=0.1)
    seed(store, [forum, masto, calm], customers=[mina()])
    drain(worker)
    [alert] = all_alerts(store)
    assert set(alert.mention_ids) == {forum.id, masto.id}  # the calm question is not a complaint
    assert "complaint cues imply negative 0.82" in alert.reasons

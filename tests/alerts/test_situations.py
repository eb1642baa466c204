"""One situation, one alert: rules group by customer / campaign / thread, a thread's customer is
its author's, a joining rule notifies only channels new to the alert, severity follows growth."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.dispatcher import Dispatcher
from alerts.grouping import merge_match
from alerts.rules import load_rules
from alerts.rules.base import MentionContext
from core.domain import Customer, EngagementPoint, Severity
from core.store.port import AlertFilter
from tests.alerts.conftest import BRAND, MINA_EN, NOW, drain, make_settings, mention, mina, receiver_channels, seed, thread

REZA = Customer(crm_id="C-2001", name="Reza Karimi", handles={"mastodon": ["reza_k"]}, tier="silver")
REPLY_EN = "@mina_r same here, Sepehr Mobile kept my phone three weeks and never called back."
RULES = [
    {"type": "risk_threshold", "name": "risky-thread", "subject": "thread", "threshold": 60,
     "channels": ["support-slack", "inbox"]},
    {"type": "thread_velocity", "name": "fast-thread", "metric": "shares", "min_per_hour": 30,
     "channels": ["support-slack"]},
    {"type": "key_customer_negative", "name": "key-customer", "severity": "high", "channels": ["support-slack", "inbox"]},
]


def _history(*shares: int, start=NOW - timedelta(hours=1), step=timedelta(minutes=30)) -> list[EngagementPoint]:
    return [EngagementPoint(at=start + step * i, shares=s) for i, s in enumerate(shares)]


@pytest.fixture
def env(alert_env, http_receiver):  # noqa: ANN001, ANN201
    def build(rules, channels=None):  # noqa: ANN001, ANN202
        return alert_env(*rules, channels=channels or receiver_channels(http_receiver))

    return build


def alerts_of(store):
    return store.list_alerts(AlertFilter(limit=100))[0]


def test_a_thread_matching_three_rules_is_one_alert_with_one_notification_per_channel(
        env, clock, tmp_path: Path, http_receiver) -> None:
    settings, store, worker = env(RULES)
    root = mention("masto-109", MINA_EN, handle="mina_r", customer_id="C-1042", thread_id="th-mina",
                   history=_history(0, 20, 60), followers=1240)
    reply = mention("masto-110", REPLY_EN, handle="reza_k", customer_id="C-2001", thread_id="th-mina",
                    published=NOW + timedelta(minutes=3), history=_history(0, 1, 2))
    seed(store, [root], customers=[mina(), REZA], threads=[thread("th-mina", [root.id], risk=75)])
    drain(worker)
    seed(store, [reply], threads=[thread("th-mina", [root.id, reply.id], risk=78)])
    drain(worker)
    [alert] = alerts_of(store)
    assert sorted(alert.rules) == ["fast-thread", "key-customer", "risky-thread"]
    assert alert.subject_kind == "customer" and alert.customer_id == "C-1042"  # the author's, not the replier's
    assert alert.severity == Severity.critical  # her reopened ticket
    assert set(alert.mention_ids) == {root.id, reply.id}
    assert any("shares +60/h" in r for r in alert.reasons) and any("T-881" in r for r in alert.reasons)

    dispatcher = Dispatcher(settings, store, clock, "d1")
    while dispatcher.run_once():
        pass
    dispatcher.close()
    assert len(http_receiver.requests) == 1  # Slack heard of it once
    inbox = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [d["alert_id"] for d in inbox] == [alert.id]
    assert inbox[0]["customer"]["crm_id"] == "C-1042"


def test_a_thread_alert_names_the_author_even_when_a_replier_tipped_the_rule(env) -> None:
    settings, store, worker = env([RULES[1]])
    root = mention("masto-109", MINA_EN, handle="mina_r", customer_id="C-1042", thread_id="th-mina",
                   history=_history(0, 1))
    hot_reply = mention("masto-110", REPLY_EN, handle="reza_k", customer_id="C-2001", thread_id="th-mina",
                        published=NOW + timedelta(minutes=3), history=_history(0, 40, 90))
    seed(store, [root], customers=[mina(), REZA], queue=False)
    seed(store, [hot_reply])  # only the reply is processed: its velocity fires the rule
    drain(worker)
    [alert] = alerts_of(store)
    assert alert.customer_id == "C-1042" and alert.subject_id == "C-1042"


def test_a_strangers_thread_is_its_own_situation_without_the_repliers_customer(env) -> None:
    settings, store, worker = env([RULES[0]])
    root = mention("masto-500", "Sepehr Mobile lost my order and nobody answers. #sepehrfail", handle="stranger",
                   thread_id="th-x")
    reply = mention("masto-501", REPLY_EN, handle="reza_k", customer_id="C-2001", thread_id="th-x",
                    published=NOW + timedelta(minutes=2))
    seed(store, [reply, root], customers=[REZA], threads=[thread("th-x", [root.id, reply.id], risk=80)])
    drain(worker)
    [alert] = alerts_of(store)
    assert (alert.subject_kind, alert.subject_id, alert.customer_id) == ("thread", "th-x", None)


def test_a_thread_alerted_before_its_author_was_linked_moves_to_the_customer(env, clock) -> None:
    settings, store, worker = env([RULES[0], RULES[2]])
    root = mention("masto-109", MINA_EN, handle="mina_r", thread_id="th-mina")
    seed(store, [root], threads=[thread("th-mina", [root.id], risk=75)])
    drain(worker)
    [first] = alerts_of(store)
    assert first.subject_kind == "thread"
    # The CRM import links her; the risk stage re-scores the post and hands it over again.
    clock.advance(timedelta(minutes=10))
    seed(store, [root.model_copy(update={"customer_id": "C-1042"})], customers=[mina()],
         threads=[thread("th-mina", [root.id], risk=75)])
    drain(worker)
    [alert] = alerts_of(store)
    assert alert.id == first.id and alert.subject_id == "C-1042" and alert.fingerprint == f"{BRAND}|customer:C-1042"
    assert sorted(alert.rules) == ["key-customer", "risky-thread"]
    changes = sorted((d.payload["change"], d.channel) for d in store.list_deliveries(alert_id=alert.id))
    # Opened as her thread (warning), raised to critical once she was known (reopened ticket): each channel twice.
    assert changes == [("created", "inbox"), ("created", "support-slack"),
                       ("severity_raised", "inbox"), ("severity_raised", "support-slack")]


def test_a_joining_rule_notifies_only_channels_new_to_the_alert(tmp_path: Path) -> None:
    channels = {"support-slack": {"type": "log"}, "inbox": {"type": "log"}, "pr-mail": {"type": "log"}}
    thread_rule, key_rule = load_rules(make_settings(tmp_path, channels=channels, rules=[
        {"type": "risk_threshold", "name": "risky-thread", "subject": "thread", "threshold": 60, "severity": "high",
         "channels": ["support-slack", "inbox"]},
        {"type": "key_customer_negative", "name": "key-customer", "severity": "high", "critical_with_open_ticket": False,
         "channels": ["support-slack", "pr-mail"], "team": "pr"}]))
    post = mention("masto-109", MINA_EN, handle="mina_r", customer_id="C-1042", thread_id="th-mina")
    ctx = MentionContext(mention=post, now=NOW, thread=thread("th-mina", [post.id]), customer=mina())
    from alerts.situation import assign_situation
    from core.domain import AlertState  # noqa: F401 - readability of the states below

    [by_thread] = thread_rule.evaluate(ctx)
    [by_key] = key_rule.evaluate(ctx)
    root = type("Root", (), {"customer_id": "C-1042", "campaign_id": None, "mention_id": post.id})()
    for m in (by_thread, by_key):
        assign_situation(m, post, root)
    created = merge_match(None, by_thread, thread_rule, NOW)
    alert = created.alert.model_copy(update={"version": 1})
    joined = merge_match(alert, by_key, key_rule, NOW + timedelta(minutes=1))
    assert joined.notify_kind == "notify" and joined.change == "joined" and joined.notify_channels == ["pr-mail"]
    assert joined.alert.channels == ["support-slack", "inbox", "pr-mail"] and joined.alert.teams == ["pr"]
    again = merge_match(joined.alert.model_copy(update={"version": 2}), by_key, key_rule, NOW + timedelta(minutes=2))
    assert again is None  # the same evidence from the same rule: nothing new


def test_severity_follows_reach_and_says_why(env, clock) -> None:
    settings, store, worker = env([{**RULES[1], "min_per_hour": 20}])
    post = mention("masto-700", "Boost this: Sepehr Mobile sold me a refurbished phone as new. #sepehrfail",
                   handle="stranger", thread_id="th-viral", history=_history(0, 20, 40))
    seed(store, [post])
    drain(worker)
    [alert] = alerts_of(store)
    assert alert.severity == Severity.warning and alert.growth["open"]["shares"] == 40

    def recrawl(shares: int, minutes: int) -> None:
        clock.advance(timedelta(minutes=minutes))
        seed(store, [post.model_copy(update={"crawled_at": clock.now(), "engagement": post.engagement.model_copy(
            update={"shares": shares})})])
        drain(worker)

    recrawl(120, 20)  # 3x: the same alert grows quietly
    assert alerts_of(store)[0].severity == Severity.warning
    recrawl(400, 20)  # 10x the reach at first alert: one step up
    recrawl(31_000, 30)  # 775x: critical
    [alert] = alerts_of(store)
    assert alert.severity == Severity.critical
    assert alert.reasons[0] == "grew: shares 31,000: 775× the 40 at first alert (severity +2)"
    changes = [(d.payload["change"], d.payload["severity"]) for d in store.list_deliveries(alert_id=alert.id)]
    assert sorted(changes) == [("created", "warning"), ("severity_raised", "critical"), ("severity_raised", "high")]

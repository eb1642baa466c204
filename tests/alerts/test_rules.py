"""Rule configuration is validated with errors naming the rule and field; each rule type fires
on the situations it is for and stays quiet otherwise."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alerts.rules import RuleConfigError, load_rules
from alerts.rules.base import MentionContext
from alerts.rules.thread_velocity import engagement_velocity
from core.domain import EngagementPoint, Severity
from tests.alerts.conftest import BRAND, COPY_EN, MINA_EN, MINA_FA, NOW, PRAISE_FA, campaign, make_settings, mention, mina, thread


def rules_of(tmp_path: Path, *rules: dict):
    return load_rules(make_settings(tmp_path, rules=list(rules)))


def test_bad_rules_are_reported_with_index_and_field(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rules=[
        {"type": "risk_threshold", "subject": "thread", "threshold": 60, "channels": ["inbox"]},
        {"type": "risk_threshold", "subject": "galaxy"},
        {"type": "thread_velocity", "min_per_hour": 10, "colour": "red"},
        {"type": "no_such_rule"},
        {"type": "campaign_detected", "channels": ["pager"], "severity": "urgent"},
    ])
    with pytest.raises(RuleConfigError) as err:
        load_rules(settings)
    text = str(err.value)
    assert "alerts.rules[1] (risk_threshold): subject:" in text
    assert "alerts.rules[1] (risk_threshold): threshold: Field required" in text
    assert "alerts.rules[2] (thread_velocity): colour: Extra inputs are not permitted" in text
    assert "alerts.rules[3]: type: unknown rule type 'no_such_rule'" in text and "risk_threshold" in text
    assert "alerts.rules[4] (campaign_detected): channels: unknown channel 'pager'" in text
    assert "alerts.rules[4] (campaign_detected): severity:" in text
    assert "rules[0]" not in text  # the good rule is not blamed


def test_valid_rules_get_names_routing_and_default_brands(tmp_path: Path) -> None:
    rules = rules_of(tmp_path,
                     {"type": "key_customer_negative", "severity": "high", "channels": ["inbox"], "team": "support"},
                     {"type": "negative_spike", "name": "sepehr-spike", "min_count": 8})
    assert [r.name for r in rules] == ["key_customer_negative-0", "sepehr-spike"]
    assert rules[0].severity == Severity.high and rules[0].common.team == "support"
    assert rules[0].brands == [BRAND]  # competitors are not watched by default
    assert rules[1].periodic and not rules[0].periodic


def test_risk_threshold_per_subject(tmp_path: Path) -> None:
    post_rule, thread_rule, customer_rule = rules_of(
        tmp_path,
        {"type": "risk_threshold", "subject": "mention", "threshold": 60, "critical_above": 90},
        {"type": "risk_threshold", "subject": "thread", "threshold": 70},
        {"type": "risk_threshold", "subject": "customer", "threshold": 80},
    )
    angry = mention("1", MINA_EN, handle="mina_r", thread_id="th-1", risk=92, customer_id="C-1042")
    ctx = MentionContext(mention=angry, now=NOW, thread=thread("th-1", [angry.id], risk=75))
    [m] = post_rule.evaluate(ctx)
    assert m.severity == Severity.critical and m.subject_kind == "mention" and m.brand == BRAND
    [t] = thread_rule.evaluate(ctx)
    assert (t.subject_kind, t.subject_id) == ("thread", "th-1") and "shares +420/h" in t.reasons
    assert customer_rule.evaluate(ctx) == []  # no risk flag for the customer: nothing to compare
    calm = mention("2", PRAISE_FA, lang="fa", risk=12, sentiment="positive")
    assert post_rule.evaluate(MentionContext(mention=calm, now=NOW)) == []


def test_old_posts_never_alert(tmp_path: Path) -> None:
    [rule] = rules_of(tmp_path, {"type": "risk_threshold", "subject": "mention", "threshold": 50})
    backfilled = mention("old", MINA_EN, risk=95, published=NOW - timedelta(days=30))
    assert rule.evaluate(MentionContext(mention=backfilled, now=NOW)) == []


def test_thread_velocity_from_engagement_history(tmp_path: Path) -> None:
    [rule] = rules_of(tmp_path, {"type": "thread_velocity", "min_per_hour": 100, "critical_per_hour": 1000})
    history = [EngagementPoint(at=NOW - timedelta(minutes=45 - 15 * i), shares=s) for i, s in enumerate([5, 40, 180, 500])]
    viral = mention("v", MINA_EN, handle="mina_r", history=history, thread_id="th-9")
    assert engagement_velocity(viral, "shares", timedelta(hours=1)) == pytest.approx(660)
    [m] = rule.evaluate(MentionContext(mention=viral, now=NOW))
    assert m.severity == rule.severity and m.reasons[0] == "shares +660/h" and m.subject_id == "th-9"
    flat = mention("f", MINA_EN, history=[EngagementPoint(at=NOW - timedelta(minutes=30), shares=5),
                                          EngagementPoint(at=NOW, shares=7)])
    assert rule.evaluate(MentionContext(mention=flat, now=NOW)) == []
    one_point = mention("o", MINA_EN, history=[EngagementPoint(at=NOW, shares=900)])
    assert rule.evaluate(MentionContext(mention=one_point, now=NOW)) == []


def test_key_customer_negative_names_customer_and_ticket(tmp_path: Path) -> None:
    [rule] = rules_of(tmp_path, {"type": "key_customer_negative", "severity": "high"})
    post = mention("forum-1", MINA_FA, platform="forum", handle="mina_r", lang="fa", customer_id="C-1042")
    [m] = rule.evaluate(MentionContext(mention=post, now=NOW, customer=mina()))
    assert m.severity == Severity.critical  # gold tier + reopened ticket: the trigger point
    assert m.subject_kind == "customer" and m.subject_id == "C-1042"
    assert "Mina Rahimi (C-1042, gold tier)" in m.reasons[0] and "ticket T-881 reopened, open 9 days" in m.reasons[1]
    bronze = mina().model_copy(update={"tier": "bronze", "lifetime_value": 100})
    assert rule.evaluate(MentionContext(mention=post, now=NOW, customer=bronze)) == []
    praise = mention("forum-2", PRAISE_FA, platform="forum", lang="fa", sentiment="positive", customer_id="C-1042")
    assert rule.evaluate(MentionContext(mention=praise, now=NOW, customer=mina())) == []


def test_campaign_detected_needs_enough_authors(tmp_path: Path) -> None:
    [rule] = rules_of(tmp_path, {"type": "campaign_detected", "min_authors": 5, "critical_authors": 20})
    copy = mention("c1", COPY_EN, handle="acc1", campaign_id="camp-1")
    small = campaign("camp-1", ["a", "b", "c"], ["mastodon:a1", "mastodon:a2", "mastodon:a3"])
    assert rule.evaluate(MentionContext(mention=copy, now=NOW, campaign=small)) == []
    big = campaign("camp-1", [f"m{i}" for i in range(20)], [f"mastodon:acc{i}" for i in range(20)])
    [m] = rule.evaluate(MentionContext(mention=copy, now=NOW, campaign=big))
    assert m.severity == Severity.critical and m.subject_id == "camp-1"
    assert m.reasons[0] == "coordinated campaign: 20 accounts posting near-identical text" and "#sepehrfail" in m.reasons[1]


def test_campaign_detected_pages_for_negative_campaigns_only(tmp_path: Path) -> None:
    """Copy-pasted praise (a giveaway) is no sabotage: below ``min_negative_share`` it stays quiet."""
    [rule] = rules_of(tmp_path, {"type": "campaign_detected", "min_authors": 5})
    copy = mention("c1", COPY_EN, handle="acc1", campaign_id="camp-1")
    big = campaign("camp-1", [f"m{i}" for i in range(12)], [f"mastodon:acc{i}" for i in range(12)])
    praise = big.model_copy(update={"negative_share": 0.25})
    assert rule.evaluate(MentionContext(mention=copy, now=NOW, campaign=praise)) == []
    angry = big.model_copy(update={"negative_share": 0.9})
    [m] = rule.evaluate(MentionContext(mention=copy, now=NOW, campaign=angry))
    assert m.reasons[:2] == ["coordinated campaign: 12 accounts posting near-identical text", "90% of its posts negative"]
    [anything] = rules_of(tmp_path, {"type": "campaign_detected", "min_authors": 5, "min_negative_share": 0})
    assert len(anything.evaluate(MentionContext(mention=copy, now=NOW, campaign=praise))) == 1
    with pytest.raises(RuleConfigError, match="min_negative_share"):
        rules_of(tmp_path, {"type": "campaign_detected", "min_negative_share": 1.5})


def test_risk_threshold_on_the_customers_risk_flag(tmp_path: Path) -> None:
    from core.domain import RiskFlag, RiskLevel

    [rule] = rules_of(tmp_path, {"type": "risk_threshold", "subject": "customer", "threshold": 60})
    post = mention("f1", MINA_FA, platform="forum", handle="mina_r", lang="fa", customer_id="C-1042")
    flag = RiskFlag(crm_id="C-1042", level=RiskLevel.high, score=78,
                    reasons=["linked to C-1042, gold tier, ticket T-881 unresolved 9 days"])
    [m] = rule.evaluate(MentionContext(mention=post, now=NOW, customer=mina(), risk_flag=flag))
    assert (m.subject_kind, m.subject_id, m.score) == ("customer", "C-1042", 78)
    assert m.reasons == ["linked to C-1042, gold tier, ticket T-881 unresolved 9 days"]
    low = flag.model_copy(update={"score": 30, "level": RiskLevel.watch})
    assert rule.evaluate(MentionContext(mention=post, now=NOW, customer=mina(), risk_flag=low)) == []


def test_an_old_post_going_viral_now_still_fires_velocity(tmp_path: Path) -> None:
    [rule] = rules_of(tmp_path, {"type": "thread_velocity", "min_per_hour": 100})
    history = [EngagementPoint(at=NOW - timedelta(minutes=30), shares=20), EngagementPoint(at=NOW, shares=400)]
    revived = mention("old-viral", MINA_EN, published=NOW - timedelta(days=5), history=history)
    [m] = rule.evaluate(MentionContext(mention=revived, now=NOW))
    assert m.reasons[0] == "shares +760/h"
    stale = mention("old-stale", MINA_EN, published=NOW - timedelta(days=5),
                    history=[EngagementPoint(at=NOW - timedelta(days=4, minutes=30), shares=20),
                             EngagementPoint(at=NOW - timedelta(days=4), shares=400)])
    assert rule.evaluate(MentionContext(mention=stale, now=NOW)) == []


def test_key_customer_min_risk_skips_mild_grumbles_unless_a_ticket_is_open(tmp_path: Path) -> None:
    from core.domain import Customer

    [rule] = rules_of(tmp_path, {"type": "key_customer_negative", "min_risk": 50, "channels": ["inbox"]})
    grumble = mention("g1", "The Sepehr Mobile queue was a bit slow today, meh", handle="gold_g", customer_id="C-5",
                      risk=32, reasons=["mildly negative"])
    calm_gold = Customer(crm_id="C-5", name="Gold Customer", tier="gold")
    assert rule.evaluate(MentionContext(mention=grumble, now=NOW, customer=calm_gold)) == []
    loud = mention("g2", MINA_EN, handle="gold_g", customer_id="C-5", risk=72)
    [match] = rule.evaluate(MentionContext(mention=loud, now=NOW, customer=calm_gold))
    assert match.subject_id == "C-5"
    # Mina has a reopened ticket: even a mild post of hers is the trigger point.
    [with_ticket] = rule.evaluate(MentionContext(mention=grumble.model_copy(update={"customer_id": "C-1042"}), now=NOW,
                                                 customer=mina()))
    assert with_ticket.severity == Severity.critical

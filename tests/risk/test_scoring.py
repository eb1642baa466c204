"""The explainable risk score: who posts, with which ticket, and how angry, changes the score and says why."""

from __future__ import annotations

from datetime import timedelta

from core.config import RiskSettings
from core.domain import TicketStatus
from risk.scoring import COMPONENTS, score_mention
from risk.virality import ViralitySignals
from tests.risk.conftest import (
    ANGRY_EN, MINA_FA, NOW, PRAISE_FA, angry_analysis, john, make_mention, mina, praise_analysis,
)

RISK = RiskSettings()


def _angry_en():
    analysis = angry_analysis(ANGRY_EN, "en", cues=[("Share this everywhere", "call_to_action"),
                                                     ("never buy from Sepehr Mobile", "boycott")])
    return make_mention("110", ANGRY_EN, handle="mina_r", analysis=analysis)


def _angry_fa():
    analysis = angry_analysis(MINA_FA, "fa", anger=0.91, cues=[("همه بازنشر کنید", "call_to_action"),
                                                               ("دارم میرم سراغ آریانت", "tag_competitor"),
                                                               ("هیچکس جواب نداد", "failed_support")],
                              reasons=["reason_service", "reason_switching"])
    return make_mention("p10100", MINA_FA, platform="forum", handle="mina_r", analysis=analysis)


def test_gold_customer_with_nine_day_old_ticket_scores_higher_than_unknown_author_and_says_why():
    for post in (_angry_en(), _angry_fa()):
        unknown = score_mention(post, RISK, NOW)
        customer = score_mention(post, RISK, NOW, customer=mina())
        assert customer.score > unknown.score + 15
        linked = [r for r in customer.reasons if r.startswith("linked to")]
        assert linked == ["linked to C-1042, gold tier, ticket T-881 unresolved 9 days"]
        assert not any(r.startswith("linked to") for r in unknown.reasons)
        assert customer.components["trigger"] == 1.0 and unknown.components["trigger"] == 0.0
        assert customer.components["value"] > 0.7
        assert "Mina" not in " ".join(customer.reasons)  # reasons carry the CRM id, never the name


def test_reasons_quote_anger_and_the_calls_to_action():
    score = score_mention(_angry_en(), RISK, NOW, signals=ViralitySignals(shares_per_hour=420))
    assert score.reasons[0] == "angry 0.93"
    assert "'Share this everywhere'" in score.reasons
    assert "shares +420/h" in score.reasons
    assert "complaint: service" in score.reasons
    assert set(score.components) == set(COMPONENTS)
    fa = score_mention(_angry_fa(), RISK, NOW)
    assert "'همه بازنشر کنید'" in fa.reasons
    assert "complaint: switching, service" in fa.reasons


def test_resolved_ticket_is_no_trigger_but_a_young_open_one_is_a_smaller_one():
    post = _angry_en()
    resolved = score_mention(post, RISK, NOW, customer=mina(TicketStatus.resolved))
    assert resolved.components["trigger"] == 0.0
    fresh = mina(TicketStatus.open)
    fresh.tickets[0].opened_at = NOW - timedelta(days=1)
    young = score_mention(post, RISK, NOW, customer=fresh)
    old = score_mention(post, RISK, NOW, customer=mina(TicketStatus.open))
    assert 0 < young.components["trigger"] < old.components["trigger"] == 1.0
    assert "ticket T-881 open 1 day" in young.reasons[-2]
    assert resolved.score < young.score < old.score


def test_gold_customer_without_ticket_weighs_more_than_unknown_but_less_than_with_ticket():
    post = _angry_en()
    unknown = score_mention(post, RISK, NOW).score
    gold = score_mention(post, RISK, NOW, customer=john()).score
    triggered = score_mention(post, RISK, NOW, customer=mina()).score
    assert unknown < gold < triggered


def test_praise_scores_low_even_when_viral_and_from_a_key_customer():
    post = make_mention("p1", PRAISE_FA, platform="forum", handle="mina_r", analysis=praise_analysis("fa"))
    score = score_mention(post, RISK, NOW, customer=mina(), signals=ViralitySignals(shares_per_hour=500, reach=20000))
    assert score.score < 30
    angry = score_mention(_angry_fa(), RISK, NOW, customer=mina(), signals=ViralitySignals(shares_per_hour=500))
    assert angry.score > 80


def test_weights_come_from_settings():
    post = _angry_en()
    default = score_mention(post, RISK, NOW, customer=mina())
    heavy_trigger = RiskSettings(weights={**RISK.weights, "trigger": 0.6})
    assert score_mention(post, heavy_trigger, NOW, customer=mina()).score > default.score
    no_trigger = RiskSettings(weights={**RISK.weights, "trigger": 0.0, "value": 0.0})
    assert score_mention(post, no_trigger, NOW, customer=mina()).score == score_mention(post, no_trigger, NOW).score


def test_rfm_makes_a_frequent_big_spender_without_tier_a_key_customer():
    from core.domain import RFM, Customer

    post = _angry_en()
    loyal = Customer(crm_id="C-1203", rfm=RFM(recency_days=3, frequency=21, monetary=11800))
    lapsed = Customer(crm_id="C-9001", rfm=RFM(recency_days=700, frequency=1, monetary=40))
    assert score_mention(post, RISK, NOW, customer=loyal).components["value"] > 0.9
    assert score_mention(post, RISK, NOW, customer=lapsed).components["value"] < 0.1
    assert score_mention(post, RISK, NOW, customer=loyal).score > score_mention(post, RISK, NOW, customer=lapsed).score


# Mina's forum post as the demo crawled it, with the cues the NLP stage found and the unsure
# sentiment the model gave it (it called the post neutral).
MINA_FORUM = ("گوشیم رو برای تعویض صفحه دادم به تعمیرات سپهر موبایل و دوباره خراب تحویلم دادن. این دومین باره! "
              "پنج بار به پشتیبانی زنگ زدم و هیچ‌کس جواب نداد. شماره تیکت T-881 هنوز باز مونده.\n\n"
              "همه بازنشر کنید تا بقیه گول نخورن. دیگه از سپهر موبایل خرید نمی‌کنم و میرم سراغ آریانت. #سپهر_موبایل")


def _unsure_analysis(text: str, lang: str, cues: list[tuple[str, str]], reasons: list[str]):
    from core.domain import Analysis
    from tests.risk.conftest import cue

    return Analysis(lang=lang, sentiment="neutral", sentiment_scores={"negative": 0.35, "neutral": 0.53, "positive": 0.12},
                    emotions={"anger": 0.18, "sadness": 0.2}, anger=0.18, complaint_reasons=reasons,
                    cues=[cue(text, evidence, kind, score=1.0) for evidence, kind in cues], model="test-model", analyzed_at=NOW)


def _mina_forum_post():
    analysis = _unsure_analysis(MINA_FORUM, "fa", [
        ("خراب", "reason_product"), ("پنج بار به پشتیبانی زنگ", "failed_support"), ("هیچ‌کس جواب", "failed_support"),
        ("تیکت T-881 هنوز باز", "failed_support"), ("همه بازنشر کنید", "call_to_action"),
        ("میرم سراغ آریانت.", "reason_switching"), ("آریانت", "tag_competitor"),
    ], ["product", "switching"])
    return make_mention("p10100", MINA_FORUM, platform="forum", handle="mina_r", analysis=analysis)


def test_a_complaint_the_model_calls_neutral_still_counts_as_negative_and_reaches_high():
    post = _mina_forum_post()
    score = score_mention(post, RISK, NOW, customer=mina(), signals=ViralitySignals(shares_per_hour=2))
    assert score.components["negativity"] >= 0.8  # failed support + switching to a competitor is dissatisfaction
    assert score.score >= RISK.levels["high"]
    assert any(r.startswith("complaint cues imply negative") for r in score.reasons)
    assert score_mention(post, RISK, NOW, customer=mina()).score >= RISK.levels["high"]  # even before it spreads


def test_a_positive_post_asking_to_share_stays_low():
    text = "Share this, Sepehr Mobile is great! My phone came back from repair in one day. #sepehrmobile"
    from core.domain import Analysis
    from tests.risk.conftest import cue

    analysis = Analysis(lang="en", sentiment="positive", sentiment_scores={"negative": 0.03, "neutral": 0.12, "positive": 0.85},
                        emotions={"joy": 0.8, "anger": 0.01}, anger=0.01, model="test-model", analyzed_at=NOW,
                        cues=[cue(text, "Share this", "call_to_action", score=1.0)])
    post = make_mention("120", text, handle="mina_r", analysis=analysis)
    score = score_mention(post, RISK, NOW, customer=mina(), signals=ViralitySignals(shares_per_hour=300))
    assert score.components["negativity"] < 0.05
    assert score.score < RISK.levels["watch"]
    # Even an unsure model with a "switched to" cue in praise does not make it hostile when it is sure it is positive.
    praise = _unsure_analysis(text, "en", [("Share this", "call_to_action")], ["switching"])
    praise = praise.model_copy(update={"sentiment": "positive",
                                       "sentiment_scores": {"negative": 0.05, "neutral": 0.25, "positive": 0.7}})
    assert score_mention(make_mention("121", text, analysis=praise), RISK, NOW).components["negativity"] < 0.2


def test_complaint_reasons_are_named_once_in_order():
    score = score_mention(_mina_forum_post(), RISK, NOW)
    assert [r for r in score.reasons if r.startswith("complaint:")] == ["complaint: switching, product"]
    assert score.components["reason"] == 1.0  # switching weighs most, whether written with or without the prefix


def test_the_complaint_head_counts_where_a_complaint_is_meant_not_the_sentiment():
    # A factual Persian complaint with no complaint cues that the sentiment model calls neutral:
    # the complaint head's calibrated probability carries it (and says so); an old analysis
    # without a complaint probability scores as before.
    text = "سه روزه اینترنتم قطعه و هنوز کسی پیگیری نکرده، این چه وضعشه"
    unsure = _unsure_analysis(text, "fa", [], [])
    without = score_mention(make_mention("c1", text, analysis=unsure), RISK, NOW)
    likely = score_mention(make_mention("c2", text, analysis=unsure.model_copy(update={"complaint": 0.92})), RISK, NOW)
    unlikely = score_mention(make_mention("c3", text, analysis=unsure.model_copy(update={"complaint": 0.3})), RISK, NOW)
    assert without.components["negativity"] < 0.3 and not any(r.startswith("complaint") for r in without.reasons)
    assert likely.components["negativity"] > 0.75 and "complaint 0.92" in likely.reasons
    assert likely.score > without.score
    assert unlikely.components == without.components and unlikely.reasons == without.reasons

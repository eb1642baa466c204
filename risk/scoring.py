"""The explainable 0-100 risk score of a mention, thread or campaign.

Six components, each 0-1, weighted by ``settings.risk.weights``: negativity (negative
sentiment and anger), sabotage intent (calls to action, boycotts, threats, tagging
competitors, failed support), virality, trigger point (a linked customer's open,
reopened or long-unresolved ticket), customer value (tier, RFM, lifetime value) and
complaint reason. Everything but negativity is scaled by how hostile the post is
(``0.25 + 0.75 * negativity``): a viral, cheerful post by a gold customer is no risk.

Negativity also counts complaint evidence. A sentiment model is often unsure about a
long, factual complaint ("called support five times, nobody answered, I'm switching to
Arianet" reads as *neutral* to it), yet failed support, a boycott, a threat, a complaint
reason or switching to a competitor is itself dissatisfaction. So negativity is
``max(model negativity, cue-implied level)``, where the cue-implied level combines
``COMPLAINT_NEGATIVITY`` per cue kind as independent chances (capped at
``MAX_CUE_NEGATIVITY``). It applies only when the model is *not* confidently positive
(positive probability below ``POSITIVE_VETO``), and calls to share or tagging a
competitor are not complaint evidence: "share this, Sepehr Mobile is great!" stays low.

The NLP stage's complaint head says the same thing directly: ``analysis.complaint`` is the
calibrated probability that the post is a complaint (trained on customers' posts to brands;
for English blended with the sentiment model's negative probability, see ``nlp/MODEL_CARD.md``).
Where the score means "is this a complaint?", it reads that probability,
not the negative-sentiment one: a likely complaint (at least ``COMPLAINT_LIKELY``) implies
negativity ``MAX_CUE_NEGATIVITY * complaint``, taken like the cue level (the larger wins),
and the reasons say ``complaint 0.91``. Analyses written before the head existed have no
complaint probability and score as before.

Every score carries its ``components`` and short ``reasons`` a person can read, e.g.
``angry 0.93 · 'share this everywhere' · shares +420/h · linked to C-1042, gold tier,
ticket T-881 unresolved 9 days``. Reasons never name the customer (only the CRM id).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Iterable

from core.config import RiskSettings
from core.domain import Analysis, Customer, Mention, RiskScore, TicketStatus
from risk.virality import ViralitySignals, virality_component

COMPONENTS = ("negativity", "sabotage", "virality", "trigger", "value", "reason")
SABOTAGE_WEIGHTS = {
    "call_to_action": 0.65, "boycott": 0.6, "threat_public": 0.55, "threat_legal": 0.45,
    "tag_competitor": 0.35, "failed_support": 0.35,
}
# How strongly each kind of complaint evidence alone implies a dissatisfied author (0-1).
COMPLAINT_NEGATIVITY = {
    "failed_support": 0.5, "boycott": 0.5, "threat_legal": 0.5, "threat_public": 0.4,
    "reason_switching": 0.5, "reason_service": 0.3, "reason_product": 0.3, "reason_price": 0.25,
}
MAX_CUE_NEGATIVITY = 0.85  # complaint words never count for more than a clearly negative model
COMPLAINT_LIKELY = 0.5  # a calibrated complaint probability from here on counts as complaint evidence
POSITIVE_VETO = 0.5  # a model this sure the post is positive overrides the cues (praise that says "switched to us")
REASON_WEIGHTS = {"reason_switching": 1.0, "reason_service": 0.8, "reason_product": 0.7, "reason_price": 0.5}
TIER_VALUES = {"platinum": 1.0, "vip": 1.0, "gold": 0.8, "silver": 0.5, "bronze": 0.25}
_TICKET_BASE = {TicketStatus.reopened: 0.8, TicketStatus.open: 0.6, TicketStatus.pending: 0.3}


def _saturate(value: float, half_at: float) -> float:
    return 1.0 - math.exp(-math.log(2) * max(value, 0.0) / half_at)


def _reason_kinds(analysis: Analysis) -> list[str]:
    """Complaint reasons as ``reason_*`` kinds, first seen first, each once (the NLP stage writes
    ``complaint_reasons`` without the prefix and the cues with it)."""
    kinds = [r if r.startswith("reason_") else f"reason_{r}" for r in analysis.complaint_reasons]
    kinds += [c.kind for c in analysis.cues if c.kind.startswith("reason_")]
    return list(dict.fromkeys(kinds))


def cue_negativity(analysis: Analysis | None) -> float:
    """The dissatisfaction that complaint evidence alone implies (see the module docstring)."""
    if analysis is None:
        return 0.0
    strength = {kind: 1.0 for kind in _reason_kinds(analysis) if kind in COMPLAINT_NEGATIVITY}
    for cue in analysis.cues:
        if cue.kind in COMPLAINT_NEGATIVITY:
            strength[cue.kind] = max(strength.get(cue.kind, 0.0), max(0.0, min(1.0, cue.score)))
    remaining = 1.0
    for kind, score in strength.items():
        remaining *= 1.0 - COMPLAINT_NEGATIVITY[kind] * score
    return min(MAX_CUE_NEGATIVITY, 1.0 - remaining)


def complaint_negativity(analysis: Analysis | None) -> float:
    """The negativity a likely complaint implies (0 below ``COMPLAINT_LIKELY`` or without a complaint head)."""
    if analysis is None or analysis.complaint is None or analysis.complaint < COMPLAINT_LIKELY:
        return 0.0
    return MAX_CUE_NEGATIVITY * analysis.complaint


def negativity_component(analysis: Analysis | None) -> tuple[float, list[str]]:
    """Mean of the negative-sentiment probability and anger, raised to the level the complaint
    head or the complaint cues imply when the sentiment model is unsure; reasons read
    'angry 0.93', 'negative 0.88', 'complaint 0.91' or 'complaint cues imply negative 0.80'."""
    if analysis is None:
        return 0.0, []
    negative = analysis.sentiment_scores.get("negative", 1.0 if analysis.sentiment == "negative" else 0.0)
    positive = analysis.sentiment_scores.get("positive", 1.0 if analysis.sentiment == "positive" else 0.0)
    anger = max(analysis.anger, analysis.emotions.get("anger", 0.0))
    value = 0.5 * negative + 0.5 * anger
    cues = cue_negativity(analysis) if positive < POSITIVE_VETO else 0.0
    complaint = complaint_negativity(analysis)
    implied = max(cues, complaint)
    complaint_reason = [f"complaint {analysis.complaint:.2f}"] if complaint else []
    if anger >= 0.5:
        return max(value, implied), [f"angry {anger:.2f}"] + complaint_reason
    if implied > value and negative < 0.5:
        if complaint >= cues:
            return implied, complaint_reason
        return implied, [f"complaint cues imply negative {implied:.2f}"]
    return max(value, implied), ([f"negative {negative:.2f}"] if negative >= 0.5 else []) + complaint_reason


def sabotage_component(analysis: Analysis | None) -> tuple[float, list[str]]:
    """Sabotage cues combined as independent chances; reasons quote up to two of them."""
    if analysis is None:
        return 0.0, []
    best: dict[str, tuple[float, str]] = {}
    for cue in analysis.cues:
        weight = SABOTAGE_WEIGHTS.get(cue.kind)
        if weight is not None and weight * cue.score > best.get(cue.kind, (0.0, ""))[0]:
            best[cue.kind] = (weight * cue.score, cue.evidence.strip())
    remaining = 1.0
    for weight, _ in best.values():
        remaining *= 1.0 - weight
    quotes = [f"'{evidence}'" for _, evidence in sorted(best.values(), reverse=True) if evidence][:2]
    return 1.0 - remaining, quotes


def reason_component(analysis: Analysis | None) -> tuple[float, list[str]]:
    """The strongest complaint reason (switching to a competitor weighs most)."""
    if analysis is None:
        return 0.0, []
    kinds = _reason_kinds(analysis)
    if not kinds:
        return 0.0, []
    # Strongest first; equal weights keep the order the analysis named them in (sort is stable).
    ranked = sorted(kinds, key=lambda k: -REASON_WEIGHTS.get(k, 0.4))
    labels = ", ".join(k.removeprefix("reason_") for k in ranked)
    return REASON_WEIGHTS.get(ranked[0], 0.4), [f"complaint: {labels}"]


def trigger_component(customer: Customer | None, now: datetime, unresolved_days: float) -> tuple[float, str | None]:
    """A linked customer's open/reopened ticket, or one unresolved for ``unresolved_days`` or more."""
    if customer is None:
        return 0.0, None
    best, text = 0.0, None
    for ticket in customer.tickets:
        base = _TICKET_BASE.get(ticket.status)
        if base is None:
            continue
        days = (now - ticket.opened_at).total_seconds() / 86400
        value = (0.85 if ticket.status == TicketStatus.pending else 1.0) if days >= unresolved_days else base
        if value > best:
            status = "unresolved" if days >= unresolved_days else ticket.status.value
            best, text = value, f"ticket {ticket.id} {status} {int(days)} day{'s' if int(days) != 1 else ''}"
    return best, text


def value_component(customer: Customer | None) -> tuple[float, str | None]:
    """Customer value from tier, lifetime value or RFM (the highest of the three)."""
    if customer is None:
        return 0.0, None
    tier = (customer.tier or "").strip().lower()
    values = [TIER_VALUES.get(tier, 0.3 if tier else 0.0)]
    if customer.lifetime_value:
        values.append(_saturate(customer.lifetime_value, 2000))
    if customer.rfm is not None:
        values.append(rfm_value(customer.rfm.recency_days, customer.rfm.frequency, customer.rfm.monetary))
    return max(values), (f"{tier} tier" if tier else None)


def rfm_value(recency_days: float | None, frequency: float | None, monetary: float | None) -> float:
    """Mean of the known RFM parts, each 0-1: bought recently, often, and for much."""
    parts = []
    if recency_days is not None:
        parts.append(0.5 ** (max(recency_days, 0.0) / 90))  # a purchase 90 days ago counts half
    if frequency is not None:
        parts.append(_saturate(frequency, 5))
    if monetary is not None:
        parts.append(_saturate(monetary, 2000))
    return sum(parts) / len(parts) if parts else 0.0


def virality_reasons(signals: ViralitySignals | None) -> list[str]:
    """'shares +420/h', 'campaign of 20 accounts' and the like, only for notable values."""
    if signals is None:
        return []
    out: list[str] = []
    if signals.shares_per_hour >= 1:
        out.append(f"shares +{signals.shares_per_hour:.0f}/h")
    elif signals.replies_per_hour >= 1:
        out.append(f"replies +{signals.replies_per_hour:.0f}/h")
    if signals.acceleration >= 50:
        out.append("accelerating")
    if signals.reach >= 5000:
        out.append(f"author reach {signals.reach:,} followers")
    if signals.distinct_authors >= 3:
        out.append(f"{signals.distinct_authors} accounts")
    if signals.distinct_sources >= 2:
        out.append(f"{signals.distinct_sources} sources")
    if signals.campaign_authors >= 2:
        out.append(f"coordinated campaign of {signals.campaign_authors} accounts")
    return out


def combine(components: dict[str, float], weights: dict[str, float]) -> float:
    """Weighted 0-100 score; every component but negativity is scaled by hostility."""
    total = sum(weights.get(name, 0.0) for name in COMPONENTS) or 1.0
    hostility = 0.25 + 0.75 * components.get("negativity", 0.0)
    raw = weights.get("negativity", 0.0) * components.get("negativity", 0.0)
    raw += hostility * sum(weights.get(name, 0.0) * components.get(name, 0.0) for name in COMPONENTS[1:])
    return round(max(0.0, min(100.0, 100.0 * raw / total)), 1)


def score_mention(
    mention: Mention, settings: RiskSettings, now: datetime, *,
    customer: Customer | None = None, signals: ViralitySignals | None = None,
) -> RiskScore:
    """Score one mention. ``customer`` must be a *confirmed* link (suggestions never count)."""
    analysis = mention.analysis
    negativity, neg_reasons = negativity_component(analysis)
    sabotage, quotes = sabotage_component(analysis)
    trigger, ticket_text = trigger_component(customer, now, settings.unresolved_ticket_days)
    value, tier_text = value_component(customer)
    reason, reason_text = reason_component(analysis)
    components = {
        "negativity": negativity, "sabotage": sabotage,
        "virality": virality_component(signals) if signals else 0.0,
        "trigger": trigger, "value": value, "reason": reason,
    }
    reasons = neg_reasons + quotes + virality_reasons(signals)
    if customer is not None:
        reasons.append(", ".join(x for x in (f"linked to {customer.crm_id}", tier_text, ticket_text) if x))
    reasons += reason_text
    rounded = {k: round(v, 3) for k, v in components.items()}
    return RiskScore(score=combine(components, settings.weights), components=rounded, reasons=reasons, scored_at=now)


def score_group(
    member_scores: Iterable[RiskScore], signals: ViralitySignals, settings: RiskSettings, now: datetime,
) -> RiskScore:
    """Score a thread or campaign: each component is its strongest member's, virality the group's.

    The group score is never below its riskiest member's: a thread is as dangerous as its
    worst post, and more when it spreads.
    """
    scores = [s for s in member_scores if s is not None]
    components = {name: max((s.components.get(name, 0.0) for s in scores), default=0.0) for name in COMPONENTS}
    components["virality"] = max(components["virality"], virality_component(signals))
    if signals.campaign_authors >= 2:
        # Many accounts posting the same words is deliberate: coordination is sabotage intent too.
        coordination = 0.6 * (1 - 0.5 ** (signals.campaign_authors / 6))
        components["sabotage"] = 1 - (1 - components["sabotage"]) * (1 - coordination)
    top = max(scores, key=lambda s: s.score, default=None)
    reasons = virality_reasons(signals)
    for reason in top.reasons if top else []:
        if reason not in reasons and not reason.startswith(("shares +", "replies +")):
            reasons.append(reason)
    score = max(combine(components, settings.weights), top.score if top else 0.0)
    rounded = {k: round(v, 3) for k, v in components.items()}
    return RiskScore(score=score, components=rounded, reasons=reasons, scored_at=now)

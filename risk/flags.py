"""Per-customer risk flags for the CRM: level, score, reasons, evidence.

A customer's flag is recomputed from the stored evidence (their linked, scored mentions)
every time, so it is idempotent and restart-safe:

- each mention counts with its stored components, but the trigger (tickets) and value
  parts are re-read from the customer *now*, so resolving a ticket lowers the flag;
- each mention's weight halves every ``settings.risk.decay_half_life_hours`` since its last
  activity (publication or the newest engagement growth);
- several risky mentions raise the flag above the strongest one alone.

``store.upsert_risk_flag`` writes only real changes, so each change is in the feed once.
The periodic decay pass writes a flag only when its level changes or its score moved by
at least ``MIN_DECAY_STEP`` points, so the feed is not flooded with tiny decay steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from core.config import RiskSettings
from core.domain import Customer, Mention, RiskFlag, RiskLevel
from core.store.port import MentionQuery, Store
from risk.scoring import combine, trigger_component, value_component

MAX_EVIDENCE = 20
MIN_EVIDENCE_SCORE = 10.0
MIN_DECAY_STEP = 2.0
EXTRA_EVIDENCE_SHARE = 0.3  # how much each further risky mention closes the gap to 100


def level_for(score: float, settings: RiskSettings) -> RiskLevel:
    """The highest level whose threshold ``score`` reaches (``settings.risk.levels``)."""
    for name in ("critical", "high", "watch"):
        threshold = settings.levels.get(name)
        if threshold is not None and score >= threshold:
            return RiskLevel(name)
    return RiskLevel.none


def last_activity(mention: Mention) -> datetime:
    """When the mention last grew: its publication or the newest history point with more engagement."""
    latest = mention.published_at
    points = sorted(mention.engagement_history, key=lambda p: p.at)
    for before, after in zip(points, points[1:]):
        grew = any((getattr(after, k) or 0) > (getattr(before, k) or 0) for k in ("shares", "replies", "likes", "views"))
        if grew and after.at > latest:
            latest = after.at
    return latest


def decayed(score: float, since: datetime, now: datetime, half_life_hours: float) -> float:
    """``score`` halved for every half-life between ``since`` and ``now`` (never grows)."""
    hours = max((now - since).total_seconds() / 3600, 0.0)
    return score * 0.5 ** (hours / half_life_hours)


def _current_reasons(customer: Customer, mention: Mention, settings: RiskSettings, now: datetime) -> list[str]:
    _, ticket_text = trigger_component(customer, now, settings.unresolved_ticket_days)
    _, tier_text = value_component(customer)
    linked = ", ".join(x for x in (f"linked to {customer.crm_id}", tier_text, ticket_text) if x)
    kept = [r for r in (mention.risk.reasons if mention.risk else []) if not r.startswith("linked to ")]
    return kept + [linked]


def compute_flag(customer: Customer, evidence: list[Mention], settings: RiskSettings, now: datetime) -> RiskFlag:
    """The customer's flag as of ``now`` from their scored mentions."""
    trigger, _ = trigger_component(customer, now, settings.unresolved_ticket_days)
    value, _ = value_component(customer)
    scored: list[tuple[float, Mention]] = []
    for mention in evidence:
        if mention.risk is None:
            continue
        components = {**mention.risk.components, "trigger": trigger, "value": value}
        score = decayed(combine(components, settings.weights), last_activity(mention), now,
                        settings.decay_half_life_hours)
        if score >= MIN_EVIDENCE_SCORE:
            scored.append((score, mention))
    scored.sort(key=lambda pair: (-pair[0], pair[1].id))
    total = 0.0
    for score, _ in scored:
        total = score if total == 0 else total + (100 - total) * (score / 100) * EXTRA_EVIDENCE_SHARE
    total = round(min(total, 100.0), 1)
    reasons: list[str] = []
    if scored:
        reasons = _current_reasons(customer, scored[0][1], settings, now)
        if len(scored) > 1:
            reasons.append(f"{len(scored)} risky posts")
    return RiskFlag(crm_id=customer.crm_id, level=level_for(total, settings), score=total, reasons=reasons,
                    evidence_ids=[m.id for _, m in scored[:MAX_EVIDENCE]], updated_at=now)


def customer_evidence(
    store: Store, crm_id: str, settings: RiskSettings, now: datetime, *,
    fresh: Iterable[Mention] = (), previous: RiskFlag | None = None,
) -> list[Mention]:
    """The customer's linked mentions recent enough to still matter (eight half-lives).

    A search index can lag behind writes (Elasticsearch makes a write searchable at its next
    refresh, about a second later), so the search alone may miss the mention this worker has just
    linked, or the one another worker linked a moment ago. ``fresh`` (this worker's just-written
    mentions) and the stored flag's evidence, read by id (real-time on every backend), are added,
    so a flag is never lowered for want of a post the store already has.
    """
    since = now - timedelta(hours=8 * settings.decay_half_life_hours)
    page = store.search_mentions(MentionQuery(customer_id=crm_id, since=since, sort="risk", limit=200))
    found = {m.id: m for m in page.items}
    unseen = [i for i in (previous.evidence_ids if previous else []) if i not in found]
    for mention in [*(store.get_mentions(unseen) if unseen else []), *fresh]:
        if mention.customer_id == crm_id and mention.published_at >= since:
            found[mention.id] = mention
    return list(found.values())


def update_customer_flag(
    store: Store, customer: Customer, settings: RiskSettings, now: datetime, *, min_step: float = 0.0,
    fresh: Iterable[Mention] = (),
) -> RiskFlag | None:
    """Recompute and store the customer's flag; returns the stored change or None.

    ``fresh``: mentions just written by the caller (see :func:`customer_evidence`). ``min_step`` > 0
    (the decay pass) skips changes smaller than that unless the level changes.
    """
    if customer.erased:
        return clear_flag(store, customer.crm_id, now)
    old = store.get_risk_flag(customer.crm_id)
    evidence = customer_evidence(store, customer.crm_id, settings, now, fresh=fresh, previous=old)
    flag = compute_flag(customer, evidence, settings, now)
    if min_step > 0:
        if old is not None and old.level == flag.level and abs(old.score - flag.score) < min_step:
            return None
        if old is None and flag.level == RiskLevel.none and flag.score == 0:
            return None
    return store.upsert_risk_flag(flag)


def clear_flag(store: Store, crm_id: str, now: datetime) -> RiskFlag | None:
    """Set the flag to none with no reasons or evidence (after erasure); None if already clear."""
    if store.get_risk_flag(crm_id) is None:
        return None
    return store.upsert_risk_flag(RiskFlag(crm_id=crm_id, level=RiskLevel.none, score=0, updated_at=now))


RECHECK_RECENT = timedelta(hours=1)


def decay_pass(store: Store, settings: RiskSettings, now: datetime, page_size: int = 200) -> int:
    """Recompute every raised flag, and every flag written within ``RECHECK_RECENT``, as of ``now``
    (time passed, tickets resolved); returns changes stored.

    The recent ones are rechecked because two risk workers writing one customer's flag within a
    search refresh can leave the one that saw less (last write wins); by the next pass the search
    sees everything, so such a flag is right again within one decay interval."""
    changed, cursor = 0, None
    raised: list[str] = []
    while True:
        page = store.risk_flag_feed(cursor, limit=page_size)
        raised += [f.crm_id for f in page.items
                   if f.score > 0 or f.level != RiskLevel.none or f.updated_at >= now - RECHECK_RECENT]
        if not page.items:
            break
        cursor = page.next_cursor
    for crm_id in dict.fromkeys(raised):
        customer = store.get_customer(crm_id)
        if customer is None:
            continue
        if update_customer_flag(store, customer, settings, now, min_step=MIN_DECAY_STEP) is not None:
            changed += 1
    return changed

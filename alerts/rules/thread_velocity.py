"""thread_velocity: a post whose engagement grows faster than a given rate per hour."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from alerts.rules.base import MentionContext, Rule, RuleMatch, RuleOptions
from core.domain import Severity
from core.stats.velocity import engagement_velocity


class ThreadVelocityOptions(RuleOptions):
    min_per_hour: float = Field(gt=0)
    metric: Literal["shares", "replies", "likes", "views"] = "shares"
    window_minutes: float = Field(default=60, gt=0)
    critical_per_hour: float | None = Field(default=None, gt=0)
    min_negative: bool = True  # only negative posts (a viral compliment is not an incident)


class ThreadVelocityRule(Rule):
    """Fires on the thread (or the post, when it has no thread) whose engagement accelerates."""

    type_name = "thread_velocity"
    Options = ThreadVelocityOptions

    def evaluate(self, ctx: MentionContext) -> list[RuleMatch]:
        opts: ThreadVelocityOptions = self.options  # type: ignore[assignment]
        mention = ctx.mention
        last_seen = max((p.at for p in mention.engagement_history), default=mention.published_at)
        # An old post can go viral today: freshness is about the newest engagement, not the post date.
        if (ctx.now - last_seen).total_seconds() > self.common.max_mention_age_hours * 3600:
            return []
        if opts.min_negative and (mention.analysis is None or mention.analysis.sentiment != "negative"):
            return []
        rate = engagement_velocity(mention, opts.metric, timedelta(minutes=opts.window_minutes))
        if rate is None or rate < opts.min_per_hour:
            return []
        severity = Severity.critical if opts.critical_per_hour and rate >= opts.critical_per_hour else self.severity
        subject_kind = "thread" if mention.thread_id else "mention"
        subject_id = mention.thread_id or mention.id
        reasons = [f"{opts.metric} +{rate:.0f}/h"] + (list(mention.risk.reasons) if mention.risk else [])
        # A thread's customer is whoever started it, not the post that tipped the rule.
        customer_id = ctx.thread_customer_id if mention.thread_id else mention.customer_id
        current = getattr(mention.engagement, opts.metric)
        growth = {f"{opts.metric}/h": rate, **({opts.metric: float(current)} if current is not None else {})}
        return [
            RuleMatch(
                rule=self.name, brand=brand, subject_kind=subject_kind, subject_id=subject_id,
                severity=severity, title=f"{brand or 'Brand'}: negative thread spreading fast ({opts.metric} +{rate:.0f}/h)",
                reasons=reasons, mention_ids=[mention.id], customer_id=customer_id,
                score=mention.risk.score if mention.risk else None, mention=mention,
                facts={"velocity_per_hour": round(rate, 1), "metric": opts.metric}, growth=dict(growth),
            )
            for brand in self.brands_of(mention)
        ]

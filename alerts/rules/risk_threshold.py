"""risk_threshold: a mention, thread, campaign or customer whose risk score crosses a threshold."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from alerts.rules.base import MentionContext, Rule, RuleMatch, RuleOptions
from core.domain import Severity


class RiskThresholdOptions(RuleOptions):
    subject: Literal["mention", "thread", "campaign", "customer"]
    threshold: float = Field(ge=0, le=100)
    critical_above: float | None = Field(default=None, ge=0, le=100)  # raise to critical past this


class RiskThresholdRule(Rule):
    """Fires when the chosen subject's explainable risk score is at or above ``threshold``."""

    type_name = "risk_threshold"
    Options = RiskThresholdOptions

    def evaluate(self, ctx: MentionContext) -> list[RuleMatch]:
        opts: RiskThresholdOptions = self.options  # type: ignore[assignment]
        mention = ctx.mention
        if not self.is_fresh(mention, ctx.now):
            return []
        subject_id, score, reasons = self._subject(ctx, opts.subject)
        if subject_id is None or score is None or score < opts.threshold:
            return []
        severity = self.severity
        if opts.critical_above is not None and score >= opts.critical_above:
            severity = Severity.critical
        label = {"mention": "post", "thread": "thread", "campaign": "campaign", "customer": "customer"}[opts.subject]
        return [
            RuleMatch(
                rule=self.name, brand=brand, subject_kind=opts.subject, subject_id=subject_id,
                severity=severity, title=f"{brand or 'Brand'}: risky {label} (risk {score:.0f}/100)",
                reasons=list(reasons), mention_ids=[mention.id],
                customer_id=ctx.thread_customer_id if opts.subject == "thread" else mention.customer_id,
                score=score, mention=mention,
            )
            for brand in self.brands_of(mention)
        ]

    @staticmethod
    def _subject(ctx: MentionContext, subject: str) -> tuple[str | None, float | None, list[str]]:
        mention = ctx.mention
        if subject == "mention":
            return mention.id, _score(mention.risk), _reasons(mention.risk)
        if subject == "thread":
            if ctx.thread is not None:
                return ctx.thread.id, _score(ctx.thread.risk), _reasons(ctx.thread.risk)
            return None, None, []
        if subject == "campaign":
            if ctx.campaign is not None:
                return ctx.campaign.id, _score(ctx.campaign.risk), _reasons(ctx.campaign.risk)
            return None, None, []
        if ctx.risk_flag is not None and mention.customer_id:
            return mention.customer_id, ctx.risk_flag.score, list(ctx.risk_flag.reasons)
        return None, None, []


def _score(risk) -> float | None:  # noqa: ANN001 - RiskScore | None
    return None if risk is None else risk.score


def _reasons(risk) -> list[str]:  # noqa: ANN001
    return [] if risk is None else list(risk.reasons)

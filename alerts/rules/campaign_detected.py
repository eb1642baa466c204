"""campaign_detected: near-identical posts by many authors (a coordinated campaign)."""

from __future__ import annotations

from pydantic import Field

from alerts.rules.base import MentionContext, Rule, RuleMatch, RuleOptions
from core.domain import Severity


class CampaignOptions(RuleOptions):
    min_authors: int = Field(default=5, ge=2)
    critical_authors: int | None = Field(default=None, ge=2)
    # Sabotage is negative: copy-pasted praise (a giveaway, a fan campaign, a shared compliment)
    # is a campaign analysts can see, not one support is paged for. 0 alerts on every campaign.
    min_negative_share: float = Field(default=0.5, ge=0, le=1)


class CampaignDetectedRule(Rule):
    """Fires once per campaign when it reaches ``min_authors``; growth updates the same alert."""

    type_name = "campaign_detected"
    Options = CampaignOptions

    def evaluate(self, ctx: MentionContext) -> list[RuleMatch]:
        opts: CampaignOptions = self.options  # type: ignore[assignment]
        campaign, mention = ctx.campaign, ctx.mention
        if campaign is None or not self.is_fresh(mention, ctx.now):
            return []
        authors = len(set(campaign.authors))
        if authors < opts.min_authors:
            return []
        negative = campaign.negative_share
        if negative is not None and negative < opts.min_negative_share:
            return []
        severity = Severity.critical if opts.critical_authors and authors >= opts.critical_authors else self.severity
        reasons = [f"coordinated campaign: {authors} accounts posting near-identical text"]
        if negative is not None:
            reasons.append(f"{negative:.0%} of its posts negative")
        if campaign.hashtags:
            reasons.append("hashtags " + " ".join(f"#{h.lstrip('#')}" for h in campaign.hashtags[:5]))
        reasons += list(campaign.risk.reasons) if campaign.risk else []
        brands = [b for b in campaign.brands if not self.brands or b in self.brands] or self.brands_of(mention)
        return [
            RuleMatch(
                rule=self.name, brand=brand, subject_kind="campaign", subject_id=campaign.id,
                severity=severity, title=f"{brand or 'Brand'}: coordinated campaign ({authors} accounts)",
                reasons=reasons, mention_ids=[mention.id], customer_id=None,  # a campaign is nobody's own
                score=campaign.risk.score if campaign.risk else None, mention=mention,
                facts={"campaign_size": len(campaign.mention_ids), "campaign_authors": authors},
                growth={"accounts": float(authors)},
            )
            for brand in brands
        ]

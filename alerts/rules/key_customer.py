"""key_customer_negative: a negative post by a linked key customer (by tier or lifetime value).

A post is negative when the sentiment model says so, or when the risk score's negativity
component reaches ``min_negativity``: that component also counts complaint evidence (failed
support, switching to a competitor...) the model may have read as neutral (see risk.scoring).
"""

from __future__ import annotations

from pydantic import Field

from alerts.rules.base import MentionContext, Rule, RuleMatch, RuleOptions
from core.domain import Customer, Mention, Severity, TicketStatus

OPEN_TICKET_STATES = (TicketStatus.open, TicketStatus.pending, TicketStatus.reopened)


class KeyCustomerOptions(RuleOptions):
    tiers: list[str] = Field(default_factory=lambda: ["gold", "platinum"])
    min_lifetime_value: float | None = Field(default=None, ge=0)
    critical_with_open_ticket: bool = True  # an unresolved ticket is the trigger point
    min_negativity: float = Field(default=0.5, ge=0, le=1)  # risk negativity that counts as negative
    # A key customer's post alerts only at this risk score or more (None: any negative post). An open
    # ticket always counts: that is the trigger point.
    min_risk: float | None = Field(default=None, ge=0, le=100)


def open_ticket(customer: Customer):  # noqa: ANN201 - SupportTicket | None
    """The customer's most recently opened unresolved ticket, if any."""
    tickets = [t for t in customer.tickets if t.status in OPEN_TICKET_STATES]
    return max(tickets, key=lambda t: t.opened_at) if tickets else None


class KeyCustomerNegativeRule(Rule):
    """Fires once per key customer; later negative posts are attached to the same alert."""

    type_name = "key_customer_negative"
    Options = KeyCustomerOptions

    def is_key(self, customer: Customer) -> bool:
        opts: KeyCustomerOptions = self.options  # type: ignore[assignment]
        tiers = {t.lower() for t in opts.tiers}
        by_tier = bool(customer.tier) and customer.tier.lower() in tiers
        by_value = opts.min_lifetime_value is not None and (customer.lifetime_value or 0) >= opts.min_lifetime_value
        return by_tier or by_value

    def is_negative(self, mention: Mention) -> bool:
        """The model calls it negative, or its risk negativity (complaint cues included) is high enough."""
        opts: KeyCustomerOptions = self.options  # type: ignore[assignment]
        if mention.analysis is not None and mention.analysis.sentiment == "negative":
            return True
        return mention.risk is not None and mention.risk.components.get("negativity", 0.0) >= opts.min_negativity

    def evaluate(self, ctx: MentionContext) -> list[RuleMatch]:
        opts: KeyCustomerOptions = self.options  # type: ignore[assignment]
        mention, customer = ctx.mention, ctx.customer
        if customer is None or customer.erased or not self.is_fresh(mention, ctx.now):
            return []
        if mention.analysis is None or not self.is_negative(mention) or not self.is_key(customer):
            return []
        ticket = open_ticket(customer)
        if opts.min_risk is not None and ticket is None and (mention.risk is None or mention.risk.score < opts.min_risk):
            return []  # a mild grumble by a key customer without an open issue is not an incident
        who = f"{customer.name or customer.crm_id} ({customer.crm_id}, {customer.tier or 'no'} tier)"
        reasons = [f"key customer {who} posted a negative mention"]
        if ticket is not None:
            days = (ctx.now - ticket.opened_at).total_seconds() / 86400
            reasons.append(f"ticket {ticket.id} {ticket.status.value}, open {days:.0f} days")
        reasons += list(mention.risk.reasons) if mention.risk else []
        severity = Severity.critical if (ticket is not None and opts.critical_with_open_ticket) else self.severity
        return [
            RuleMatch(
                rule=self.name, brand=brand, subject_kind="customer", subject_id=customer.crm_id,
                severity=severity, title=f"{brand or 'Brand'}: key customer {customer.name or customer.crm_id} is complaining",
                reasons=reasons, mention_ids=[mention.id], customer_id=customer.crm_id,
                score=mention.risk.score if mention.risk else None, mention=mention,
            )
            for brand in self.brands_of(mention)
        ]

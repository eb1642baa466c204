"""The rule base class, what a rule sees (the evaluation context) and what it yields (a match).

A rule type is a small class with a pydantic ``Options`` model: fields without a default are
its declared required options. Options common to every rule (name, severity, routing, SLA)
live in :class:`CommonOptions`; the loader in ``alerts.rules`` splits a YAML rule dict into
the two and validates each, so an error names the rule index and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.domain import Campaign, Customer, Mention, RiskFlag, Severity, Thread

if TYPE_CHECKING:  # pragma: no cover
    from core.store.port import Store

SEVERITY_ORDER = {Severity.info: 0, Severity.warning: 1, Severity.high: 2, Severity.critical: 3}


def severity_rank(severity: Severity | str) -> int:
    """0 (info) .. 3 (critical), for comparing severities."""
    return SEVERITY_ORDER[Severity(severity)]


class RuleOptions(BaseModel):
    """Base of every rule type's own options: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class CommonOptions(RuleOptions):
    """Options every rule has: identity, severity and routing, SLA and reminder timing."""

    type: str
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]+$")  # default: <type>-<index>
    severity: Severity = Severity.warning
    channels: list[str] = Field(default_factory=list)  # keys of settings.alerts.channels
    team: str | None = None
    brands: list[str] = Field(default_factory=list)  # empty: every non-competitor brand
    ack_sla_minutes: float | None = Field(default=None, gt=0)  # escalate when not acked in time
    repeat_minutes: float | None = Field(default=None, gt=0)  # remind while still open
    reopen_within_hours: float = Field(default=72, ge=0)  # a resolved alert flaring again reopens
    max_mention_age_hours: float = Field(default=48, gt=0)  # older posts (backfills) never alert
    enabled: bool = True


@dataclass
class ThreadRoot:
    """A thread's first stored post: its author (linked customer) owns the thread."""

    mention_id: str | None
    customer_id: str | None
    campaign_id: str | None


@dataclass
class MentionContext:
    """Everything a per-mention rule may look at, read once per mention by the worker."""

    mention: Mention
    now: datetime
    thread: Thread | None = None
    campaign: Campaign | None = None
    customer: Customer | None = None
    risk_flag: RiskFlag | None = None
    thread_root: ThreadRoot | None = None

    @property
    def thread_customer_id(self) -> str | None:
        """The customer who started the mention's thread (not whoever replied)."""
        return self.thread_root.customer_id if self.thread_root is not None else None


@dataclass
class RuleMatch:
    """One rule matching one situation; grouping turns it into a new or updated alert."""

    rule: str
    brand: str | None
    subject_kind: Literal["mention", "thread", "campaign", "customer", "brand", "term"]
    subject_id: str
    severity: Severity
    title: str
    reasons: list[str]
    mention_ids: list[str]
    customer_id: str | None = None
    score: float | None = None
    mention: Mention | None = None  # the freshest evidence, quoted in the message
    facts: dict[str, Any] = field(default_factory=dict)  # extra figures for the message
    # (score, reasons) per piece of evidence when several matches were combined (see grouping.evidence_of)
    evidence: dict[str, tuple[float | None, list[str]]] = field(default_factory=dict)
    # Figures whose growth raises severity (reach "shares", velocity "shares/h", "accounts"): see alerts.growth
    growth: dict[str, float] = field(default_factory=dict)
    # The situation this match belongs to (see alerts.situation); the rule's own subject when unset
    situation_kind: str | None = None
    situation_id: str | None = None
    fallback_fingerprints: list[str] = field(default_factory=list)

    @property
    def situation(self) -> tuple[str, str]:
        """``(kind, id)`` of the situation: one alert per situation, across rules."""
        if self.situation_kind and self.situation_id:
            return self.situation_kind, self.situation_id
        return self.subject_kind, self.subject_id

    @property
    def fingerprint(self) -> str:
        """brand + situation: every rule's match of one situation shares it."""
        kind, ident = self.situation
        return f"{self.brand or '*'}|{kind}:{ident}"


class Rule:
    """Base class of rule types. Subclasses set ``type_name``, ``Options`` and one evaluate method."""

    type_name: ClassVar[str] = ""
    Options: ClassVar[type[RuleOptions]] = RuleOptions
    periodic: ClassVar[bool] = False  # True: evaluated on a schedule against the store
    learning_hours: float = 24.0  # baseline rules: history a brand needs first (settings.alerts.learning_hours)

    def __init__(self, common: CommonOptions, options: RuleOptions, brand_names: list[str]) -> None:
        self.common = common
        self.options = options
        self.name: str = common.name or common.type
        self.severity: Severity = common.severity
        self.brands = list(common.brands) or list(brand_names)

    def brands_of(self, mention: Mention) -> list[str]:
        """The brands of ``mention`` this rule watches (all of them when no brand is configured)."""
        if not self.brands:
            return list(mention.brands) or [None]  # type: ignore[list-item]
        return [b for b in mention.brands if b in self.brands]

    def is_fresh(self, mention: Mention, now: datetime) -> bool:
        """Old posts (a backfill, a worker back from a long stop) never raise alerts."""
        return (now - mention.published_at).total_seconds() <= self.common.max_mention_age_hours * 3600

    def evaluate(self, ctx: MentionContext) -> list[RuleMatch]:
        """Matches for one freshly scored mention (per-mention rules)."""
        return []

    def evaluate_periodic(self, store: "Store", now: datetime) -> list[RuleMatch]:
        """Matches for the window ending at ``now`` (periodic rules)."""
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

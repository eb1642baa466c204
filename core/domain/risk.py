"""Per-customer risk flags that the CRM polls through a change feed."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from core.domain.common import DomainModel, UtcDatetime, utcnow


class RiskLevel(StrEnum):
    none = "none"
    watch = "watch"
    high = "high"
    critical = "critical"


class RiskFlag(DomainModel):
    """A customer's current risk. ``seq`` is assigned by the store on every change."""

    crm_id: str
    level: RiskLevel
    score: float = Field(ge=0, le=100)
    reasons: list[str] = Field(default_factory=list)
    evidence_ids: list[str] = Field(default_factory=list)  # mention ids
    updated_at: UtcDatetime = Field(default_factory=utcnow)
    seq: int = 0

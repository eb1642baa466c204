"""Small shared pieces of the domain: UTC time and the base model."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only kind of time inside brandguard)."""
    return datetime.now(timezone.utc)


def _as_utc(value: datetime) -> datetime:
    # A naive time from a source is taken as UTC; everything inside the system is aware UTC.
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


class DomainModel(BaseModel):
    """Base for domain models: unknown fields are errors, assignment is validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

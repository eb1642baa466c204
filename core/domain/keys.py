"""API keys: only a hash is stored; the secret is shown once at creation."""

from __future__ import annotations

from pydantic import Field

from core.domain.common import DomainModel, UtcDatetime, utcnow

SCOPES = ("mentions:read", "alerts:read", "alerts:write", "customers:write", "risk:read", "ingest:write", "admin")


class ApiKey(DomainModel):
    id: str  # public key id, also the key's visible prefix
    name: str
    key_hash: str  # hash of the secret part; never the secret itself
    scopes: list[str] = Field(default_factory=list)
    created_at: UtcDatetime = Field(default_factory=utcnow)
    revoked_at: UtcDatetime | None = None
    last_used_at: UtcDatetime | None = None

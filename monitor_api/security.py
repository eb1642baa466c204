"""Scoped API keys: ``bg_<id>_<secret>``, shown once, stored as a hash of the secret.

The key id is public (it names the key in lists and logs); the secret is 256 random bits,
so a plain SHA-256 is a sufficient one-way hash, and it is compared in constant time.
Every route declares the scopes it needs with :class:`RequireScopes`; ``admin`` implies
every scope.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from fastapi import Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from core.domain import ApiKey, utcnow
from core.domain.keys import SCOPES
from core.store.port import ApiKeyStore
from monitor_api.problems import ApiProblem

KEY_PREFIX = "bg"
SESSION_COOKIE = "bg_session"  # the dashboard's session id (monitor_api.dashboard.sessions), never a key


@dataclass(frozen=True)
class Principal:
    """Who is calling: the API key's id, name and scopes."""

    key_id: str
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """How this caller appears in timelines and audit logs."""
        return f"key:{self.name}"

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, de-duplicated in order; ValueError naming any unknown one."""
    out: list[str] = []
    for scope in scopes:
        scope = scope.strip()
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r} (known: {', '.join(SCOPES)})")
        if scope not in out:
            out.append(scope)
    if not out:
        raise ValueError(f"a key needs at least one scope (known: {', '.join(SCOPES)})")
    return out


def create_api_key(store: ApiKeyStore, name: str, scopes: Iterable[str], now: datetime | None = None) -> tuple[ApiKey, str]:
    """Store a new key and return it with the full key string (the only time it is shown)."""
    name = name.strip()
    if not name:
        raise ValueError("a key needs a name")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(id=key_id, name=name, key_hash=hash_secret(secret), scopes=check_scopes(scopes), created_at=now or utcnow())
    store.save_api_key(key)
    return key, f"{KEY_PREFIX}_{key_id}_{secret}"


def split_key(token: str) -> tuple[str, str] | None:
    """``bg_<id>_<secret>`` -> (id, secret), or None when it does not have that shape."""
    prefix, _, rest = token.strip().partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


def authenticate(store: ApiKeyStore, token: str | None, now: datetime | None = None) -> Principal | None:
    """The principal for a presented key, or None when it is unknown, wrong or revoked."""
    parts = split_key(token) if token else None
    if parts is None:
        return None
    key = store.get_api_key(parts[0])
    if key is None or key.revoked_at is not None:
        hmac.compare_digest(hash_secret(parts[1]), "0" * 64)  # same work whether or not the id exists
        return None
    if not hmac.compare_digest(hash_secret(parts[1]), key.key_hash):
        return None
    return Principal(key_id=key.id, name=key.name, scopes=frozenset(key.scopes))


# Security schemes, so OpenAPI documents how to authenticate (auto_error off: we answer 401 ourselves).
bearer_scheme = HTTPBearer(auto_error=False, description="`Authorization: Bearer bg_<id>_<secret>`")
header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key, `bg_<id>_<secret>`")


def presented_key(request: Request, bearer: HTTPAuthorizationCredentials | None, header: str | None) -> str | None:
    """The key from the Authorization header or X-API-Key. The API never reads cookies:
    the dashboard's session cookie is scoped to /ui and is not a key."""
    if bearer is not None and bearer.credentials:
        return bearer.credentials
    return header or None


def principal_for_key_id(store: ApiKeyStore, key_id: str) -> Principal | None:
    """The principal of a dashboard session's key, or None once the key is revoked or gone."""
    key = store.get_api_key(key_id)
    if key is None or key.revoked_at is not None:
        return None
    return Principal(key_id=key.id, name=key.name, scopes=frozenset(key.scopes))


def unauthorized(detail: str = "an API key is required (Authorization: Bearer bg_<id>_<secret>)") -> ApiProblem:
    return ApiProblem(401, "Unauthorized", detail, kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def forbidden(missing: Iterable[str]) -> ApiProblem:
    names = ", ".join(missing)
    return ApiProblem(403, "Forbidden", f"this API key lacks the scope(s): {names}", kind="forbidden")

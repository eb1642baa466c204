"""API key administration: create (the key is shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from core.domain import ApiKey
from monitor_api.deps import Admin, ClockDep, StoreDep
from monitor_api.jsonbody import CleanJsonRoute
from monitor_api.problems import PROBLEM_RESPONSES, ApiProblem
from monitor_api.security import create_api_key

router = APIRouter(tags=["admin"], responses=PROBLEM_RESPONSES, route_class=CleanJsonRoute)

Scope = Literal["mentions:read", "alerts:read", "alerts:write", "customers:write", "risk:read", "ingest:write", "admin"]


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"\S")
    scopes: list[Scope] = Field(min_length=1, max_length=6)


class KeyOut(BaseModel):
    """A key as listed: never its secret or hash."""

    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @classmethod
    def of(cls, key: ApiKey) -> "KeyOut":
        return cls(**key.model_dump(exclude={"key_hash"}))


class CreatedKey(KeyOut):
    key: str = Field(description="The full key. It is shown only now: store it safely.")


@router.post("/keys", response_model=CreatedKey, status_code=201, summary="Create an API key")
def create_key(body: KeyIn, store: StoreDep, clock: ClockDep, _: Admin) -> CreatedKey:
    key, full = create_api_key(store, body.name, body.scopes, now=clock.now())
    return CreatedKey(**KeyOut.of(key).model_dump(), key=full)


@router.get("/keys", response_model=list[KeyOut], summary="List API keys")
def list_keys(store: StoreDep, _: Admin) -> list[KeyOut]:
    return [KeyOut.of(k) for k in store.list_api_keys()]


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: str, store: StoreDep, clock: ClockDep, _: Admin) -> Response:
    if store.get_api_key(key_id) is None:
        raise ApiProblem(404, "Not found", f"no API key with id {key_id!r}", kind="not-found")
    store.revoke_api_key(key_id, now=clock.now())
    return Response(status_code=204)

"""Route dependencies as ``Annotated`` aliases: the store, settings, clock and the caller.

Everything comes from ``app.state`` (set by the app factory), never from module globals.
Routes name the scopes they need with ``RequireScopes``; the scope-matrix test walks the
routes' dependencies to find them, so a route without one cannot go unnoticed.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials

from core.clock import Clock
from core.config import Settings
from core.store.port import Store
from monitor_api.security import (
    Principal,
    authenticate,
    bearer_scheme,
    forbidden,
    header_scheme,
    presented_key,
    unauthorized,
)

TOUCH_EVERY = timedelta(minutes=1)


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]


class TouchThrottle:
    """Records a key's last use at most once a minute (a write per request would be wasteful)."""

    def __init__(self) -> None:
        self._last: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def due(self, key_id: str, now: datetime) -> bool:
        with self._lock:
            last = self._last.get(key_id)
            if last is not None and now - last < TOUCH_EVERY:
                return False
            self._last[key_id] = now
            return True


def current_principal(
    request: Request,
    store: StoreDep,
    clock: ClockDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    header: Annotated[str | None, Security(header_scheme)] = None,
) -> Principal:
    """The authenticated caller; 401 problem when no valid key was presented."""
    token = presented_key(request, bearer, header)
    if not token:
        raise unauthorized()
    principal = authenticate(store, token)
    if principal is None:
        raise unauthorized("the API key is unknown, malformed or revoked")
    request.scope.setdefault("state", {})["key_id"] = principal.key_id  # for the access log (never the key)
    throttle: TouchThrottle = request.app.state.key_touch
    now = clock.now()
    if throttle.due(principal.key_id, now):
        store.touch_api_key(principal.key_id, now=now)
    return principal


class RequireScopes:
    """A dependency that lets the caller through only when its key has every scope named."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = tuple(scopes)

    def __call__(self, principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        missing = [s for s in self.scopes if not principal.has(s)]
        if missing:
            raise forbidden(missing)
        return principal

    def __repr__(self) -> str:
        return f"RequireScopes{self.scopes!r}"


MentionsReader = Annotated[Principal, Depends(RequireScopes("mentions:read"))]
AlertsReader = Annotated[Principal, Depends(RequireScopes("alerts:read"))]
AlertsWriter = Annotated[Principal, Depends(RequireScopes("alerts:write"))]
CustomersWriter = Annotated[Principal, Depends(RequireScopes("customers:write"))]
RiskReader = Annotated[Principal, Depends(RequireScopes("risk:read"))]
IngestWriter = Annotated[Principal, Depends(RequireScopes("ingest:write"))]
Admin = Annotated[Principal, Depends(RequireScopes("admin"))]


def route_scopes(dependant: Any) -> set[str]:
    """Every scope a route's dependency tree requires (used by tests and the docs)."""
    found: set[str] = set()
    stack = [dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RequireScopes):
            found.update(dep.call.scopes)
        stack.extend(dep.dependencies)
    return found


def api_operations(app: Any) -> list[tuple[str, str, set[str]]]:
    """(method, path, required scopes) of every documented operation of ``app``."""
    from fastapi.routing import iter_route_contexts

    out: list[tuple[str, str, set[str]]] = []
    for ctx in iter_route_contexts(app.routes):
        dependant = getattr(ctx, "dependant", None)
        if dependant is None or not getattr(ctx, "include_in_schema", False) or not ctx.path:
            continue
        for method in sorted((ctx.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((method, ctx.path, route_scopes(dependant)))
    return out

"""Every API route answers 401 without a key and 403 with a key lacking its scope.

The matrix is generated from the app's own routes, so a new route cannot escape it: a route
under /v1 without a declared scope fails ``test_every_v1_route_declares_a_scope``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.domain.keys import SCOPES
from monitor_api.deps import api_operations
from monitor_api.problems import MEDIA_TYPE

PUBLIC = {"/healthz", "/readyz", "/metrics"}
SAMPLE_BODIES = {
    ("POST", "/v1/alerts/{alert_id}/actions"): {"action": "acknowledge"},
    ("POST", "/v1/silences"): {"matchers": {"rule": "spike"}, "ends_at": "2030-01-01T00:00:00Z"},
    ("PUT", "/v1/customers"): [{"crm_id": "C-9"}],
    ("POST", "/v1/customers/{crm_id}/links/confirm"): {"author_key": "mastodon:reza_k"},
    ("POST", "/v1/customers/{crm_id}/links/reject"): {"author_key": "mastodon:reza_k"},
    ("POST", "/v1/keys"): {"name": "x", "scopes": ["alerts:read"]},
    ("POST", "/v1/ingest/mentions"): {"source": "x-feed", "mentions": []},
}


def api_routes(app: Any) -> list[tuple[str, str, set[str]]]:
    return [(m, p, scopes) for m, p, scopes in api_operations(app) if p not in PUBLIC]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "C-1042", path)


def test_every_v1_route_declares_a_scope(app: Any) -> None:
    routes = api_routes(app)
    assert len(routes) >= 20, routes
    undeclared = [f"{m} {p}" for m, p, scopes in routes if not scopes]
    assert undeclared == [], f"routes without a declared scope: {undeclared}"
    assert all(p.startswith("/v1/") for _, p, _ in routes)


def test_without_a_key_every_route_answers_401_problem(app: Any, client: Any) -> None:
    for method, path, _ in api_routes(app):
        body = SAMPLE_BODIES.get((method, path))
        response = client.request(method, concrete(path), json=body)
        assert response.status_code == 401, f"{method} {path}: {response.status_code}"
        assert response.headers["content-type"].startswith(MEDIA_TYPE)
        assert response.json()["title"] == "Unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_wrong_or_revoked_key_is_401(client: Any, store: Any, key_for: Any, admin: dict[str, str]) -> None:
    headers = key_for("mentions:read")
    token = headers["Authorization"].removeprefix("Bearer ")
    forged = token[: -4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/v1/mentions", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.get("/v1/mentions", headers={"X-API-Key": token}).status_code == 200
    key_id = token.split("_")[1]
    assert client.delete(f"/v1/keys/{key_id}", headers=admin).status_code == 204
    response = client.get("/v1/mentions", headers=headers)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize("scope", SCOPES)
def test_a_key_lacking_the_scope_gets_403_on_each_route_needing_it(app: Any, client: Any, key_for: Any, scope: str) -> None:
    others = [s for s in SCOPES if s != scope and s != "admin"]
    headers = key_for(*others)
    checked = 0
    for method, path, scopes in api_routes(app):
        if scope not in scopes:
            continue
        response = client.request(method, concrete(path), json=SAMPLE_BODIES.get((method, path)), headers=headers)
        assert response.status_code == 403, f"{method} {path} with {others}: {response.status_code}"
        assert scope in response.json()["detail"]
        checked += 1
    assert checked >= 1, f"no route needs {scope}"


def test_a_key_with_the_scope_gets_past_auth_on_every_route(app: Any, client: Any, key_for: Any, story: Any) -> None:
    for method, path, scopes in api_routes(app):
        response = client.request(method, concrete(path), json=SAMPLE_BODIES.get((method, path)), headers=key_for(*scopes))
        assert response.status_code not in (401, 403), f"{method} {path}: {response.status_code} {response.text}"

"""API key administration: created keys are shown once and stored hashed; listing never shows
secrets; unknown scopes are refused; revoked keys stop working."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from monitor_api.security import authenticate, create_api_key, hash_secret, split_key


def test_create_list_revoke(client: TestClient, admin: dict[str, str], store: Any) -> None:
    created = client.post("/v1/keys", json={"name": "crm-prod", "scopes": ["risk:read"]}, headers=admin)
    assert created.status_code == 201
    body = created.json()
    key_id, secret = split_key(body["key"])
    assert body["key"].startswith(f"bg_{key_id}_") and body["id"] == key_id
    stored = store.get_api_key(key_id)
    assert stored.key_hash == hash_secret(secret) and secret not in stored.key_hash
    listed = client.get("/v1/keys", headers=admin).json()
    assert {k["name"] for k in listed} == {"ops", "crm-prod"}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    crm = {"X-API-Key": body["key"]}
    assert client.get("/v1/risk-flags", headers=crm).status_code == 200
    assert client.delete(f"/v1/keys/{key_id}", headers=admin).status_code == 204
    assert client.get("/v1/risk-flags", headers=crm).status_code == 401
    assert client.delete("/v1/keys/unknown", headers=admin).status_code == 404


def test_unknown_scope_is_refused_with_its_field(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post("/v1/keys", json={"name": "x", "scopes": ["alerts:delete"]}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "body.scopes[0]"


def test_authenticate_rejects_malformed_and_tampered_keys(store: Any) -> None:
    _, full = create_api_key(store, "svc", ["alerts:read"])
    assert authenticate(store, full).scopes == frozenset({"alerts:read"})
    for bad in ("", "bg_", "xx_abc_def", full.replace("bg_", "bq_"), full + "x", full[:-1]):
        assert authenticate(store, bad) is None, bad

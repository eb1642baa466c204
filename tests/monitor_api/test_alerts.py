"""The alert inbox through the API: list/filter, one alert with evidence and deliveries,
lifecycle actions (409 on a transition the state forbids), silences, redelivery."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def support(key_for: Any) -> dict[str, str]:
    return key_for("alerts:read", "alerts:write", name="sara-support")


def test_list_and_filter_alerts(client: TestClient, story: Any, support: Any) -> None:
    page = client.get("/v1/alerts", headers=support).json()
    assert [a["id"] for a in page["items"]] == [story["alert"], story["spike"]]  # most recently updated first
    crit = client.get("/v1/alerts", params={"severity": "critical", "customer_id": "C-1042"}, headers=support).json()
    assert [a["id"] for a in crit["items"]] == [story["alert"]]
    first = client.get("/v1/alerts", params={"limit": 1}, headers=support).json()
    second = client.get("/v1/alerts", params={"limit": 1, "cursor": first["next_cursor"]}, headers=support).json()
    assert [a["id"] for a in first["items"] + second["items"]] == [story["alert"], story["spike"]]
    assert client.get("/v1/alerts", params={"state": "closed"}, headers=support).status_code == 422


def test_one_alert_has_reasons_timeline_evidence_and_deliveries(client: TestClient, story: Any, support: Any) -> None:
    view = client.get(f"/v1/alerts/{story['alert']}", headers=support).json()
    assert view["alert"]["customer_id"] == "C-1042"
    assert any("T-881" in r for r in view["alert"]["reasons"])
    assert [e["kind"] for e in view["alert"]["timeline"]] == ["created", "evidence"]
    assert {m["id"] for m in view["evidence"]} >= {story["mina_en"], story["mina_fa"]}
    assert [(d["id"], d["status"]) for d in view["deliveries"]] == [("dl-mina-1", "dead")]


def test_acknowledge_assign_note_resolve_reopen(client: TestClient, story: Any, support: Any) -> None:
    url = f"/v1/alerts/{story['alert']}/actions"
    acked = client.post(url, json={"action": "acknowledge"}, headers=support).json()
    assert acked["state"] == "acknowledged"
    assert acked["timeline"][-1]["actor"] == "key:sara-support"
    again = client.post(url, json={"action": "acknowledge"}, headers=support)
    assert again.status_code == 409
    assert "acknowledged" in again.json()["detail"]
    assigned = client.post(url, json={"action": "assign", "assignee": "reza"}, headers=support).json()
    assert (assigned["state"], assigned["assignee"]) == ("assigned", "reza")
    noted = client.post(url, json={"action": "note", "note": "called Mina, replacement phone sent"}, headers=support).json()
    assert noted["timeline"][-1]["note"] == "called Mina, replacement phone sent"
    assert client.post(url, json={"action": "resolve"}, headers=support).json()["state"] == "resolved"
    assert client.post(url, json={"action": "reopen"}, headers=support).json()["state"] == "open"
    snoozed = client.post(url, json={"action": "snooze", "until": "2026-11-24T10:00:00Z"}, headers=support).json()
    assert snoozed["state"] == "snoozed"
    past = client.post(url, json={"action": "snooze", "until": "2020-01-01T00:00:00Z"}, headers=support)
    assert past.status_code == 409 and "future" in past.json()["detail"]
    assert client.post("/v1/alerts/nope/actions", json={"action": "acknowledge"}, headers=support).status_code == 404


def test_silences_crud(client: TestClient, support: Any) -> None:
    created = client.post("/v1/silences", json={"matchers": {"rule": "spike", "brand": "Sepehr Mobile"},
                                                "ends_at": "2026-11-23T18:00:00Z", "comment": "store opening"},
                          headers=support)
    assert created.status_code == 201
    silence = created.json()
    assert silence["created_by"] == "key:sara-support"
    assert [s["id"] for s in client.get("/v1/silences", headers=support).json()] == [silence["id"]]
    bad = client.post("/v1/silences", json={"matchers": {"rule": "spike"}, "ends_at": "2026-11-23T09:00:00Z"},
                      headers=support)
    assert bad.status_code == 400
    assert client.delete(f"/v1/silences/{silence['id']}", headers=support).status_code == 204
    assert client.get("/v1/silences", headers=support).json() == []
    assert client.delete(f"/v1/silences/{silence['id']}", headers=support).status_code == 404


def test_redeliver_a_dead_delivery(client: TestClient, story: Any, support: Any, store: Any) -> None:
    response = client.post(f"/v1/deliveries/{story['delivery']}/redeliver", headers=support)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
    assert store.get_delivery(story["delivery"]).status.value == "pending"
    again = client.post(f"/v1/deliveries/{story['delivery']}/redeliver", headers=support)
    assert again.status_code == 409
    assert client.post("/v1/deliveries/nope/redeliver", headers=support).status_code == 404


def test_a_note_with_half_an_emoji_is_kept_with_a_replacement_character(client: TestClient, story: Any, support: Any) -> None:
    url = f"/v1/alerts/{story['alert']}/actions"
    body = '{"action": "note", "note": "\\u0628\\u0627 \\u0645\\u06cc\\u0646\\u0627 \\u062a\\u0645\\u0627\\u0633 \\u06af\\u0631\\u0641\\u062a\\u06cc\\u0645 \\ud83d"}'
    response = client.post(url, content=body, headers={**support, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["timeline"][-1]["note"] == "با مینا تماس گرفتیم \ufffd"

"""Erasure that really erases (issue 12, item 1), on every adapter.

The demo customer (Mina Rahimi, C-1042) is erased through ``DELETE /v1/customers/C-1042``;
then every ``/v1`` GET route, every dashboard page and every stored record that can carry
personal data (mentions, threads, campaigns, alerts, delivery payloads, the audit log, the
risk-flag feed) is walked, and none of her name, email, phone, handle, ticket id or ticket
subject may appear. The same walk before the erasure finds each of them, so the test can fail.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi.testclient import TestClient

from alerts.message import build_message
from alerts.outbox import deliveries_for
from core.config import Settings
from core.domain import AuditEvent
from monitor_api.deps import api_operations
from monitor_api.security import create_api_key
from tests.contract.conftest import refresh
from tests.monitor_api.seed import ALERT_ID, seed_story

PERSONAL = ["Mina Rahimi", "mina.rahimi@example.com", "+989121234567", "9121234567", "mina_r", "Mina R", "T-881",
            "screen replacement failed twice"]
ORIGIN = {"Origin": "http://testserver"}


def _seed(store: Any) -> dict[str, Any]:
    create_alert = store.create_alert

    def create_and_refresh(*args: Any, **kwargs: Any) -> Any:  # the seed claims right after creating
        created = create_alert(*args, **kwargs)
        refresh(store)
        return created

    store.create_alert = create_and_refresh
    ids = seed_story(store)
    refresh(store)
    # A full notification payload, as the alert worker stores it (customer block, author, ticket subject).
    alert = store.get_alert(ALERT_ID)
    [post] = store.get_mentions([ids["mina_en"]])
    payload = build_message(alert, "notify", "created", Settings(), post, store.get_customer("C-1042"))
    store.enqueue_deliveries(deliveries_for(ALERT_ID, alert.version, "notify", ["support-slack"], payload, alert.updated_at))
    # What the identity linker writes when it links her (the seed saves the link directly).
    store.append_audit(AuditEvent(at=alert.created_at, actor="risk", action="link.confirmed", subject="customer:C-1042",
                                  data={"author_key": "mastodon:mina_r", "method": "handle", "confidence": 1.0,
                                        "evidence": "CRM handle mastodon:mina_r", "mention_id": ids["mina_en"]}))
    refresh(store)
    return ids


def _v1_paths(ids: dict[str, Any]) -> dict[str, list[str]]:
    """Every GET route of /v1 with the ids that reach the customer's data."""
    mentions = [ids["mina_fa"], ids["mina_en"], *ids["copies"]]
    return {
        "/v1/mentions": ["/v1/mentions?customer_id=C-1042", "/v1/mentions?q=sepehr&limit=500",
                         "/v1/mentions?author=mastodon:mina_r", "/v1/mentions?q=%22T-881%22",
                         "/v1/mentions?facets=author&facets=customer_id&histogram=day"],
        "/v1/mentions/{mention_id}": [f"/v1/mentions/{m}" for m in mentions],
        "/v1/threads/{thread_id}": ["/v1/threads/mastodon:1001"],
        "/v1/campaigns": ["/v1/campaigns"],
        "/v1/campaigns/{campaign_id}": ["/v1/campaigns/camp-sepehrfail"],
        "/v1/alerts": ["/v1/alerts", "/v1/alerts?customer_id=C-1042"],
        "/v1/alerts/{alert_id}": [f"/v1/alerts/{ALERT_ID}", "/v1/alerts/al-spike"],
        "/v1/silences": ["/v1/silences?all=true"],
        "/v1/customers/{crm_id}": ["/v1/customers/C-1042"],
        "/v1/customers/{crm_id}/risk": ["/v1/customers/C-1042/risk"],
        "/v1/risk-flags": ["/v1/risk-flags"],
        "/v1/keys": ["/v1/keys"],
        **{f"/v1/stats/{name}": [f"/v1/stats/{name}?range=30d"]
           for name in ("overview", "volume", "mix", "threads", "authors", "terms")},
        "/v1/exports/mentions.csv": ["/v1/exports/mentions.csv?q=sepehr", "/v1/exports/mentions.csv?author=mastodon:mina_r"],
    }


def _walk(client: TestClient, store: Any, ids: dict[str, Any], admin: dict[str, str]) -> dict[str, str]:
    """Everything a person or system can read, as text, by where it came from."""
    seen: dict[str, str] = {}
    paths = _v1_paths(ids)
    routes = {path for method, path, _ in api_operations(client.app) if method == "GET" and path.startswith("/v1")}
    assert routes == set(paths), f"a /v1 route is not walked: {routes ^ set(paths)}"
    for urls in paths.values():
        for url in urls:
            resp = client.get(url, headers=admin)
            assert resp.status_code in (200, 404), (url, resp.status_code, resp.text[:200])
            seen[url] = resp.text
    for url in ["/ui/alerts", "/ui/alerts?state=resolved", f"/ui/alerts/{ALERT_ID}", "/ui/alerts/al-spike",
                "/ui/mentions", "/ui/mentions?q=sepehr", "/ui/customers/C-1042", "/ui/customers/C-2001",
                "/ui/?range=30d", "/ui/mentions/export.csv?q=sepehr"]:
        resp = client.get(url)
        assert resp.status_code in (200, 404), (url, resp.status_code)
        seen[url] = resp.text
    for alert_id in (ALERT_ID, "al-spike"):
        for delivery in store.list_deliveries(alert_id=alert_id, limit=100):
            seen[f"delivery {delivery.id}"] = json.dumps(delivery.payload, ensure_ascii=False)
    seen["audit log"] = json.dumps([e.model_dump(mode="json") for e in store.list_audit(limit=1000)], ensure_ascii=False)
    mentions = store.get_mentions([ids["mina_fa"], ids["mina_en"], *ids["copies"]])
    seen["stored mentions"] = json.dumps([m.model_dump(mode="json") for m in mentions], ensure_ascii=False)
    for name, record in (("thread", store.get_thread("mastodon:1001")), ("campaign", store.get_campaign("camp-sepehrfail")),
                         ("customer", store.get_customer("C-1042")), ("flag", store.get_risk_flag("C-1042"))):
        seen[f"stored {name}"] = record.model_dump_json() if record is not None else ""
    return seen


def _found(seen: dict[str, str]) -> dict[str, list[str]]:
    return {value: [where for where, text in seen.items() if value.lower() in text.lower()] for value in PERSONAL}


def test_erasing_the_demo_customer_leaves_none_of_her_data_anywhere(store: Any, api_client: Any, tmp_path: Any) -> None:
    client, headers = api_client
    ids = _seed(store)
    admin = headers("admin")
    _, key = create_api_key(store, "sara", ["admin"])
    assert client.post("/ui/login", data={"key": key}, headers=ORIGIN, follow_redirects=False).status_code == 303

    before = _found(_walk(client, store, ids, admin))
    assert all(before.values()), f"the walk must see each value before erasure: {before}"

    assert client.delete("/v1/customers/C-1042", headers=admin).status_code == 204
    refresh(store)
    after = _walk(client, store, ids, admin)
    leaks = {value: where for value, where in _found(after).items() if where}
    assert not leaks, f"personal data still reachable after erasure: {leaks}"

    # What stays is anonymous and still useful.
    alert = client.get(f"/v1/alerts/{ALERT_ID}", headers=admin).json()
    assert alert["alert"]["title"].startswith("erased customer (gold, C-1042)")
    assert client.get("/v1/mentions?customer_id=C-1042", headers=admin).json()["items"] == []
    post = client.get(f"/v1/mentions/{ids['mina_en']}", headers=admin).json()
    assert post["author"]["handle"].startswith("erased-") and post["author"].get("name") is None
    assert post["customer_id"] is None and post["url"] is None and "Sepehr Mobile" in post["text"]
    thread = client.get("/v1/threads/mastodon:1001", headers=admin).json()
    assert thread["thread"]["authors"] == [f"mastodon:{post['author']['handle']}"]  # the same pseudonym everywhere
    stub = store.get_customer("C-1042")
    assert stub.erased and stub.tier == "gold" and len(stub.tickets) == 1
    events = store.list_audit(subject="customer:C-1042", limit=100)
    assert any(e.action == "customer.erased" for e in events)
    keyed = [e.data["author_key"] for e in events if "author_key" in e.data]
    assert keyed and all(k.startswith("mastodon:erased-") for k in keyed)
    # The other customer is untouched.
    assert store.get_customer("C-2001").name == "Reza Karimi"
    assert store.get_mention(ids["praise_en"]).author.handle == "reza_k"  # other authors keep their handles
    # Erasing again is harmless, and the pseudonym is keyed: it is not a plain hash of the handle.
    assert client.delete("/v1/customers/C-1042", headers=admin).status_code == 204
    assert hashlib.sha256(b"mina_r").hexdigest()[:10] not in post["author"]["handle"]

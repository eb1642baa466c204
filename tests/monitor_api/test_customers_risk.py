"""Customers and risk flags through the API: bulk upsert (idempotent, bad rows reported with
their field path), one customer with links/mentions/risk, link decisions, erasure, the risk
endpoint and the incremental risk-flag feed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.domain import RiskFlag, RiskLevel
from tests.monitor_api.seed import NOW


@pytest.fixture
def crm(key_for: Any) -> dict[str, str]:
    return key_for("customers:write", "risk:read", name="crm-sync")


def test_bulk_upsert_is_idempotent_and_keeps_good_rows(client: TestClient, crm: Any, store: Any) -> None:
    rows = [
        {"crm_id": "C-4001", "name": "John Miller", "emails": ["john.miller@example.com"], "tier": "gold"},
        {"crm_id": "C-5001", "name": "Neda Hosseini", "handles": {"mastodon": ["neda_h"]}, "lifetime_value": "lots"},
        {"name": "no id"},
        {"crm_id": "C-5002", "name": "نگار صالحی", "tier": "bronze"},
    ]
    report = client.put("/v1/customers", json=rows, headers=crm).json()
    assert (report["created"], report["updated"]) == (2, 0)
    assert [f["id"] for f in report["failed"]] == ["C-5001", "[2]"]
    assert "[1].lifetime_value" in report["failed"][0]["error"]
    assert "[2].crm_id: Field required" in report["failed"][1]["error"]
    again = client.put("/v1/customers", json=[rows[0], rows[3]], headers=crm).json()
    assert again["created"] == 0 and again["failed"] == []
    assert store.get_customer("C-5002").name == "نگار صالحی"


def test_customer_view_has_links_mentions_and_risk(client: TestClient, story: Any, crm: Any) -> None:
    view = client.get("/v1/customers/C-1042", headers=crm).json()
    assert view["customer"]["tier"] == "gold"
    assert {m["id"] for m in view["mentions"]} == {story["mina_en"], story["mina_fa"]}
    assert view["risk"]["level"] == "critical"
    assert [(l["author_key"], l["status"]) for l in view["links"]] == [("mastodon:mina_r", "confirmed")]
    assert client.get("/v1/customers/C-0000", headers=crm).status_code == 404


def test_confirm_and_reject_a_suggested_link(client: TestClient, story: Any, crm: Any, store: Any) -> None:
    url = "/v1/customers/C-2001/links"
    store.claim("risk", "drain", 100, 600)  # empty the risk queue so the re-queue is visible
    assert client.post(f"{url}/confirm", json={"author_key": "Mastodon:Reza_K"}, headers=crm).status_code == 204
    assert store.get_links(crm_id="C-2001")[0].status.value == "confirmed"
    requeued = store.claim("risk", "check", 100, 600)
    assert [item.mention_id for item in requeued] == [story["praise_en"]]  # the author's mention is re-scored
    assert client.post(f"{url}/reject", json={"author_key": "mastodon:reza_k"}, headers=crm).status_code == 204
    link = store.get_links(crm_id="C-2001")[0]
    assert (link.status.value, link.decided_by) == ("rejected", "key:crm-sync")
    actions = sorted(a.action for a in store.list_audit(subject="customer:C-2001"))
    assert actions == ["link.confirmed", "link.rejected"]
    missing = client.post(f"{url}/confirm", json={"author_key": "mastodon:nobody"}, headers=crm)
    assert missing.status_code == 404


def test_a_do_not_link_customer_cannot_be_confirmed(client: TestClient, story: Any, crm: Any, store: Any) -> None:
    from core.domain import Consent, IdentityLink, LinkStatus

    sara = store.get_customer("C-2001").model_copy(update={"consent": Consent(do_not_link=True)})
    store.upsert_customers([sara])
    store.save_link(IdentityLink(author_key="mastodon:reza_k", crm_id="C-2001", method="name", confidence=0.6,
                                 evidence="name", status=LinkStatus.suggested))
    response = client.post("/v1/customers/C-2001/links/confirm", json={"author_key": "mastodon:reza_k"}, headers=crm)
    assert response.status_code == 409
    assert "must not be linked" in response.json()["detail"]


def test_erase_removes_pii_and_links(client: TestClient, story: Any, crm: Any, store: Any) -> None:
    assert client.delete("/v1/customers/C-1042", headers=crm).status_code == 204
    erased = store.get_customer("C-1042")
    assert erased.erased and erased.name is None and erased.emails == []
    assert store.get_links(crm_id="C-1042") == []
    assert client.delete("/v1/customers/C-9999", headers=crm).status_code == 404


def test_customer_risk_endpoint(client: TestClient, story: Any, crm: Any) -> None:
    flag = client.get("/v1/customers/C-1042/risk", headers=crm).json()
    assert (flag["level"], flag["score"]) == ("critical", 86)
    assert story["mina_en"] in flag["evidence_ids"]
    calm = client.get("/v1/customers/C-2001/risk", headers=crm).json()
    assert (calm["level"], calm["score"]) == ("none", 0)
    assert client.get("/v1/customers/C-0000/risk", headers=crm).status_code == 404


def test_feed_has_no_misses_or_duplicates_while_flags_arrive(client: TestClient, story: Any, crm: Any, store: Any) -> None:
    for i in range(7):
        store.upsert_risk_flag(RiskFlag(crm_id=f"C-9{i:03d}", level=RiskLevel.watch, score=40 + i, updated_at=NOW))
    received: list[tuple[str, int]] = []
    cursor = None
    for round_ in range(10):
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/risk-flags", params=params, headers=crm).json()
        received += [(f["crm_id"], f["seq"]) for f in page["items"]]
        cursor = page["next_cursor"]
        if round_ == 1:  # new changes land between pages: one new customer, one changed flag
            store.upsert_risk_flag(RiskFlag(crm_id="C-1042", level=RiskLevel.high, score=70,
                                            updated_at=NOW + timedelta(minutes=5)))
            store.upsert_risk_flag(RiskFlag(crm_id="C-7777", level=RiskLevel.watch, score=45, updated_at=NOW))
        if not page["items"] and round_ > 2:
            break
    seqs = [s for _, s in received]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    assert {c for c, _ in received} == {"C-1042", "C-7777", *(f"C-9{i:03d}" for i in range(7))}
    latest = client.get("/v1/risk-flags", params={"cursor": cursor}, headers=crm).json()
    assert latest["items"] == [] and latest["next_cursor"] == cursor


def test_half_an_emoji_in_a_crm_export_is_replaced_and_the_row_kept(client: TestClient, crm: Any, store: Any) -> None:
    # "\ud83d" without its pair: json.loads keeps it, no UTF-8 (store, logs, the answer) can hold it.
    body = '[{"crm_id": "C-5003", "name": "\\u0646\\u06af\\u0627\\u0631 \\ud83d", "tier": "gold"}]'
    response = client.put("/v1/customers", content=body, headers={**crm, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    assert store.get_customer("C-5003").name == "نگار \ufffd"

"""Contract: CRM customers, identity keys, links, erasure and the audit log."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.domain import Customer, IdentityKey, IdentityLink, LinkStatus, SupportTicket
from tests.contract.conftest import refresh
from core.store.port import NotFoundError

OPENED = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)


def _sara() -> Customer:
    return Customer(
        crm_id="C-1001", name="سارا کریمی", emails=["Sara.Karimi@Example.com"], phones=["+98 912 123 4567"],
        handles={"twitter": ["@Sara_K"], "mastodon": ["sara_k"]}, order_ids=["DK-778812"], tier="gold",
        tickets=[SupportTicket(id="T-55", status="open", opened_at=OPENED, subject="مرجوعی گوشی شکسته")],
    )


def _reza() -> Customer:
    return Customer(crm_id="C-1002", name="Reza Ahmadi", emails=["reza@example.org"], phones=["09351112233"])


def test_upsert_is_idempotent_by_crm_id(store) -> None:
    report = store.upsert_customers([_sara(), _reza()])
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert store.upsert_customers([_sara()]).unchanged == 1
    changed = _sara().model_copy(update={"tier": "platinum"})
    assert store.upsert_customers([changed]).updated == 1
    assert store.get_customer("C-1001").tier == "platinum"
    assert store.get_customer("C-404") is None
    refresh(store)
    assert [c.crm_id for c in store.list_customers()] == ["C-1001", "C-1002"]
    assert [c.crm_id for c in store.list_customers(after="C-1001", limit=5)] == ["C-1002"]


def test_bad_customer_is_reported_and_others_stored(store) -> None:
    report = store.upsert_customers([{"crm_id": "C-bad", "emails": "not-a-list"}, _reza()])
    assert report.created == 1 and [f.id for f in report.failed] == ["C-bad"]
    assert store.get_customer("C-1002") is not None


def test_find_customers_by_normalised_identity_keys(store) -> None:
    store.upsert_customers([_sara(), _reza()])
    refresh(store)
    found = store.find_customers([
        IdentityKey(kind="email", value="sara.karimi@example.com"),
        IdentityKey(kind="phone", value="09121234567"),  # national form of +98 912 123 4567
        IdentityKey(kind="phone", value="+989351112233"),
        IdentityKey(kind="handle", value="twitter:sara_k"),
        IdentityKey(kind="handle", value="Mastodon:@SARA_K"),
        IdentityKey(kind="order", value="DK-778812"),
        IdentityKey(kind="ticket", value="T-55"),
        IdentityKey(kind="email", value="nobody@example.com"),
    ])
    assert found == {
        "email:sara.karimi@example.com": ["C-1001"],
        "phone:989121234567": ["C-1001"],
        "phone:989351112233": ["C-1002"],
        "handle:twitter:sara_k": ["C-1001"],
        "handle:mastodon:sara_k": ["C-1001"],
        "order:DK-778812": ["C-1001"],
        "ticket:T-55": ["C-1001"],
    }
    # Keys are re-derived on every write: a removed e-mail no longer matches.
    store.upsert_customers([_sara().model_copy(update={"emails": []})])
    refresh(store)
    assert store.find_customers([IdentityKey(kind="email", value="sara.karimi@example.com")]) == {}


def test_erasure_removes_pii_and_links_keeps_counts_and_audits(store) -> None:
    from core.store.port import MentionPatch
    from tests.contract.conftest import make_mention, refresh

    store.upsert_customers([_sara()])
    mention = make_mention("sara-1", "دیجی‌کالا گوشی شکسته را پس نمی‌گیرد", handle="Sara_K", platform="twitter")
    store.upsert_mentions([mention])
    store.patch_mentions([MentionPatch(id=mention.id, customer_id="C-1001")])
    refresh(store)
    store.save_link(IdentityLink(author_key="twitter:sara_k", crm_id="C-1001", method="handle", confidence=1.0,
                                 evidence="handle @Sara_K in CRM", status=LinkStatus.confirmed))
    store.erase_customer("C-1001", actor="dpo@example.com")
    stub = store.get_customer("C-1001")
    assert stub.erased and stub.name is None and stub.emails == [] and stub.phones == [] and stub.handles == {}
    assert stub.order_ids == [] and len(stub.tickets) == 1 and stub.tickets[0].subject is None
    assert store.get_links(crm_id="C-1001") == []
    assert store.find_customers([IdentityKey(kind="handle", value="twitter:sara_k"),
                                 IdentityKey(kind="phone", value="09121234567")]) == {}
    [event] = store.list_audit(subject="customer:C-1001")
    assert event.actor == "dpo@example.com" and event.action == "customer.erased"
    assert (event.data["tickets"], event.data["mentions"], event.data["links_deleted"]) == (1, 1, 1)
    # A later CRM sync of the same record does not bring the personal data back.
    store.upsert_customers([_sara()])
    assert store.get_customer("C-1001").name is None
    with pytest.raises(NotFoundError):
        store.erase_customer("C-404", actor="dpo@example.com")


def test_links_save_replace_filter_delete(store) -> None:
    def link(author: str, crm: str, status: LinkStatus, confidence: float) -> IdentityLink:
        return IdentityLink(author_key=author, crm_id=crm, method="name", confidence=confidence,
                            evidence="display name «سارا کریمی» ~ CRM name", status=status)

    store.save_link(link("mastodon:sara_k", "C-1001", LinkStatus.suggested, 0.7))
    store.save_link(link("mastodon:sk", "C-1001", LinkStatus.suggested, 0.6))
    store.save_link(link("mastodon:sara_k", "C-1002", LinkStatus.rejected, 0.4))
    store.save_link(link("mastodon:sara_k", "C-1001", LinkStatus.confirmed, 1.0))  # replaces the suggestion
    refresh(store)
    assert [(x.crm_id, x.status) for x in store.get_links(author_key="mastodon:sara_k", crm_id="C-1001")] == [
        ("C-1001", LinkStatus.confirmed)]
    assert len(store.get_links(author_key="mastodon:sara_k")) == 2
    assert {x.author_key for x in store.get_links(status=LinkStatus.suggested)} == {"mastodon:sk"}
    assert store.delete_links(crm_id="C-1001") == 2
    assert [x.crm_id for x in store.get_links()] == ["C-1002"]


def test_audit_log_appends_in_order(store) -> None:
    from core.domain import AuditEvent

    for i in range(5):
        store.append_audit(AuditEvent(actor="linker", action="link.suggested", subject=f"customer:C-{i % 2}",
                                      data={"n": i}))
    refresh(store)
    assert [e.data["n"] for e in store.list_audit(subject="customer:C-0")] == [0, 2, 4]
    assert [e.data["n"] for e in store.list_audit(limit=2)] == [3, 4]  # the newest, oldest first

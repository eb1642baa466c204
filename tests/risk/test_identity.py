"""Identity linking: deterministic evidence confirms, a name alone only suggests, consent and erasure are respected."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.domain import Consent, Customer, LinkStatus, RiskFlag, RiskLevel
from core.store.port import NotFoundError
from risk.identity import LinkRefused, NameIndex, confirm_link, erase_customer, extract_evidence, link_author, reject_link
from tests.risk.conftest import MINA_EN, MINA_FA, NOW, angry_analysis, john, make_mention, mina, sara

COMPLAINT_EN = "Sepehr Mobile still has not refunded my order. Terrible service."


def _setup(store, *customers: Customer) -> None:
    assert store.upsert_customers(list(customers) or [mina(), sara(), john()]).ok


def test_same_handle_on_same_platform_is_a_confirmed_link_with_evidence_and_audit(store):
    _setup(store)
    post = make_mention("110", MINA_EN, handle="mina_r", analysis=angry_analysis(MINA_EN, "en"))
    result = link_author(store, post, NOW)
    assert result.customer.crm_id == "C-1042"
    link = store.get_links(author_key="mastodon:mina_r")[0]
    assert (link.status, link.method, link.mention_id) == (LinkStatus.confirmed, "handle", post.id)
    assert link.confidence >= 0.9 and "@mina_r" in link.evidence
    audit = store.list_audit(subject="customer:C-1042")
    assert [e.action for e in audit] == ["link.created"]
    assert audit[0].data["author_key"] == "mastodon:mina_r" and audit[0].data["method"] == "handle"


def test_same_handle_on_another_platform_does_not_link(store):
    _setup(store)
    post = make_mention("t1", "Sepehr Mobile is slow today", platform="telegram", handle="mina_r")
    assert link_author(store, post, NOW).customer is None
    assert store.get_links(author_key="telegram:mina_r") == []


def test_email_in_bio_and_phone_with_persian_digits_in_text_link(store):
    _setup(store)
    by_bio = make_mention("201", COMPLAINT_EN, handle="jm_1980", bio="Dad, runner. Contact: John.Miller@example.com")
    assert link_author(store, by_bio, NOW).customer.crm_id == "C-4001"
    assert store.get_links(author_key="mastodon:jm_1980")[0].method == "email"
    text = "سلام، سفارشم هنوز نرسیده. شماره من ۰۹۱۲ ۱۲۳ ۴۵۶۷ لطفا تماس بگیرید سپهر موبایل"
    by_phone = make_mention("202", text, platform="telegram", handle="m_rahimi_88")
    linked = link_author(store, by_phone, NOW)
    assert linked.customer.crm_id == "C-1042" and linked.link.method == "phone"
    assert linked.link.evidence == "phone ***4567 in post"  # Persian digits folded, number masked
    assert store.get_links(author_key="mastodon:jm_1980")[0].evidence == "e-mail J***@example.com in author bio"


def test_ticket_number_in_text_links_to_the_customer_with_that_ticket(store):
    _setup(store)
    post = make_mention("p10100", MINA_FA, platform="forum", handle="mrahimi_forum2")
    linked = link_author(store, post, NOW)
    assert linked.customer.crm_id == "C-1042" and linked.link.method == "ticket"
    assert "T-881" in linked.link.evidence


def test_a_name_only_match_is_never_a_confirmed_link(store):
    _setup(store)
    names = NameIndex(store)
    post = make_mention("301", COMPLAINT_EN, handle="minarahimi_art", name="Mina Rahimi")
    result = link_author(store, post, NOW, names=names)
    assert result.customer is None and result.link is None
    [suggestion] = store.get_links(author_key="mastodon:minarahimi_art")
    assert suggestion.status == LinkStatus.suggested and suggestion.method == "name"
    assert suggestion.confidence < 0.7
    assert store.get_links(status=LinkStatus.confirmed) == []
    # Seeing the same author again keeps it a suggestion, never silently confirmed.
    again = link_author(store, make_mention("302", COMPLAINT_EN, handle="minarahimi_art", name="Mina Rahimi"), NOW, names=names)
    assert again.customer is None
    assert [link.status for link in store.get_links(author_key="mastodon:minarahimi_art")] == [LinkStatus.suggested]
    # A first name alone suggests nothing.
    assert link_author(store, make_mention("303", COMPLAINT_EN, handle="mm", name="Mina"), NOW, names=names).suggested == []


def test_confirmed_suggestion_counts_as_deterministic_and_rejected_is_never_suggested_again(store):
    _setup(store)
    names = NameIndex(store)
    link_author(store, make_mention("301", COMPLAINT_EN, handle="minarahimi_art", name="Mina  Rahimi"), NOW, names=names)
    confirmed = confirm_link(store, "mastodon:minarahimi_art", "C-1042", actor="agent:neda", now=NOW)
    assert confirmed.status == LinkStatus.confirmed and confirmed.decided_by == "agent:neda"
    later = link_author(store, make_mention("304", COMPLAINT_EN, handle="minarahimi_art", name="M.R."), NOW, names=names)
    assert later.customer.crm_id == "C-1042"
    link_author(store, make_mention("401", COMPLAINT_EN, handle="johnm", name="John Miller"), NOW, names=names)
    reject_link(store, "mastodon:johnm", "C-4001", actor="agent:neda", now=NOW)
    link_author(store, make_mention("402", COMPLAINT_EN, handle="johnm", name="John Miller"), NOW, names=names)
    assert [link.status for link in store.get_links(author_key="mastodon:johnm")] == [LinkStatus.rejected]
    actions = [e.action for e in store.list_audit()]
    assert actions == ["link.suggested", "link.confirmed", "link.suggested", "link.rejected"]
    with pytest.raises(NotFoundError):
        confirm_link(store, "mastodon:nobody", "C-4001", actor="agent:neda", now=NOW)


def test_do_not_link_customer_is_never_linked_by_any_evidence(store):
    _setup(store)
    names = NameIndex(store)
    text = "باتری گوشی که از سپهر موبایل خریدم زود خالی میشه. ایمیلم sara.ahmadi@example.com تیکت T-902"
    post = make_mention("p10400", text, platform="forum", handle="sara_a", name="Sara Ahmadi",
                        bio="sara.ahmadi@example.com")
    result = link_author(store, post, NOW, names=names)
    assert result.customer is None and result.suggested == []
    assert store.get_links(crm_id="C-3001") == []
    assert store.list_audit(subject="customer:C-3001") == []  # not even a trace of the match
    # A person cannot confirm one either (say an agent typed the pair in by hand).
    store.save_link(_manual_link())
    with pytest.raises(LinkRefused):
        confirm_link(store, "forum:sara_a", "C-3001", actor="agent:neda", now=NOW)


def _manual_link():
    from core.domain import IdentityLink

    return IdentityLink(author_key="forum:sara_a", crm_id="C-3001", method="manual", confidence=0.5,
                        evidence="typed by an agent", status=LinkStatus.suggested)


def test_erasure_removes_links_pii_and_the_risk_flag(store):
    _setup(store)
    link_author(store, make_mention("110", MINA_EN, handle="mina_r"), NOW)
    link_author(store, make_mention("p1", MINA_FA, platform="forum", handle="mina_r"), NOW)
    link_author(store, make_mention("t9", "call me 09121234567", platform="telegram", handle="m88",
                                    bio="mina.rahimi@example.com"), NOW)
    store.upsert_risk_flag(RiskFlag(crm_id="C-1042", level=RiskLevel.high, score=72, reasons=["angry 0.93"],
                                    evidence_ids=["mastodon-1"], updated_at=NOW))
    assert len(store.get_links(crm_id="C-1042")) == 3
    erase_customer(store, "C-1042", actor="dpo:leila", now=NOW + timedelta(minutes=5))
    assert store.get_links(crm_id="C-1042") == []
    audit_text = " ".join(e.model_dump_json() for e in store.list_audit(subject="customer:C-1042"))
    for pii in ("Mina", "Rahimi", "mina.rahimi@example.com", "989121234567", "1234567"):
        assert pii not in audit_text
    erased = store.get_customer("C-1042")
    assert erased.erased and erased.name is None and erased.emails == [] and erased.phones == [] and erased.handles == {}
    flag = store.get_risk_flag("C-1042")
    assert flag.level == RiskLevel.none and flag.reasons == [] and flag.evidence_ids == []
    # The same evidence no longer links anyone.
    assert link_author(store, make_mention("111", MINA_EN, handle="mina_r"), NOW).customer is None
    assert store.get_links(crm_id="C-1042") == []


def test_evidence_extraction_finds_handle_email_phone_and_references():
    post = make_mention("9", "order O-55012 late, call me +98 912 123 4567 or mail a.b@example.org", handle="x",
                        bio="tel 09121234567")
    methods = {(e.method, e.key.value) for e in extract_evidence(post)}
    assert ("handle", "mastodon:x") in methods
    assert ("email", "a.b@example.org") in methods
    assert ("phone", "+98 912 123 4567") in methods and ("phone", "09121234567") in methods
    assert ("order", "O-55012") in methods


def test_links_made_before_a_customer_opted_out_are_dropped_and_not_used(store):
    _setup(store)
    assert link_author(store, make_mention("110", MINA_EN, handle="mina_r"), NOW).customer.crm_id == "C-1042"
    opted_out = mina().model_copy(update={"consent": Consent(do_not_link=True)})
    assert store.upsert_customers([opted_out]).ok
    later = link_author(store, make_mention("111", MINA_EN, handle="mina_r"), NOW + timedelta(hours=1))
    assert later.customer is None
    assert store.get_links(crm_id="C-1042") == []
    assert store.list_audit(subject="customer:C-1042")[-1].data == {"reason": "do_not_link", "links_deleted": 1}


def test_a_ticket_number_in_a_reply_under_the_customers_own_post_is_her_case_not_the_repliers_identity(store):
    _setup(store)
    thread = "mastodon:social.example:109000000000000100"
    root = make_mention("109000000000000100", MINA_EN, handle="mina_r", thread_id=thread,
                        analysis=angry_analysis(MINA_EN, "en"))
    store.upsert_mentions([root])
    assert link_author(store, root, NOW).customer.crm_id == "C-1042"  # her own handle
    reply = make_mention("109000000000000131", "How is ticket T-881 still open??", handle="replier_5",
                         thread_id=thread, parent_id=root.id)
    store.upsert_mentions([reply])
    result = link_author(store, reply, NOW)
    assert result.customer is None and result.link is None
    assert [l for l in store.get_links(author_key="mastodon:replier_5") if l.status == LinkStatus.confirmed] == []
    # a reply further down the chain (replying to the replier) is still about her case
    deeper = make_mention("109000000000000140", "تیکت T-881 هنوز بازه؟ عجیبه", handle="another_one",
                          thread_id=thread, parent_id=reply.id)
    store.upsert_mentions([deeper])
    assert link_author(store, deeper, NOW).customer is None


def test_a_ticket_number_in_a_post_of_its_own_or_in_someone_elses_thread_still_links(store):
    _setup(store)
    own = make_mention("109000000000000200", "My ticket T-881 at Sepehr Mobile is still open, nine days now.",
                       handle="mina_second_account")
    assert link_author(store, own, NOW).customer.crm_id == "C-1042"
    # a reply whose thread was started by someone linked to nobody: the number identifies the replier
    root = make_mention("109000000000000300", "Anyone else waiting on Sepehr Mobile repairs?", handle="random_user")
    store.upsert_mentions([root])
    reply = make_mention("109000000000000301", "Me! Ticket T-881, reopened twice.", handle="m_rahimi_alt",
                         parent_id=root.id)
    linked = link_author(store, reply, NOW)
    assert linked.customer.crm_id == "C-1042" and linked.link.method == "ticket"

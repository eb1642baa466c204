"""Customers: bulk upsert, one customer with links, mentions and risk, link decisions, erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field

from core.domain import Customer, IdentityLink, Mention, RiskFlag
from core.privacy import pseudonym_key
from core.store.port import BulkReport, MentionQuery
from monitor_api.customers import bulk_upsert, decide_link, erase
from monitor_api.deps import ClockDep, CustomersWriter, RiskReader, SettingsDep, StoreDep
from monitor_api.jsonbody import CleanJsonRoute
from monitor_api.problems import PROBLEM_RESPONSES, ApiProblem

router = APIRouter(tags=["customers"], responses=PROBLEM_RESPONSES, route_class=CleanJsonRoute)
MAX_BULK = 5000


class CustomerView(BaseModel):
    customer: Customer
    links: list[IdentityLink] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    risk: RiskFlag | None = None


class LinkDecision(BaseModel):
    author_key: str = Field(min_length=3, max_length=300, description="`platform:handle` of the suggested author")


def _customer_or_404(store: StoreDep, crm_id: str) -> Customer:
    customer = store.get_customer(crm_id)
    if customer is None:
        raise ApiProblem(404, "Not found", f"no customer with CRM id {crm_id!r}", kind="not-found")
    return customer


@router.put("/customers", response_model=BulkReport, summary="Create or update customers (idempotent by crm_id)")
def upsert_customers(
    store: StoreDep,
    _: CustomersWriter,
    rows: Annotated[list[dict[str, Any]], Body(max_length=MAX_BULK, description="Customer records")],
) -> BulkReport:
    """Each bad row is reported in ``failed`` with its index and field path; good rows are stored."""
    return bulk_upsert(store, rows)


@router.get("/customers/{crm_id}", response_model=CustomerView, summary="A customer with links, mentions and risk")
def get_customer(crm_id: str, store: StoreDep, _: RiskReader) -> CustomerView:
    customer = _customer_or_404(store, crm_id)
    mentions = store.search_mentions(MentionQuery(customer_id=crm_id, limit=50)).items
    return CustomerView(customer=customer, links=store.get_links(crm_id=crm_id), mentions=mentions,
                        risk=store.get_risk_flag(crm_id))


@router.post("/customers/{crm_id}/links/confirm", status_code=204, summary="Confirm a suggested link")
def confirm_link(crm_id: str, body: LinkDecision, store: StoreDep, clock: ClockDep, principal: CustomersWriter) -> Response:
    _customer_or_404(store, crm_id)
    try:
        decide_link(store, crm_id, body.author_key, True, principal.actor, clock.now())
    except ValueError as exc:
        raise ApiProblem(409, "Link refused", str(exc), kind="link-refused") from None
    return Response(status_code=204)


@router.post("/customers/{crm_id}/links/reject", status_code=204, summary="Reject a suggested link")
def reject_link(crm_id: str, body: LinkDecision, store: StoreDep, clock: ClockDep, principal: CustomersWriter) -> Response:
    _customer_or_404(store, crm_id)
    decide_link(store, crm_id, body.author_key, False, principal.actor, clock.now())
    return Response(status_code=204)


@router.delete("/customers/{crm_id}", status_code=204, summary="Erase a customer (removes PII and links)")
def erase_customer(crm_id: str, store: StoreDep, settings: SettingsDep, clock: ClockDep,
                   principal: CustomersWriter) -> Response:
    """Erases every copy of the customer's personal data: the record, identity keys and links,
    the link from their mentions (whose author becomes a pseudonym), alert texts ("erased
    customer"), stored delivery payloads and the audit log (keyed-hash pseudonyms)."""
    _customer_or_404(store, crm_id)
    erase(store, crm_id, principal.actor, clock.now(), pseudonym_key(settings.data_dir))
    return Response(status_code=204)

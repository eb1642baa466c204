"""Customer operations the API needs: bulk validation that keeps good rows, and link decisions.

Row validation reuses the risk engineer's ``risk.customers_import`` when it exists; otherwise
each row is validated against ``core.domain.Customer``. Link confirm/reject uses
``risk.identity`` when it exists; otherwise it writes the link and an audit event itself.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from core.domain import AuditEvent, Customer, LinkStatus
from core.erasure import erase_personal_data
from core.store.port import BulkReport, ItemError, NotFoundError, Store
from monitor_api.problems import field_path


def _optional(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


def validate_rows(rows: list[Any]) -> tuple[list[Customer], list[ItemError]]:
    """Customers from raw rows; each bad row becomes an error naming its index and field path."""
    good: list[Customer] = []
    bad: list[ItemError] = []
    for index, row in enumerate(rows):
        ident = row.get("crm_id") if isinstance(row, dict) and isinstance(row.get("crm_id"), str) else f"[{index}]"
        if not isinstance(row, dict):
            bad.append(ItemError(id=ident, error=f"[{index}]: a customer must be a JSON object"))
            continue
        try:
            good.append(Customer.model_validate(row))
        except ValidationError as exc:
            problems = "; ".join(f"[{index}].{field_path(e['loc'])}: {e['msg']}" for e in exc.errors())
            bad.append(ItemError(id=ident, error=problems))
    return good, bad


def bulk_upsert(store: Store, rows: list[Any]) -> BulkReport:
    """Validate and upsert rows (idempotent by crm_id); bad rows are reported, good rows kept."""
    good, bad = validate_rows(rows)
    seen: dict[str, Customer] = {}
    for customer in good:
        seen[customer.crm_id] = customer  # the last row of a repeated crm_id wins
    report = store.upsert_customers(seen.values()) if seen else BulkReport()
    report.failed = bad + report.failed
    return report


def decide_link(store: Store, crm_id: str, author_key: str, confirm: bool, actor: str, now: datetime) -> None:
    """Confirm or reject the suggested link between ``author_key`` and ``crm_id``, then queue the
    author's mentions for the ``risk`` stage so scores and flags follow the decision.

    Raises NotFoundError when there is no such link, ValueError when the customer must not be linked.
    """
    author_key = author_key.strip().lower()
    identity = _optional("risk.identity")
    func = getattr(identity, "confirm_link" if confirm else "reject_link", None) if identity else None
    if func is not None:
        func(store, author_key, crm_id, actor, now)
    else:
        _decide_here(store, crm_id, author_key, confirm, actor, now)
    _requeue_author(store, author_key, now)


def erase(store: Store, crm_id: str, actor: str, now: datetime, pseudonym_key: bytes) -> None:
    """Erase a customer: every copy of their personal data is scrubbed first (mentions,
    threads, alerts, delivery payloads, audit log: ``core.erasure``), then the record, its
    identity keys and links go (counts kept); the risk engineer's version also clears the flag."""
    erase_personal_data(store, crm_id, pseudonym_key)
    identity = _optional("risk.identity")
    if identity is not None and hasattr(identity, "erase_customer"):
        identity.erase_customer(store, crm_id, actor, now)
    else:
        store.erase_customer(crm_id, actor)


def _decide_here(store: Store, crm_id: str, author_key: str, confirm: bool, actor: str, now: datetime) -> None:
    links = [link for link in store.get_links(crm_id=crm_id) if link.author_key == author_key]
    if not links:
        raise NotFoundError(f"no link between {author_key!r} and customer {crm_id!r}")
    customer = store.get_customer(crm_id)
    if confirm and (customer is None or customer.erased or customer.consent.do_not_link):
        raise ValueError(f"customer {crm_id!r} must not be linked (do_not_link or erased)")
    link = links[0]
    status = LinkStatus.confirmed if confirm else LinkStatus.rejected
    store.save_link(link.model_copy(update={"status": status, "decided_by": actor}))
    store.append_audit(AuditEvent(at=now, actor=actor, action=f"link.{status.value}", subject=f"customer:{crm_id}",
                                  data={"author_key": link.author_key, "method": link.method,
                                        "previous": link.status.value}))


def _requeue_author(store: Store, author_key: str, now: datetime) -> None:
    from core.store.port import MentionQuery

    page = store.search_mentions(MentionQuery(authors=[author_key], limit=500))
    if page.items:
        store.enqueue("risk", [m.id for m in page.items], now=now)

"""CRM customers with their identity keys, author links and the audit log.

Each customer document carries ``identity_keys`` (``kind:value`` strings, re-derived
on every write by ``customer_identity_keys``, shared with the SQLite adapter), so a
look-up by keys is one ``terms`` query. Links have the deterministic ``_id``
``blake2b(author_key, crm_id)``; audit events are ids derived from their content, so a
retried append does not duplicate.

Erasure is not one transaction here: it writes the anonymous stub first (so the
customer stops matching, as its keys go with it), then refreshes the links index and
deletes every link of the customer by query, then writes the audit event. Each step
uses ``refresh="wait_for"``: when the call returns, no search finds the personal data
or a link any more and the audit event is listed (erasure is a rare privacy operation,
not a hot path). A crash in between leaves a stub whose links a repeated
``erase_customer`` removes.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Callable, Iterable


from core.domain import AuditEvent, Customer, IdentityKey, IdentityLink, LinkStatus
from core.store.elastic.client import create_if_absent, get_doc, mget_docs, run_bulk, search_hits
from core.store.common import erased_stub, validated_customer
from core.store.port import BulkReport, ItemError, NotFoundError, StoreError
from core.identity import customer_identity_keys, normalize_key

MAX_TERMS = 10_000


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def link_id(author_key: str, crm_id: str) -> str:
    """The deterministic ``_id`` of the link between an author and a customer."""
    return _digest(author_key, crm_id)


def customer_source(customer: Customer) -> dict[str, Any]:
    """The stored document: the customer's JSON plus its identity keys."""
    doc = customer.model_dump(mode="json")
    doc["identity_keys"] = [f"{k.kind}:{k.value}" for k in customer_identity_keys(customer)]
    return doc


def customer_from_source(source: dict[str, Any]) -> Customer:
    return Customer.model_validate({k: v for k, v in source.items() if k != "identity_keys"})


class CustomersMixin:
    """Customers, identity links and audit events."""

    def upsert_customers(self, customers: Iterable[Customer]) -> BulkReport:
        """Insert or replace customers by ``crm_id``. An erased customer stays erased."""
        report = BulkReport()
        valid: dict[str, Customer] = {}
        for index, item in enumerate(customers):
            customer = validated_customer(item, index, report)
            if customer is None:
                continue
            valid[customer.crm_id] = customer
        alias = self._names.alias("customers")
        stored = mget_docs(self._es, alias, list(valid))
        actions, created = [], set()
        for crm_id, customer in valid.items():
            doc = stored.get(crm_id)
            if doc is not None:
                old = customer_from_source(doc.source)
                if old.erased or old.model_dump(exclude={"updated_at"}) == customer.model_dump(exclude={"updated_at"}):
                    report.unchanged += 1
                    continue
                actions.append({"_op_type": "index", "_index": alias, "_id": crm_id,
                                "_source": customer_source(customer), **doc.token})
            else:
                created.add(crm_id)
                actions.append({"_op_type": "create", "_index": alias, "_id": crm_id,
                                "_source": customer_source(customer)})
        for item in run_bulk(self._es, actions):
            if not item.ok:
                reason = "changed concurrently; retry" if item.conflict else item.error or "rejected"
                report.failed.append(ItemError(id=item.id, error=reason))
            elif item.id in created:
                report.created += 1
            else:
                report.updated += 1
        return report

    def get_customer(self, crm_id: str) -> Customer | None:
        """The customer (realtime), or None."""
        doc = get_doc(self._es, self._names.alias("customers"), crm_id)
        return customer_from_source(doc.source) if doc else None

    def find_customers(self, keys: Iterable[IdentityKey]) -> dict[str, list[str]]:
        """Normalised ``kind:value`` -> crm ids having that key (erased customers never match)."""
        wanted = list(dict.fromkeys(f"{k.kind}:{k.value}" for k in map(normalize_key, keys) if k is not None))
        if not wanted:
            return {}
        hits = search_hits(self._es, self._names.alias("customers"), size=MAX_TERMS, _source=["crm_id", "identity_keys"],
                           query={"bool": {"filter": [{"terms": {"identity_keys": wanted}},
                                                      {"term": {"erased": False}}]}},
                           sort=[{"crm_id": "asc"}])
        out: dict[str, list[str]] = {}
        for hit in hits:
            for key in hit["_source"].get("identity_keys", []):
                if key in wanted:
                    out.setdefault(key, []).append(hit["_source"]["crm_id"])
        return {key: out[key] for key in wanted if key in out}

    def list_customers(self, after: str | None = None, limit: int = 100) -> list[Customer]:
        """Customers in ``crm_id`` order, after ``after`` (exclusive)."""
        query = {"range": {"crm_id": {"gt": after}}} if after else {"match_all": {}}
        hits = search_hits(self._es, self._names.alias("customers"), size=limit, query=query, sort=[{"crm_id": "asc"}])
        return [customer_from_source(h["_source"]) for h in hits]

    def erase_customer(self, crm_id: str, actor: str) -> None:
        """Remove the customer's personal data and links; keep counts; audit it."""
        alias = self._names.alias("customers")
        doc = get_doc(self._es, alias, crm_id)
        if doc is None:
            raise NotFoundError(f"customer {crm_id!r} not found")
        stub = erased_stub(customer_from_source(doc.source))
        self._es.index(index=alias, id=crm_id, document=customer_source(stub), refresh="wait_for")
        links = self.delete_links(crm_id=crm_id)
        mentions = int(self._es.count(index=self._names.alias("mentions"),
                                      query={"term": {"customer_id": crm_id}}).body["count"])
        event = AuditEvent(actor=actor, action="customer.erased", subject=f"customer:{crm_id}",
                           data={"links_deleted": links, "tickets": len(stub.tickets), "mentions": mentions})
        self._append_audit(event, refresh="wait_for")

    # ------------------------------------------------------------ links

    def save_link(self, link: IdentityLink) -> None:
        """Insert or replace the link for (author_key, crm_id)."""
        self._es.index(index=self._names.alias("links"), id=link_id(link.author_key, link.crm_id),
                       document=link.model_dump(mode="json"))

    def get_links(
        self, *, author_key: str | None = None, crm_id: str | None = None, status: LinkStatus | None = None
    ) -> list[IdentityLink]:
        """Links matching every given filter, oldest first."""
        filters = [{"term": {field: getattr(value, "value", value)}}
                   for field, value in (("author_key", author_key), ("crm_id", crm_id), ("status", status))
                   if value is not None]
        hits = search_hits(self._es, self._names.alias("links"), size=MAX_TERMS,
                           query={"bool": {"filter": filters}},
                           sort=[{"created_at": "asc"}, {"author_key": "asc"}, {"crm_id": "asc"}])
        return [IdentityLink.model_validate(h["_source"]) for h in hits]

    def delete_links(self, *, crm_id: str) -> int:
        """Delete every link of a customer; returns how many.

        The links index is refreshed first so links written a moment ago are deleted
        too (a privacy operation must not miss one; it is rare, not a hot path)."""
        alias = self._names.alias("links")
        self._es.indices.refresh(index=alias)
        resp = self._es.delete_by_query(index=alias, query={"term": {"crm_id": crm_id}}, conflicts="proceed",
                                        refresh=True)
        return int(resp.body.get("deleted", 0))

    # ------------------------------------------------------------ audit

    def append_audit(self, event: AuditEvent) -> None:
        """Append one event to the audit log (a retried append of the same event is a no-op)."""
        self._append_audit(event)

    def _append_audit(self, event: AuditEvent, refresh: str | None = None) -> None:
        doc = event.model_dump(mode="json")
        doc["logged_ns"] = time.time_ns()
        create_if_absent(self._es, self._names.alias("audit"), _digest(event.model_dump_json()), doc, refresh=refresh)

    def rewrite_audit(self, subject: str, transform: Callable[[AuditEvent], AuditEvent]) -> int:
        """Replace each event of ``subject`` by ``transform(event)`` (same document ids)."""
        index = self._names.alias("audit")
        self._es.indices.refresh(index=index)
        hits = search_hits(self._es, index, size=10_000, query={"term": {"subject": subject}})
        actions = []
        for hit in hits:
            source = hit["_source"]
            old = AuditEvent.model_validate({k: v for k, v in source.items() if k != "logged_ns"})
            new = transform(old)
            if new != old:
                doc = {**new.model_dump(mode="json"), "logged_ns": source.get("logged_ns")}
                actions.append({"_op_type": "index", "_index": index, "_id": hit["_id"], "_source": doc})
        failed = [item for item in run_bulk(self._es, actions, refresh="wait_for") if item.error]
        if failed:
            raise StoreError(f"rewriting {len(failed)} audit event(s) failed: {failed[0].error}")
        return len(actions)

    def list_audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """The newest ``limit`` events (of ``subject``), oldest first."""
        query = {"term": {"subject": subject}} if subject is not None else {"match_all": {}}
        hits = search_hits(self._es, self._names.alias("audit"), size=limit, query=query,
                           sort=[{"logged_ns": "desc"}])
        return [AuditEvent.model_validate({k: v for k, v in h["_source"].items() if k != "logged_ns"})
                for h in reversed(hits)]

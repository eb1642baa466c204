"""CRM customers with their identity-key index, author links and the audit log.

Identity keys are re-derived on every write (``identity.customer_identity_keys``).
Erasure removes the personal data, the keys and every link, keeps an anonymous stub
with its counts, and writes an audit event, all in one transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, Iterable


from core.domain import AuditEvent, Customer, IdentityKey, IdentityLink, LinkStatus
from core.store.common import erased_stub, validated_customer
from core.store.port import BulkReport, ItemError, NotFoundError
from core.store.sqlite.connection import to_ms
from core.identity import customer_identity_keys, normalize_key


class CustomersMixin:
    """Customers, identity keys, identity links and audit events."""

    def upsert_customers(self, customers: Iterable[Customer]) -> BulkReport:
        """Insert or replace customers by ``crm_id``. An erased customer stays erased:
        a CRM re-sync of it changes nothing (its personal data is not taken back)."""
        report = BulkReport()
        with self._write() as conn:
            for index, item in enumerate(customers):
                customer = validated_customer(item, index, report)
                if customer is None:
                    continue
                conn.execute("SAVEPOINT customer")
                try:
                    outcome = self._upsert_customer(conn, customer)
                except sqlite3.Error as exc:
                    conn.execute("ROLLBACK TO customer")
                    report.failed.append(ItemError(id=customer.crm_id, error=f"{type(exc).__name__}: {exc}"))
                    outcome = None
                conn.execute("RELEASE customer")
                if outcome:
                    setattr(report, outcome, getattr(report, outcome) + 1)
        return report

    def _upsert_customer(self, conn: sqlite3.Connection, customer: Customer) -> str:
        row = conn.execute("SELECT erased, doc FROM customers WHERE crm_id = ?", (customer.crm_id,)).fetchone()
        if row is not None:
            if row[0]:
                return "unchanged"
            old = Customer.model_validate_json(row[1])
            if old.model_dump(exclude={"updated_at"}) == customer.model_dump(exclude={"updated_at"}):
                return "unchanged"
        conn.execute(
            "INSERT INTO customers(crm_id, erased, doc) VALUES (?, ?, ?) ON CONFLICT(crm_id)"
            " DO UPDATE SET erased = excluded.erased, doc = excluded.doc",
            (customer.crm_id, int(customer.erased), customer.model_dump_json()),
        )
        conn.execute("DELETE FROM identity_keys WHERE crm_id = ?", (customer.crm_id,))
        conn.executemany(
            "INSERT OR IGNORE INTO identity_keys(kind, value, crm_id) VALUES (?, ?, ?)",
            [(k.kind, k.value, customer.crm_id) for k in customer_identity_keys(customer)],
        )
        return "created" if row is None else "updated"

    def get_customer(self, crm_id: str) -> Customer | None:
        """The customer, or None."""
        row = self._conn().execute("SELECT doc FROM customers WHERE crm_id = ?", (crm_id,)).fetchone()
        return Customer.model_validate_json(row[0]) if row else None

    def find_customers(self, keys: Iterable[IdentityKey]) -> dict[str, list[str]]:
        """Normalised ``kind:value`` -> crm ids having that key (only keys that match;
        erased customers have no keys and never match)."""
        out: dict[str, list[str]] = {}
        conn = self._conn()
        for key in keys:
            norm = normalize_key(key)
            if norm is None:
                continue
            rows = conn.execute(
                "SELECT k.crm_id FROM identity_keys k JOIN customers c ON c.crm_id = k.crm_id"
                " WHERE k.kind = ? AND k.value = ? AND c.erased = 0 ORDER BY k.crm_id",
                (norm.kind, norm.value),
            ).fetchall()
            if rows:
                out[f"{norm.kind}:{norm.value}"] = [r[0] for r in rows]
        return out

    def list_customers(self, after: str | None = None, limit: int = 100) -> list[Customer]:
        """Customers in ``crm_id`` order, after ``after`` (exclusive)."""
        rows = self._conn().execute(
            "SELECT doc FROM customers WHERE crm_id > ? ORDER BY crm_id LIMIT ?", (after or "", limit)
        ).fetchall()
        return [Customer.model_validate_json(r[0]) for r in rows]

    def erase_customer(self, crm_id: str, actor: str) -> None:
        """Remove the customer's personal data and links; keep counts; audit it."""
        with self._write() as conn:
            row = conn.execute("SELECT doc FROM customers WHERE crm_id = ?", (crm_id,)).fetchone()
            if row is None:
                raise NotFoundError(f"customer {crm_id!r} not found")
            stub = erased_stub(Customer.model_validate_json(row[0]))
            conn.execute("UPDATE customers SET erased = 1, doc = ? WHERE crm_id = ?", (stub.model_dump_json(), crm_id))
            conn.execute("DELETE FROM identity_keys WHERE crm_id = ?", (crm_id,))
            links = conn.execute("DELETE FROM identity_links WHERE crm_id = ?", (crm_id,)).rowcount
            mentions = conn.execute("SELECT count(*) FROM mentions WHERE customer_id = ?", (crm_id,)).fetchone()[0]
            event = AuditEvent(actor=actor, action="customer.erased", subject=f"customer:{crm_id}",
                               data={"links_deleted": links, "tickets": len(stub.tickets), "mentions": mentions})
            self._append_audit_in(conn, event)

    # ------------------------------------------------------------ links

    def save_link(self, link: IdentityLink) -> None:
        """Insert or replace the link for (author_key, crm_id)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO identity_links(author_key, crm_id, status, doc) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(author_key, crm_id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
                (link.author_key, link.crm_id, link.status.value, link.model_dump_json()),
            )

    def get_links(
        self, *, author_key: str | None = None, crm_id: str | None = None, status: LinkStatus | None = None
    ) -> list[IdentityLink]:
        """Links matching every given filter, oldest first."""
        where, params = [], []
        for column, value in (("author_key", author_key), ("crm_id", crm_id),
                              ("status", status.value if isinstance(status, LinkStatus) else status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = "SELECT doc FROM identity_links" + (" WHERE " + " AND ".join(where) if where else "")
        links = [IdentityLink.model_validate_json(r[0]) for r in self._conn().execute(sql, params)]
        return sorted(links, key=lambda link: (link.created_at, link.author_key, link.crm_id))

    def delete_links(self, *, crm_id: str) -> int:
        """Delete every link of a customer; returns how many."""
        with self._write() as conn:
            return conn.execute("DELETE FROM identity_links WHERE crm_id = ?", (crm_id,)).rowcount

    # ------------------------------------------------------------ audit

    def append_audit(self, event: AuditEvent) -> None:
        """Append one event to the audit log."""
        with self._write() as conn:
            self._append_audit_in(conn, event)

    def _append_audit_in(self, conn: sqlite3.Connection, event: AuditEvent) -> None:
        conn.execute(
            "INSERT INTO audit_log(at_ms, subject, doc) VALUES (?, ?, ?)",
            (to_ms(event.at), event.subject, event.model_dump_json()),
        )

    def rewrite_audit(self, subject: str, transform: Callable[[AuditEvent], AuditEvent]) -> int:
        """Replace each event of ``subject`` by ``transform(event)``, in place (same order)."""
        changed = 0
        with self._write() as conn:
            for seq, doc in conn.execute("SELECT seq, doc FROM audit_log WHERE subject = ?", (subject,)).fetchall():
                old = AuditEvent.model_validate_json(doc)
                new = transform(old)
                if new != old:
                    conn.execute("UPDATE audit_log SET doc = ? WHERE seq = ?", (new.model_dump_json(), seq))
                    changed += 1
        return changed

    def list_audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """The newest ``limit`` events (of ``subject``), oldest first."""
        params: list[Any] = []
        sql = "SELECT doc FROM audit_log"
        if subject is not None:
            sql += " WHERE subject = ?"
            params.append(subject)
        sql += " ORDER BY seq DESC LIMIT ?"
        rows = self._conn().execute(sql, (*params, limit)).fetchall()
        return [AuditEvent.model_validate_json(r[0]) for r in reversed(rows)]

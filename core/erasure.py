"""Erasure that really erases: every copy of a customer's personal data, not only the CRM row.

A customer's personal data is their name, emails, phones, social handles, order ids,
ticket ids and ticket subjects. Besides the customer record (which the store turns into an
anonymous stub), copies live in:

- mentions linked to them (``customer_id``) or written by their handles: the link is
  cut, the author becomes a keyed pseudonym (``erased-<hmac>``, same one everywhere, so
  threads still group) with no name, profile or post URL;
- any mention, thread or campaign text quoting a personal value (``@mina_r``, ``T-881``);
- alert titles, reasons and timelines ("Mina Rahimi (gold, C-1042) …" becomes
  "erased customer (gold, C-1042) …");
- stored delivery payloads (a re-sent delivery must not carry the name or ticket subject);
- the audit log (author keys pseudonymised with the keyed hash).

:func:`erase_personal_data` scrubs all of these while the values are still known; the caller
then lets the store erase the record itself (``Store.erase_customer``). Every step is
idempotent, so a failed erasure is finished by running it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from core.domain import Alert, AuditEvent, Customer, LinkStatus, Mention
from core.privacy import pseudonym
from core.query import QueryError, parse_query
from core.store.port import AlertFilter, ConflictError, MentionQuery, NotFoundError, Store

ERASED_NAME = "erased customer"
REDACTED = "[erased]"
MIN_VALUE_CHARS = 3  # shorter values would redact ordinary words
ID_FIELDS = frozenset({"id", "native_id", "thread_id", "parent_id", "campaign_id", "alert_id", "subject_id",
                       "fingerprint", "mention_ids", "evidence_ids", "crm_id", "customer_id"})
PAGE = 500


@dataclass
class Scrubber:
    """Replaces every personal value (case-insensitive, whole words) in texts and JSON."""

    rules: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def add(self, value: str | None, replacement: str) -> None:
        value = (value or "").strip()
        if len(value) >= MIN_VALUE_CHARS:
            self.rules.append((re.compile(r"(?<!\w)" + re.escape(value) + r"(?!\w)", re.IGNORECASE), replacement))
            self.rules.sort(key=lambda rule: -len(rule[0].pattern))  # longest first: emails before names

    def text(self, value: str) -> str:
        for pattern, replacement in self.rules:
            value = pattern.sub(replacement, value)
        return value

    def json(self, value: Any, key: str = "") -> Any:
        """``value`` with every string scrubbed, except identifiers (``ID_FIELDS``)."""
        if key in ID_FIELDS:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v, key) for v in value]
        if isinstance(value, dict):
            return {k: self.json(v, k) for k, v in value.items()}
        return value


@dataclass
class Erasure:
    """What one customer's erasure replaces, built from their record before it is erased."""

    crm_id: str
    key: bytes
    scrub: Scrubber = field(default_factory=Scrubber)
    handles: dict[str, str] = field(default_factory=dict)  # handle (lower) -> pseudonym handle
    author_keys: set[str] = field(default_factory=set)  # platform:handle of the customer
    search_values: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, customer: Customer, linked_authors: set[str], key: bytes) -> "Erasure":
        erasure = cls(customer.crm_id, key)
        keys = set(linked_authors) | {f"{p.lower()}:{h.lstrip('@').lower()}"
                                      for p, hs in customer.handles.items() for h in hs}
        for author_key in keys:
            handle = author_key.split(":", 1)[-1]
            erasure.handles[handle] = f"erased-{pseudonym(key, handle, 10)}"
            erasure.author_keys.add(author_key)
        for handle, alias in erasure.handles.items():
            erasure.scrub.add("@" + handle, "@" + alias)
            erasure.scrub.add(handle, alias)
        values = [customer.name, *customer.emails, *customer.phones, *customer.order_ids,
                  *(t.id for t in customer.tickets), *(t.subject for t in customer.tickets if t.subject)]
        erasure.scrub.add(customer.name, ERASED_NAME)
        for value in values[1:]:
            erasure.scrub.add(value, REDACTED)
        for phone in customer.phones:  # also the bare digits, as posts often write them
            erasure.scrub.add(re.sub(r"\D", "", phone), REDACTED)
        erasure.search_values = [v for v in [*values, *erasure.handles] if v and len(v) >= MIN_VALUE_CHARS]
        return erasure

    def author_key(self, author_key: str) -> str:
        platform, _, handle = author_key.partition(":")
        return f"{platform}:{self.handles.get(handle, handle)}"

    def mention(self, m: Mention) -> Mention:
        """``m`` without the customer: link cut, their authorship pseudonymised, texts scrubbed."""
        data = self.scrub.json(m.model_dump(mode="json"))
        if m.customer_id == self.crm_id:
            data["customer_id"] = None
        if m.author.key in self.author_keys:
            data["author"] = {"platform": m.author.platform, "handle": self.handles[m.author.handle.lower()],
                              "followers": m.author.followers}
            data["url"] = None
        return Mention.model_validate(data)

    def alert(self, alert: Alert) -> Alert:
        return Alert.model_validate(self.scrub.json(alert.model_dump(mode="json")))

    def payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A delivery payload as it must be re-sent: no customer block, no author details."""
        out = self.scrub.json(payload)
        customer = out.get("customer")
        if isinstance(customer, dict) and customer.get("crm_id") == self.crm_id:
            out["customer"] = {"crm_id": self.crm_id, "erased": True}
        mention = out.get("mention")
        if isinstance(mention, dict) and isinstance(mention.get("author"), dict):
            handle = str(mention["author"].get("handle") or "")
            if handle in self.handles.values():
                mention["author"] = {"handle": handle, "followers": mention["author"].get("followers")}
                mention["url"] = None
        return out

    def audit(self, event: AuditEvent) -> AuditEvent:
        data = self.scrub.json(event.data)
        for name in ("author_key", "author"):
            if isinstance(event.data.get(name), str):
                data[name] = self.author_key(event.data[name].lower())
        return event.model_copy(update={"data": data})


def erase_personal_data(store: Store, crm_id: str, key: bytes) -> dict[str, int]:
    """Scrub every copy of customer ``crm_id``'s personal data (see the module docstring);
    returns what changed. Raises NotFoundError for an unknown customer. Call it before
    ``Store.erase_customer``, which removes the values this needs."""
    customer = store.get_customer(crm_id)
    if customer is None:
        raise NotFoundError(f"customer {crm_id!r} not found")
    if customer.erased:
        return {}
    # Confirmed links only: a suggested or rejected author may well be someone else.
    linked = {link.author_key for link in store.get_links(crm_id=crm_id) if link.status == LinkStatus.confirmed}
    erasure = Erasure.of(customer, linked, key)
    counts = {"mentions": _erase_mentions(store, erasure)}
    counts["alerts"], counts["deliveries"] = _erase_alerts(store, erasure)
    counts["audit"] = store.rewrite_audit(f"customer:{crm_id}", erasure.audit)
    return counts


def _all_pages(store: Store, query: MentionQuery) -> Iterator[Mention]:
    cursor = None
    while True:
        page = store.search_mentions(query.model_copy(update={"cursor": cursor, "limit": PAGE}))
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


def _text_queries(values: list[str]) -> Iterator[str]:
    """Brand-language queries (chunks of phrases) finding every text that may quote a value."""
    phrases = []
    for value in values:
        phrase = '"' + re.sub(r'["()*]', " ", value) + '"'
        try:
            parse_query(phrase)
        except QueryError:  # no letters or digits: nothing to find
            continue
        phrases.append(phrase)
    for start in range(0, len(phrases), 50):
        yield " OR ".join(phrases[start:start + 50])


def _erase_mentions(store: Store, erasure: Erasure) -> int:
    found: dict[str, Mention] = {}
    queries = [MentionQuery(customer_id=erasure.crm_id)]
    if erasure.author_keys:
        queries.append(MentionQuery(authors=sorted(erasure.author_keys)))
    queries += [MentionQuery(text=text) for text in _text_queries(erasure.search_values)]
    for query in queries:
        for m in _all_pages(store, query):
            found[m.id] = m
    changed = [new for m in found.values() if (new := erasure.mention(m)) != m]
    if changed:
        store.replace_mentions(changed)
    _erase_groups(store, erasure, found.values())
    return len(changed)


def _erase_groups(store: Store, erasure: Erasure, mentions: Any) -> None:
    """Threads and campaigns of the affected mentions: author keys and texts."""
    for thread_id in {m.thread_id for m in mentions if m.thread_id}:
        thread = store.get_thread(thread_id)
        if thread is not None:
            new = thread.model_validate(erasure.scrub.json(thread.model_dump(mode="json")))
            new = new.model_copy(update={"authors": [erasure.author_key(a) for a in new.authors],
                                         "url": None if any(a in erasure.author_keys for a in thread.authors) else new.url})
            if new != thread:
                store.upsert_thread(new)
    for campaign_id in {m.campaign_id for m in mentions if m.campaign_id}:
        campaign = store.get_campaign(campaign_id)
        if campaign is not None:
            new = campaign.model_validate(erasure.scrub.json(campaign.model_dump(mode="json")))
            new = new.model_copy(update={"authors": [erasure.author_key(a) for a in new.authors]})
            if new != campaign:
                store.upsert_campaign(new)


def _erase_alerts(store: Store, erasure: Erasure) -> tuple[int, int]:
    """Every alert's texts (any alert may quote a handle) and every delivery payload."""
    alerts_changed = deliveries_changed = 0
    for alert in _all_alerts(store):
        new = erasure.alert(alert)
        if new != alert:
            _update_alert(store, alert, erasure.alert)
            alerts_changed += 1
        deliveries_changed += store.rewrite_delivery_payloads(alert.id, erasure.payload)
    return alerts_changed, deliveries_changed


def _update_alert(store: Store, alert: Alert, scrub: Callable[[Alert], Alert]) -> None:
    for _ in range(5):  # another worker may change the alert meanwhile: scrub the newest version
        try:
            store.update_alert(scrub(alert), expected_version=alert.version)
            return
        except ConflictError:
            fresh = store.get_alert(alert.id)
            if fresh is None:
                return
            alert = fresh
    raise ConflictError(f"alert {alert.id!r} kept changing during erasure; run the erasure again")


def _all_alerts(store: Store) -> Iterator[Alert]:
    cursor = None
    while True:
        alerts, cursor = store.list_alerts(AlertFilter(limit=PAGE, cursor=cursor))
        yield from alerts
        if not cursor:
            return

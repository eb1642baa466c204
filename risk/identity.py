"""Linking a mention's author to a CRM customer, deterministic first.

Confirmed links come only from evidence that identifies one customer: the same handle
on the same platform, an e-mail address or phone number in the post or the author's
bio, or an order/ticket number in the text that is in the customer's records. The
store's ``find_customers`` does the normalised look-up (see ``core.store.port``).

A display-name match (rapidfuzz) only ever creates a ``suggested`` link that a person
confirms or rejects (``confirm_link`` / ``reject_link``); a confirmed suggestion then
counts as deterministic for that author. A customer with ``do_not_link`` consent is
never linked, and nothing about the match is written anywhere (not even the audit
log, which would itself record the link); links made before a customer opted out are
deleted the next time their author is seen.

A ticket or order number in a *reply* names the case being discussed, not the replier: in
a thread whose root post or parent post is by an author already linked to that customer
("How is ticket T-881 still open??" under Mina's post), the number is about her case, so
it makes no link at all for the replier. A ticket or order number in a post of its own (or
in a thread nobody linked to that customer started) still confirms a link as usual. Every link is written with an AuditEvent; the
evidence text masks e-mail addresses and phone numbers, so links and audit events hold no
contact details of their own.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime

from rapidfuzz import fuzz, process

from core.domain import AuditEvent, Customer, IdentityKey, IdentityLink, LinkStatus, Mention
from core.store.port import NotFoundError, Store
from core.identity import normalize_key  # the identity-key rules every adapter shares
from core.textnorm import normalize_for_match, normalize_persian

_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?<![\w+])\+?\d[\d\s().-]{7,18}\d(?!\w)")
_REFERENCE_RE = re.compile(r"(?<![\w-])#?([A-Za-z]{0,4}-?\d{3,12})(?![\w-])")
# Strongest first: when two methods point at different customers, the stronger one wins.
METHOD_CONFIDENCE = {"handle": 0.97, "email": 0.93, "phone": 0.9, "ticket": 0.8, "order": 0.8}
MAX_REPLY_DEPTH = 50  # parent posts followed up a reply chain
NAME_SUGGEST_CUTOFF = 88.0  # rapidfuzz token-sort ratio (0-100); only ever a suggestion


class LinkRefused(ValueError):
    """A link was asked for that must not be made (do_not_link, erased customer)."""


@dataclass(frozen=True)
class Evidence:
    """One identity key found in a mention and where it was seen."""

    key: IdentityKey
    method: str
    evidence: str


@dataclass
class LinkResult:
    """The confirmed customer of a mention's author (if any) and the suggestions made."""

    customer: Customer | None = None
    link: IdentityLink | None = None
    suggested: list[IdentityLink] = field(default_factory=list)


def mask_email(email: str) -> str:
    """``m***@example.com``: enough for a person to check, not the address itself (links and audit keep no PII)."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str) -> str:
    """``***4567``: the last four digits only."""
    digits = "".join(c for c in phone if c.isdigit())
    return f"***{digits[-4:]}"


def extract_evidence(mention: Mention) -> list[Evidence]:
    """Identity keys in a mention: its handle, e-mails and phones (text and bio), order/ticket ids."""
    found: list[Evidence] = []
    author = mention.author
    if author.handle:
        found.append(Evidence(IdentityKey(kind="handle", value=f"{author.platform}:{author.handle}"),
                              "handle", f"{author.platform} handle @{author.handle.lstrip('@')}"))
    for where, raw in (("post", mention.text), ("author bio", author.bio or "")):
        text = normalize_persian(raw)
        for email in dict.fromkeys(_EMAIL_RE.findall(text)):
            found.append(Evidence(IdentityKey(kind="email", value=email), "email",
                                  f"e-mail {mask_email(email)} in {where}"))
        for phone in dict.fromkeys(m.strip() for m in _PHONE_RE.findall(text)):
            if sum(c.isdigit() for c in phone) >= 9:
                found.append(Evidence(IdentityKey(kind="phone", value=phone), "phone",
                                      f"phone {mask_phone(phone)} in {where}"))
    text = normalize_persian(f"{mention.title or ''} {mention.text}")
    for ref in list(dict.fromkeys(_REFERENCE_RE.findall(text)))[:20]:
        for kind in ("ticket", "order"):
            found.append(Evidence(IdentityKey(kind=kind, value=ref), kind, f"{kind} {ref} in post"))
    return found


def _audit(store: Store, actor: str, action: str, link: IdentityLink, now: datetime) -> None:
    store.append_audit(AuditEvent(at=now, actor=actor, action=action, subject=f"customer:{link.crm_id}", data={
        "author_key": link.author_key, "method": link.method, "confidence": link.confidence,
        "evidence": link.evidence, "status": link.status.value, "mention_id": link.mention_id,
    }))


def _linkable(customer: Customer | None) -> bool:
    return customer is not None and not customer.erased and not customer.consent.do_not_link


class NameIndex:
    """Normalised customer names for suggestion look-ups, reloaded from the store now and then."""

    def __init__(self, store: Store, refresh_seconds: float = 300.0, page: int = 1000) -> None:
        self._store, self._refresh, self._page = store, refresh_seconds, page
        self._names: list[str] = []
        self._ids: list[str] = []
        self._loaded_at: float | None = None
        self._by_token: dict[str, list[int]] = {}  # word -> indexes of names containing it
        self._misses: set[str] = set()  # names known to match nobody, until the next reload

    def _load(self) -> None:
        names, ids, after = [], [], None
        while batch := self._store.list_customers(after=after, limit=self._page):
            for customer in batch:
                if customer.name and _linkable(customer):
                    names.append(_sorted_tokens(customer.name))
                    ids.append(customer.crm_id)
            after = batch[-1].crm_id
        by_token: dict[str, list[int]] = {}
        for index, sorted_name in enumerate(names):
            for token in set(sorted_name.split()):
                by_token.setdefault(token, []).append(index)
        self._names, self._ids, self._by_token, self._loaded_at = names, ids, by_token, time.monotonic()
        self._misses.clear()

    def best(self, name: str) -> tuple[str, float] | None:
        """The customer whose name is most like ``name`` (score 0-100), if close enough."""
        if self._loaded_at is None or time.monotonic() - self._loaded_at > self._refresh:
            self._load()
        query = _sorted_tokens(name)
        if len(query.split()) < 2 or len(query) < 6:
            return None  # a first name alone ("Sepehr", "Sara") says nothing about who it is
        if query in self._misses:
            return None
        # Only names sharing a word with the query are compared (a name with every word misspelt is
        # missed: acceptable for suggestions); tokens are sorted once at load, so plain ratio equals
        # token_sort_ratio and runs ~3x faster.
        candidates = sorted({i for token in set(query.split()) for i in self._by_token.get(token, ())})
        hit = process.extractOne(query, [self._names[i] for i in candidates], scorer=fuzz.ratio,
                                 score_cutoff=NAME_SUGGEST_CUTOFF)
        if hit is None:
            if len(self._misses) > 100_000:
                self._misses.clear()
            self._misses.add(query)
            return None
        return self._ids[candidates[hit[2]]], float(hit[1])


def _sorted_tokens(name: str) -> str:
    return " ".join(sorted(normalize_for_match(name).split()))


def link_author(
    store: Store, mention: Mention, now: datetime, *, names: NameIndex | None = None, actor: str = "risk",
) -> LinkResult:
    """Find or make the link of ``mention``'s author; returns the confirmed customer, if any."""
    author_key = mention.author.key
    if author_key is None:
        return LinkResult()
    known = {link.crm_id: link for link in store.get_links(author_key=author_key)}
    for link in list(known.values()):
        customer = store.get_customer(link.crm_id)
        if customer is not None and customer.consent.do_not_link and not customer.erased:
            _drop_links_of(store, customer.crm_id, actor, now)  # consent withdrawn since the link was made
            del known[link.crm_id]
        elif link.status == LinkStatus.confirmed and _linkable(customer):
            return LinkResult(customer=customer, link=link)
    evidence = extract_evidence(mention)
    matches = store.find_customers([e.key for e in evidence]) if evidence else {}
    case_owners: set[str] | None = None  # customers whose case this thread is about (looked up once, if needed)
    for method in METHOD_CONFIDENCE:  # strongest method first
        for item in (e for e in evidence if e.method == method):
            crm_ids = matches.get(f"{item.key.kind}:{_normalised_value(item.key)}", [])
            customers = [c for c in (store.get_customer(i) for i in crm_ids) if _linkable(c)]
            customers = [c for c in customers if known.get(c.crm_id, None) is None
                         or known[c.crm_id].status != LinkStatus.rejected]
            if method in ("ticket", "order") and customers:
                if case_owners is None:
                    case_owners = thread_case_owners(store, mention)
                customers = [c for c in customers if c.crm_id not in case_owners]
            if len(customers) == 1:
                link = IdentityLink(author_key=author_key, crm_id=customers[0].crm_id, method=method,
                                    confidence=METHOD_CONFIDENCE[method], evidence=item.evidence,
                                    status=LinkStatus.confirmed, mention_id=mention.id, created_at=now)
                store.save_link(link)
                _audit(store, actor, "link.created", link, now)
                return LinkResult(customer=customers[0], link=link)
    return LinkResult(suggested=_suggest_by_name(store, mention, author_key, known, names, now, actor))


def thread_case_owners(store: Store, mention: Mention) -> set[str]:
    """CRM ids confirmed-linked to the authors of the posts ``mention`` replies to (its parent
    chain) and of its thread's first post, other than its own author: a ticket or order number
    in the reply is about their case (see the module docstring)."""
    own_key = mention.author.key
    others: list[Mention] = []
    current, seen = mention, {mention.id}
    for _ in range(MAX_REPLY_DEPTH):
        if not current.parent_id or current.parent_id in seen:
            break
        parent = store.get_mention(current.parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        others.append(parent)
        current = parent
    thread = store.get_thread(mention.thread_id) if mention.thread_id else None
    if thread is not None and thread.mention_ids and thread.mention_ids[0] not in seen:
        root = store.get_mention(thread.mention_ids[0])
        if root is not None:
            others.append(root)
    owners: set[str] = set()
    for key in dict.fromkeys(m.author.key for m in others if m.author.key and m.author.key != own_key):
        owners |= {link.crm_id for link in store.get_links(author_key=key) if link.status == LinkStatus.confirmed}
    return owners


def _drop_links_of(store: Store, crm_id: str, actor: str, now: datetime) -> None:
    deleted = store.delete_links(crm_id=crm_id)
    store.append_audit(AuditEvent(at=now, actor=actor, action="links.deleted", subject=f"customer:{crm_id}",
                                  data={"reason": "do_not_link", "links_deleted": deleted}))


def _normalised_value(key: IdentityKey) -> str:
    # find_customers answers with normalised keys; match them with the same rules it uses.
    norm = normalize_key(key)
    return norm.value if norm else key.value


def _suggest_by_name(
    store: Store, mention: Mention, author_key: str, known: dict[str, IdentityLink],
    names: NameIndex | None, now: datetime, actor: str,
) -> list[IdentityLink]:
    if names is None or not mention.author.name:
        return []
    hit = names.best(mention.author.name)
    if hit is None or hit[0] in known:  # never re-suggest a rejected or pending pair
        return []
    crm_id, similarity = hit
    if not _linkable(store.get_customer(crm_id)):
        return []
    link = IdentityLink(author_key=author_key, crm_id=crm_id, method="name", confidence=round(0.6 * similarity / 100, 3),
                        evidence=f"display name {mention.author.name!r} ~ customer name ({similarity:.0f}%)",
                        status=LinkStatus.suggested, mention_id=mention.id, created_at=now)
    store.save_link(link)
    _audit(store, actor, "link.suggested", link, now)
    return [link]


def _decide(store: Store, author_key: str, crm_id: str, status: LinkStatus, actor: str, now: datetime) -> IdentityLink:
    existing = next(iter(store.get_links(author_key=author_key, crm_id=crm_id)), None)
    if existing is None:
        raise NotFoundError(f"no link between {author_key!r} and customer {crm_id!r}")
    if status == LinkStatus.confirmed and not _linkable(store.get_customer(crm_id)):
        raise LinkRefused(f"customer {crm_id!r} must not be linked (do_not_link or erased)")
    link = existing.model_copy(update={"status": status, "decided_by": actor})
    store.save_link(link)
    _audit(store, actor, f"link.{status.value}", link, now)
    return link


def confirm_link(store: Store, author_key: str, crm_id: str, actor: str, now: datetime) -> IdentityLink:
    """A person confirms a suggested link; from now on it counts as deterministic for that author."""
    return _decide(store, author_key, crm_id, LinkStatus.confirmed, actor, now)


def reject_link(store: Store, author_key: str, crm_id: str, actor: str, now: datetime) -> IdentityLink:
    """A person rejects a link; it is kept as rejected so it is never suggested again."""
    return _decide(store, author_key, crm_id, LinkStatus.rejected, actor, now)


def erase_customer(store: Store, crm_id: str, actor: str, now: datetime) -> None:
    """Erase a customer: the store removes PII, identity keys and every link (audited); the risk flag is cleared."""
    from risk.flags import clear_flag  # flags depend on scoring, not on linking; import only here

    store.erase_customer(crm_id, actor)
    clear_flag(store, crm_id, now)

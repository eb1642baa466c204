"""CRM customer records, identity keys, links between authors and customers, audit events."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from core.domain.common import DomainModel, UtcDatetime, utcnow


# Bounds on every list a CRM (or an API caller) sends: a record is a person, not a data dump.
MAX_CONTACTS = 50  # emails, phones, handles per platform
MAX_PLATFORMS = 20
MAX_ORDERS = 5000
MAX_TICKETS = 1000
ShortText = Annotated[str, StringConstraints(max_length=320)]


class TicketStatus(StrEnum):
    open = "open"
    pending = "pending"
    resolved = "resolved"
    reopened = "reopened"


class SupportTicket(DomainModel):
    id: str
    status: TicketStatus
    opened_at: UtcDatetime
    last_contact_at: UtcDatetime | None = None
    channel: str | None = None  # phone, email, chat, ...
    subject: str | None = None


class RFM(DomainModel):
    recency_days: float | None = None
    frequency: float | None = None
    monetary: float | None = None


class Consent(DomainModel):
    do_not_link: bool = False  # never link this customer to social authors
    do_not_contact: bool = False


class Customer(DomainModel):
    """A CRM record. ``handles`` maps platform -> handles (without '@')."""

    crm_id: str
    name: str | None = None
    emails: list[ShortText] = Field(default_factory=list, max_length=MAX_CONTACTS)
    phones: list[ShortText] = Field(default_factory=list, max_length=MAX_CONTACTS)
    handles: dict[ShortText, Annotated[list[ShortText], Field(max_length=MAX_CONTACTS)]] = Field(
        default_factory=dict, max_length=MAX_PLATFORMS)
    order_ids: list[ShortText] = Field(default_factory=list, max_length=MAX_ORDERS)
    tier: str | None = None  # e.g. bronze/silver/gold/platinum
    segment: str | None = None
    rfm: RFM | None = None
    lifetime_value: float | None = None
    tickets: list[SupportTicket] = Field(default_factory=list, max_length=MAX_TICKETS)
    consent: Consent = Field(default_factory=Consent)
    erased: bool = False  # PII removed on request; anonymous counts kept
    updated_at: UtcDatetime = Field(default_factory=utcnow)


class IdentityKey(DomainModel):
    """One normalised way to recognise a customer: kind is email/phone/handle/order/ticket.

    ``handle`` values are ``platform:handle`` in lower case; emails lower case; phones
    digits only with country code.
    """

    kind: str
    value: str


class LinkStatus(StrEnum):
    confirmed = "confirmed"  # deterministic, or suggested and confirmed by a person
    suggested = "suggested"  # name similarity only: a person must confirm
    rejected = "rejected"


class IdentityLink(DomainModel):
    """A link between a social author and a CRM customer, with why we believe it."""

    author_key: str  # platform:handle
    crm_id: str
    method: str  # handle, email, phone, order, ticket, name, manual
    confidence: float = Field(ge=0, le=1)
    evidence: str
    status: LinkStatus
    mention_id: str | None = None
    created_at: UtcDatetime = Field(default_factory=utcnow)
    decided_by: str | None = None  # who confirmed/rejected a suggestion


class AuditEvent(DomainModel):
    """An append-only audit log entry (links made, confirmed, rejected, erasures)."""

    at: UtcDatetime = Field(default_factory=utcnow)
    actor: str
    action: str
    subject: str
    data: dict[str, Any] = Field(default_factory=dict)

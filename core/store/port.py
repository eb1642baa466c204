"""The storage port: what every stage needs from a store, as Protocols.

Two adapters implement it: ``core.store.sqlite`` (embedded default) and
``core.store.elastic`` (production). ``tests/contract/`` runs one behaviour suite
against both. Stages depend on these Protocols only, never on an adapter.

Conventions shared by every operation:
- times are aware UTC; ids are deterministic (see ``core.domain.mention_id``);
- bulk writes return a report naming each failed item and why; good items are kept;
- ``now`` parameters exist so tests and the demo's simulated clock can drive time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable, Literal, Protocol, Sequence, runtime_checkable

from pydantic import BaseModel, Field

from core.domain import (
    Alert,
    AlertState,
    ApiKey,
    AuditEvent,
    Campaign,
    Customer,
    Delivery,
    IdentityKey,
    IdentityLink,
    LinkStatus,
    Mention,
    RiskFlag,
    Silence,
    Thread,
)
from core.store.stats_port import StatsStore


class StoreError(Exception):
    """Base class for storage failures (adapter-independent)."""


class ConflictError(StoreError):
    """An optimistic-concurrency check failed: someone else changed the record first."""


class NotFoundError(StoreError):
    """The record does not exist."""


class SearchTooCostly(StoreError):
    """A search ran past its time budget and was stopped (narrow the query or the dates)."""


class ItemError(BaseModel):
    """One item of a bulk write that was not stored, and why."""

    id: str
    error: str


class BulkReport(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[ItemError] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


# ---------------------------------------------------------------- mentions & search


class MentionPatch(BaseModel):
    """Fields a later stage sets on a stored mention; ``None`` fields are left as they are."""

    id: str
    lang: str | None = None
    analysis: dict[str, Any] | None = None  # Analysis.model_dump(mode="json")
    risk: dict[str, Any] | None = None  # RiskScore.model_dump(mode="json")
    customer_id: str | None = None
    campaign_id: str | None = None
    thread_id: str | None = None


FacetName = Literal["brands", "lang", "sentiment", "emotion", "platform", "source", "author", "customer_id"]


class MentionQuery(BaseModel):
    """A mention search. ``text`` uses the brand query language (core.query)."""

    text: str | None = None
    brands: list[str] = Field(default_factory=list)
    langs: list[str] = Field(default_factory=list)
    sentiments: list[str] = Field(default_factory=list)
    emotions: list[str] = Field(default_factory=list)  # dominant emotion label
    platforms: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)  # author keys platform:handle
    customer_id: str | None = None
    thread_id: str | None = None
    campaign_id: str | None = None
    since: datetime | None = None  # published_at >= since
    until: datetime | None = None  # published_at < until
    min_risk: float | None = None
    sort: Literal["newest", "oldest", "risk"] = "newest"
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None  # opaque, from the previous page's next_cursor
    facets: list[FacetName] = Field(default_factory=list)
    histogram: Literal["hour", "day", "week"] | None = None  # date histogram of matches
    # Seconds of evaluation before the search is stopped with SearchTooCostly (None: no limit,
    # for internal callers; the API passes ``api.search_budget_seconds``).
    budget_s: float | None = Field(default=None, gt=0)


class FacetBucket(BaseModel):
    value: str
    count: int


class HistogramBucket(BaseModel):
    start: datetime
    count: int
    negative: int = 0  # matches analysed as negative in the bucket


class SearchPage(BaseModel):
    items: list[Mention]
    next_cursor: str | None = None
    total: int | None = None  # exact where cheap; may be None on huge result sets
    facets: dict[str, list[FacetBucket]] = Field(default_factory=dict)
    histogram: list[HistogramBucket] = Field(default_factory=list)
    # True when the page was found within the search budget but counting every match for
    # the facets, histogram and total was not: those are then left empty (narrow the query).
    aggregations_stopped: bool = False


@runtime_checkable
class MentionStore(Protocol):
    def upsert_mentions(self, mentions: Iterable[Mention]) -> BulkReport:
        """Idempotent by ``Mention.id``. A new id is created and queued for the
        ``analyze`` stage. An existing id keeps its analysis/risk/links; its engagement
        is replaced and one point is appended to ``engagement_history`` (only when the
        counts changed or time moved on), and it is queued for the ``risk`` stage."""

    def get_mention(self, mention_id: str) -> Mention | None: ...

    def get_mentions(self, mention_ids: Sequence[str]) -> list[Mention]:
        """Mentions in the order asked; unknown ids are left out."""

    def patch_mentions(self, patches: Iterable[MentionPatch]) -> BulkReport: ...

    def replace_mentions(self, mentions: Sequence[Mention]) -> int:
        """Overwrite stored mentions wholesale (same ids; text index, author and links
        re-indexed; nothing queued). For erasure: returns how many were replaced."""
        ...

    def search_mentions(self, query: MentionQuery) -> SearchPage: ...

    def count_mentions(self, query: MentionQuery) -> int: ...


# ---------------------------------------------------------------- work queues & checkpoints


class WorkItem(BaseModel):
    stage: str
    mention_id: str
    attempts: int  # including this claim
    enqueued_at: datetime


@runtime_checkable
class WorkQueue(Protocol):
    """Per-stage queues of mention ids with leases.

    A claimed item is invisible to other workers until its lease expires; ``ack``
    removes it; ``fail`` records an error and makes it claimable again after a delay,
    or dead after ``max_attempts``. Enqueueing an id already queued for the stage is a
    no-op (an item already claimed is re-queued to run again after its ack)."""

    def enqueue(self, stage: str, mention_ids: Iterable[str], now: datetime | None = None) -> int: ...

    def claim(
        self, stage: str, worker: str, limit: int, lease_seconds: float, now: datetime | None = None
    ) -> list[WorkItem]: ...

    def ack(self, stage: str, worker: str, mention_ids: Iterable[str]) -> int:
        """Remove items this worker holds; returns how many. Items whose lease was lost
        to another worker are not removed."""

    def fail(
        self, stage: str, worker: str, mention_id: str, error: str, retry_in_seconds: float = 60,
        max_attempts: int = 5, now: datetime | None = None,
    ) -> None: ...

    def queue_depth(self, stage: str, now: datetime | None = None) -> dict[str, int]:
        """Counts: ready, leased, dead."""

    def dead_items(self, stage: str, limit: int = 100) -> list[dict[str, Any]]: ...

    def get_checkpoint(self, name: str) -> str | None: ...

    def set_checkpoint(self, name: str, value: str) -> None: ...


# ---------------------------------------------------------------- customers, links, audit


@runtime_checkable
class CustomerStore(Protocol):
    def upsert_customers(self, customers: Iterable[Customer]) -> BulkReport:
        """Idempotent by ``crm_id``; identity keys are re-derived on every write."""

    def get_customer(self, crm_id: str) -> Customer | None: ...

    def find_customers(self, keys: Iterable[IdentityKey]) -> dict[str, list[str]]:
        """Identity key ``kind:value`` -> crm ids having it (erased customers never match)."""

    def list_customers(self, after: str | None = None, limit: int = 100) -> list[Customer]: ...

    def erase_customer(self, crm_id: str, actor: str) -> None:
        """Remove PII and every link; keep an anonymous stub with counts; audit it."""

    def save_link(self, link: IdentityLink) -> None:
        """Insert or replace the link for (author_key, crm_id)."""

    def get_links(
        self, *, author_key: str | None = None, crm_id: str | None = None, status: LinkStatus | None = None
    ) -> list[IdentityLink]: ...

    def delete_links(self, *, crm_id: str) -> int: ...

    def append_audit(self, event: AuditEvent) -> None: ...

    def list_audit(self, subject: str | None = None, limit: int = 100) -> list[AuditEvent]: ...

    def rewrite_audit(self, subject: str, transform: Callable[[AuditEvent], AuditEvent]) -> int:
        """Replace each event of ``subject`` by ``transform(event)`` in place (erasure
        pseudonymises it; the log stays append-only otherwise). Returns how many changed."""
        ...


# ---------------------------------------------------------------- threads & campaigns


@runtime_checkable
class ThreadStore(Protocol):
    def upsert_thread(self, thread: Thread) -> None: ...

    def get_thread(self, thread_id: str) -> Thread | None: ...

    def upsert_campaign(self, campaign: Campaign) -> None: ...

    def get_campaign(self, campaign_id: str) -> Campaign | None: ...

    def list_campaigns(self, since: datetime | None = None, limit: int = 100) -> list[Campaign]: ...


# ---------------------------------------------------------------- alerts, silences, outbox


class AlertFilter(BaseModel):
    states: list[AlertState] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    rule: str | None = None
    customer_id: str | None = None
    assignee: str | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None  # opaque, newest updated first


@runtime_checkable
class AlertStore(Protocol):
    def create_alert(self, alert: Alert, deliveries: Sequence[Delivery] = ()) -> Alert:
        """Insert a new alert (version becomes 1) together with its deliveries, atomically.
        Raises ConflictError when an *unresolved* alert with the same fingerprint exists."""

    def update_alert(self, alert: Alert, expected_version: int, deliveries: Sequence[Delivery] = ()) -> Alert:
        """Replace the alert if its stored version is ``expected_version`` (then +1),
        writing the deliveries in the same unit. Raises ConflictError otherwise."""

    def get_alert(self, alert_id: str) -> Alert | None: ...

    def find_alert_by_fingerprint(self, fingerprint: str) -> Alert | None:
        """The newest alert with this fingerprint (resolved ones too, for reopening)."""

    def list_alerts(self, flt: AlertFilter) -> tuple[list[Alert], str | None]: ...

    def alerts_due_for_escalation(self, now: datetime, limit: int = 100) -> list[Alert]:
        """Open (unacknowledged, not escalated) alerts whose ack_deadline has passed."""

    def count_alerts_by_state(self) -> dict[str, int]: ...

    def add_silence(self, silence: Silence) -> None: ...

    def list_silences(self, active_at: datetime | None = None) -> list[Silence]: ...

    def delete_silence(self, silence_id: str) -> bool: ...


@runtime_checkable
class OutboxStore(Protocol):
    def enqueue_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        """Insert deliveries not already stored (by id); returns how many were new."""

    def claim_due_deliveries(
        self, worker: str, limit: int, lease_seconds: float, now: datetime | None = None
    ) -> list[Delivery]:
        """Pending/failed deliveries due by ``now`` (and ``sending`` ones whose lease
        expired), leased to ``worker`` atomically: two dispatchers never get the same one."""

    def mark_delivery_sent(self, delivery_id: str, worker: str, now: datetime | None = None) -> bool: ...

    def mark_delivery_failed(
        self, delivery_id: str, worker: str, error: str, next_attempt_at: datetime | None, dead: bool = False
    ) -> bool:
        """Record a failed attempt; ``dead=True`` gives up. Returns False if the lease was lost."""

    def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    def list_deliveries(
        self, *, alert_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Delivery]: ...

    def redeliver(self, delivery_id: str, now: datetime | None = None) -> Delivery:
        """Make a dead (or failed) delivery pending again with attempts reset."""

    def count_deliveries_by_status(self) -> dict[str, int]: ...

    def rewrite_delivery_payloads(self, alert_id: str, transform: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
        """Replace the stored payload of each delivery of ``alert_id`` by ``transform(payload)``
        (erasure: a re-sent delivery must not carry erased data). Returns how many changed."""
        ...


# ---------------------------------------------------------------- risk flags & api keys


class FeedPage(BaseModel):
    items: list[RiskFlag]
    next_cursor: str  # always present: pass it back to get later changes


@runtime_checkable
class RiskFlagStore(Protocol):
    def upsert_risk_flag(self, flag: RiskFlag) -> RiskFlag | None:
        """Store the flag if level, score (rounded to 0.1), reasons or evidence changed;
        the change gets the next ``seq`` and lands in the feed. Returns the stored flag,
        or None when nothing changed."""

    def get_risk_flag(self, crm_id: str) -> RiskFlag | None: ...

    def risk_flag_feed(self, cursor: str | None, limit: int = 100) -> FeedPage:
        """Changes after ``cursor`` in ``seq`` order: no misses, no duplicates, even while
        new changes arrive between pages. Only the newest change of a flag is kept."""


@runtime_checkable
class ApiKeyStore(Protocol):
    def save_api_key(self, key: ApiKey) -> None: ...

    def get_api_key(self, key_id: str) -> ApiKey | None: ...

    def list_api_keys(self) -> list[ApiKey]: ...

    def revoke_api_key(self, key_id: str, now: datetime | None = None) -> bool: ...

    def touch_api_key(self, key_id: str, now: datetime | None = None) -> None: ...


@runtime_checkable
class Store(MentionStore, StatsStore, WorkQueue, CustomerStore, ThreadStore, AlertStore, OutboxStore, RiskFlagStore,
            ApiKeyStore, Protocol):
    """Everything a stage may ask of storage."""

    name: str

    def ping(self) -> bool:
        """True when the backend is reachable (readiness)."""

    def stats(self) -> dict[str, Any]:
        """Counts per record kind and queue depths, for ``brandguard store stats``."""

    def close(self) -> None: ...

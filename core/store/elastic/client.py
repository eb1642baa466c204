"""Connection to Elasticsearch and the small helpers every module of the adapter shares.

- ``connect``: the official client from ``StoreSettings`` (basic auth, API key, CA), checked
  against the server's version: 9.x as is, 8.x through REST compatibility headers
  (``compatible-with=8``), anything older refused with a message naming the version.
- Retries: every request the adapter sends is safe to repeat (deterministic ids, conditional
  writes that recognise their own earlier attempt by a write token, idempotent scripts), so the
  transport retries timeouts, resets and 429/502/503/504 -- at most ``MAX_RETRIES`` times within
  ``es_request_timeout_s`` each. ``once(es)`` is for the few calls that must not be repeated
  blindly (starting a reindex task).
- ``run_bulk``: ``helpers.streaming_bulk`` with ``raise_on_error=False`` and
  ``raise_on_exception=False``; items rejected with 429 are retried with back-off; every
  item's outcome is returned, a failed item with its id, HTTP status and reason.
- ``get_doc``/``mget_docs``: realtime reads that also return ``_seq_no``/``_primary_term``
  (the optimistic-concurrency token for a following conditional write).
- cursors: opaque URL-safe base64 of JSON, tagged with what they page through.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from elastic_transport import Transport
from elasticsearch import ApiError, Elasticsearch, TransportError
from elasticsearch import ConflictError as EsConflictError
from elasticsearch.helpers import streaming_bulk

from core.config import StoreSettings
from core.store.common import check_cursor_parts
from core.store.port import StoreError

BULK_CHUNK = 500  # actions per _bulk request
MAX_CLAIM_PAGES = 50  # candidate pages one claim may walk
MAX_RETRIES = 2  # transport retries of one request (timeouts, resets, 429/502/503/504)
BULK_429_RETRIES = 4  # streaming_bulk re-sends of items rejected with 429
BULK_BACKOFF_S = 0.25  # first back-off before re-sending 429 items (doubles each time)
SUPPORTED_MAJORS = (8, 9)
WRITE_TOKEN = "bg_write"  # field carrying the token of the write that produced a document


class Compat8Transport(Transport):
    """Sends ``compatible-with=8`` instead of the 9.x client's ``compatible-with=9``, so an
    8.x server (which accepts versions 7 and 8 only) answers the 9.x client."""

    def perform_request(self, method: str, target: str, *, headers: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        if isinstance(headers, Mapping):
            headers = {k: v.replace("compatible-with=9", "compatible-with=8") if isinstance(v, str) else v
                       for k, v in headers.items()}
            return super().perform_request(method, target, headers=headers, **kwargs)
        return super().perform_request(method, target, **kwargs)


def build_client(settings: StoreSettings, compat_major: int | None = None) -> Elasticsearch:
    """The official client for ``settings.es_url`` with its credentials and retry policy.

    A password without a user name authenticates as ``elastic`` (the compose default).
    ``compat_major=8`` talks to an 8.x server through compatibility headers."""
    if not settings.es_url:
        raise StoreError("store.es_url is not set: cannot open the Elasticsearch store")
    options: dict[str, Any] = {
        "request_timeout": settings.es_request_timeout_s, "max_retries": MAX_RETRIES, "retry_on_timeout": True,
        "retry_on_status": (429, 502, 503, 504),
    }
    if compat_major == 8:
        options["transport_class"] = Compat8Transport
    if settings.es_api_key is not None:
        options["api_key"] = settings.es_api_key.get_secret_value()
    elif settings.es_password is not None:
        options["basic_auth"] = (settings.es_username or "elastic", settings.es_password.get_secret_value())
    if settings.es_ca_certs is not None:
        options["ca_certs"] = str(settings.es_ca_certs)
    return Elasticsearch(settings.es_url, **options)


def connect(settings: StoreSettings) -> tuple[Elasticsearch, str]:
    """A client that the server at ``settings.es_url`` accepts, and the server's version.

    The version is read with a plain ``Accept: application/json`` (every server answers it);
    9.x servers get the client as is, 8.x servers (which refuse ``compatible-with=9``) get
    ``compatible-with=8`` headers, and older or newer majors are refused by name."""
    probe = build_client(settings)
    try:
        resp = probe.transport.perform_request("GET", "/", headers={"accept": "application/json"})
    except ApiError as exc:
        probe.close()
        raise StoreError(f"Elasticsearch at {settings.es_url} refused GET /: {exc.meta.status} {exc}") from None
    except BaseException:
        probe.close()
        raise
    body = resp.body if isinstance(resp.body, dict) else {}
    if resp.meta.status >= 400 or "version" not in body:
        probe.close()
        raise StoreError(f"Elasticsearch at {settings.es_url} answered GET / with HTTP {resp.meta.status}:"
                         f" {str(body)[:200]}")
    number = str(body["version"].get("number", "0"))
    major = int(number.split(".")[0]) if number.split(".")[0].isdigit() else 0
    if major not in SUPPORTED_MAJORS:
        probe.close()
        raise StoreError(f"Elasticsearch {number} at {settings.es_url} is not supported: brandguard needs"
                         f" Elasticsearch 8.x or 9.x")
    if major == 8:
        probe.close()
        return build_client(settings, compat_major=8), number
    return probe, number


def once(es: Elasticsearch) -> Elasticsearch:
    """The client without transport retries, for calls that must not be repeated blindly."""
    return es.options(max_retries=0)


def new_write_token() -> str:
    """A unique token stored with a write, so a retried write can tell its own earlier attempt."""
    return uuid.uuid4().hex


# ------------------------------------------------------------------ time


def now_utc(now: datetime | None = None) -> datetime:
    """``now`` as aware UTC, or the current time."""
    if now is None:
        return datetime.now(timezone.utc)
    return now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of an aware (or naive-UTC) time."""
    return int(now_utc(value).timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Aware UTC time of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def iso(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, as the date fields are queried."""
    return now_utc(value).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------ cursors


def encode_cursor(kind: str, values: Sequence[Any]) -> str:
    """An opaque cursor: base64 of ``{"k": kind, "a": search_after values}``."""
    raw = json.dumps({"k": kind, "a": list(values)}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, shape: Sequence[str]) -> list[Any]:
    """The ``search_after`` values of a cursor made by ``encode_cursor(kind, ...)``, each
    of the type ``shape`` names (``core.store.common.check_cursor_parts``)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if data.get("k") != kind or not isinstance(data.get("a"), list):
            raise ValueError(f"it belongs to {data.get('k')!r}")
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise StoreError(f"invalid {kind} cursor {cursor[:40]!r}: {exc}") from None
    return check_cursor_parts(data["a"], shape, kind)


# ------------------------------------------------------------------ reads


@dataclass
class Doc:
    """One stored document with its concurrency token."""

    id: str
    source: dict[str, Any]
    seq_no: int
    primary_term: int

    @property
    def token(self) -> dict[str, int]:
        """Keyword arguments for a conditional write of this exact version."""
        return {"if_seq_no": self.seq_no, "if_primary_term": self.primary_term}


def get_doc(es: Elasticsearch, index: str, doc_id: str) -> Doc | None:
    """Realtime GET of one document (sees writes before any refresh), or None."""
    body = es.options(ignore_status=404).get(index=index, id=doc_id).body
    if not body.get("found"):
        return None
    return Doc(doc_id, body["_source"], body["_seq_no"], body["_primary_term"])


def mget_docs(es: Elasticsearch, index: str, ids: Sequence[str]) -> dict[str, Doc]:
    """Realtime multi-GET; missing ids are left out."""
    out: dict[str, Doc] = {}
    for start in range(0, len(ids), 1000):
        part = list(ids[start:start + 1000])
        if not part:
            continue
        for d in es.mget(index=index, ids=part).body.get("docs", []):
            if d.get("found"):
                out[d["_id"]] = Doc(d["_id"], d["_source"], d["_seq_no"], d["_primary_term"])
    return out


def index_if_unchanged(
    es: Elasticsearch, index: str, doc: Doc, source: dict[str, Any], refresh: str | None = None
) -> bool:
    """Write ``source`` over ``doc`` only if it is still the version read
    (``if_seq_no``/``if_primary_term``); False when someone else changed it first (409)."""
    extra = {"refresh": refresh} if refresh else {}
    try:
        es.index(index=index, id=doc.id, document=source, **doc.token, **extra)
    except EsConflictError:
        return False
    return True


def create_if_absent(
    es: Elasticsearch, index: str, doc_id: str, source: dict[str, Any], refresh: str | None = None
) -> bool:
    """Create the document only if no document has this id; False when one exists (409)."""
    extra = {"refresh": refresh} if refresh else {}
    try:
        es.index(index=index, id=doc_id, document=source, op_type="create", **extra)
    except EsConflictError:
        return False
    return True


def search_hits(es: Elasticsearch, index: str, **body: Any) -> list[dict[str, Any]]:
    """The hits of one search request."""
    return es.search(index=index, **body).body["hits"]["hits"]


def claim_by_search(
    es: Elasticsearch, index: str, query: dict[str, Any], sort: list[dict[str, Any]], limit: int,
    lease: Callable[[list[dict[str, Any]]], list[Any]],
) -> list[Any]:
    """Walk due candidates in ``sort`` order and ``lease`` them (conditional writes)
    until ``limit`` are won or the candidates run out.

    Candidates that other workers won (409) -- including ones a not-yet-refreshed
    search still shows as free -- are skipped, so an empty result means nothing
    claimable is visible, not "lost every race"."""
    won: list[Any] = []
    after: list[Any] | None = None
    page_size = max(4 * limit, 100)
    for _ in range(MAX_CLAIM_PAGES):
        page = {"search_after": after} if after else {}
        hits = es.search(index=index, size=page_size, seq_no_primary_term=True, query=query, sort=sort,
                         **page).body["hits"]["hits"]
        position = 0
        while position < len(hits):
            chunk = hits[position:position + limit - len(won)]
            position += len(chunk)
            won += lease(chunk)
            if len(won) >= limit:
                return won
        if len(hits) < page_size:
            break
        after = hits[-1]["sort"]
    return won


# ------------------------------------------------------------------ bulk


@dataclass
class BulkItem:
    """The outcome of one bulk action."""

    op: str
    id: str
    status: int
    result: str | None = None  # created, updated, deleted, noop
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def conflict(self) -> bool:
        return self.status == 409


def error_reason(error: Any) -> str:
    """``type: reason`` (and the cause's reason) of an Elasticsearch error object."""
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" (caused by {cause.get('type', 'error')}: {cause['reason']})"
        return text
    return str(error)


def run_bulk(es: Elasticsearch, actions: Iterable[dict[str, Any]], refresh: str | None = None) -> list[BulkItem]:
    """Send ``actions`` through ``streaming_bulk`` and return every item's outcome.

    Nothing is raised for a failed item and nothing is dropped: a rejected item (400
    mapping error, 409 conflict, a failed chunk) comes back with ``error`` set. If the
    connection breaks mid-way, the items not yet answered come back failed with it.
    """
    actions = list(actions)
    out: list[BulkItem] = []
    extra = {"refresh": refresh} if refresh else {}
    try:
        for ok, info in streaming_bulk(
            es, actions, chunk_size=BULK_CHUNK, raise_on_error=False, raise_on_exception=False,
            max_retries=BULK_429_RETRIES, initial_backoff=BULK_BACKOFF_S, max_backoff=5, **extra
        ):
            op, item = next(iter(info.items()))
            status = int(item.get("status") or 500) if str(item.get("status", "")).isdigit() else 503
            error = None if ok else error_reason(item.get("error", f"HTTP {status}"))
            out.append(BulkItem(op, str(item.get("_id")), status, item.get("result"), error))
    except (TransportError, ApiError) as exc:
        for action in actions[len(out):]:
            op = action.get("_op_type", "index")
            out.append(BulkItem(op, str(action.get("_id")), 503, None, f"{type(exc).__name__}: {exc}"))
    return out

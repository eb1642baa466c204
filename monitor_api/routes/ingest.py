"""``POST /v1/ingest/mentions``: mentions pushed by a user's own collector (scope ``ingest:write``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request

from monitor_api.deps import ClockDep, IngestWriter, SettingsDep, StoreDep
from monitor_api.ingest import IngestEnvelope, IngestReport, IngestRequest, ingest_mentions
from monitor_api.jsonbody import CleanJsonRoute
from monitor_api.problems import MEDIA_TYPE, PROBLEM_RESPONSES, ApiProblem, Problem
from monitor_api.ratelimit import RateLimiter
from monitor_api.security import Principal

router = APIRouter(tags=["ingest"], responses=PROBLEM_RESPONSES, route_class=CleanJsonRoute)

_REQUEST_SCHEMA = {"$ref": "#/components/schemas/IngestRequest"}


def rate_limited(request: Request, principal: IngestWriter, clock: ClockDep, settings: SettingsDep) -> Principal:
    """The caller, unless its key sent more than ``api.ingest.requests_per_minute`` (429 with Retry-After)."""
    limiter: RateLimiter | None = getattr(request.app.state, "ingest_limiter", None)
    if limiter is None:
        limiter = request.app.state.ingest_limiter = RateLimiter(settings.api.ingest.requests_per_minute)
    wait = limiter.allow(principal.key_id, clock.now())
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        raise ApiProblem(429, "Too many requests", f"this key may send {settings.api.ingest.requests_per_minute:g} ingest "
                         f"requests per minute; retry in {seconds} s", kind="rate-limited", headers={"Retry-After": str(seconds)})
    return principal


@router.post(
    "/ingest/mentions", response_model=IngestReport, summary="Push mentions from your own collector",
    responses={429: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": "Rate limit of the key reached (see Retry-After)"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _REQUEST_SCHEMA}}}},
)
async def push_mentions(
    request: Request, envelope: IngestEnvelope, store: StoreDep, settings: SettingsDep, clock: ClockDep,
    _: Annotated[Principal, Depends(rate_limited)],
) -> IngestReport:
    """Each mention is cleaned, dated, brand-matched and given its stable id exactly like a crawled
    post, then stored and queued for analysis (a known mention gets a new engagement point).

    Bad mentions are listed in ``rejected`` with their index and reasons; the others are kept.
    Limits: ``api.ingest.max_items`` mentions and ``api.ingest.max_body_bytes`` per request,
    ``api.ingest.max_text_chars`` per text, ``api.ingest.requests_per_minute`` per key.
    """
    limits = settings.api.ingest
    size = len(await request.body())  # already read (and bounded by api.max_body_bytes) to parse the envelope
    if size > limits.max_body_bytes:
        raise ApiProblem(413, "Request too large", f"the ingest body is {size} bytes; at most {limits.max_body_bytes}", kind="too-large")
    if len(envelope.mentions) > limits.max_items:
        raise ApiProblem(422, "Invalid request", f"body.mentions: {len(envelope.mentions)} mentions in one request; at most "
                         f"{limits.max_items} (split the batch)", kind="validation")
    return await _in_thread(ingest_mentions, store, settings, envelope, clock.now())


async def _in_thread(func: Any, *args: Any) -> Any:
    """The store is blocking: run the batch off the event loop."""
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(func, *args)


def document_ingest_request(app: FastAPI) -> None:
    """Put the strict per-mention schema (:class:`IngestRequest`) into the app's OpenAPI components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        doc = IngestRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(doc.pop("$defs", {}))
        # Honest about the behaviour: an item that is not an IngestMention is reported in
        # ``rejected`` (200), not refused with the whole request.
        mentions = doc["properties"]["mentions"]
        mentions["maxItems"] = app.state.settings.api.ingest.max_items  # the configured limit, not the hard one
        mentions["items"] = {"anyOf": [mentions["items"], {}], "description":
                             "An IngestMention; anything else is reported in `rejected` with its index, the rest kept"}
        components["IngestRequest"] = doc
        components.pop("IngestEnvelope", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

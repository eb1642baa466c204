"""Risk flags for the CRM: one customer's current flag and the incremental change feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from core.domain import RiskFlag, RiskLevel
from core.store.port import FeedPage
from monitor_api.deps import ClockDep, RiskReader, StoreDep
from monitor_api.problems import PROBLEM_RESPONSES, ApiProblem

router = APIRouter(tags=["risk"], responses=PROBLEM_RESPONSES)


@router.get("/customers/{crm_id}/risk", response_model=RiskFlag, summary="A customer's current risk flag")
def customer_risk(crm_id: str, store: StoreDep, clock: ClockDep, _: RiskReader) -> RiskFlag:
    """The flag with reasons and evidence mention ids; level ``none`` when nothing was flagged."""
    flag = store.get_risk_flag(crm_id)
    if flag is not None:
        return flag
    if store.get_customer(crm_id) is None:
        raise ApiProblem(404, "Not found", f"no customer with CRM id {crm_id!r}", kind="not-found")
    return RiskFlag(crm_id=crm_id, level=RiskLevel.none, score=0, updated_at=clock.now())


@router.get("/risk-flags", response_model=FeedPage, summary="Risk-flag changes since a cursor")
def risk_flag_feed(
    store: StoreDep,
    _: RiskReader,
    cursor: Annotated[str | None, Query(max_length=1000, description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FeedPage:
    """Changes in order; keep the returned ``next_cursor`` and pass it back (an empty page keeps it)."""
    return store.risk_flag_feed(cursor, limit=limit)

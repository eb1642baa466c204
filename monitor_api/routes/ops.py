"""Operations endpoints: liveness, readiness (store reachable, model loaded; brands' baseline
learning shown for information), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.baseline import baselines

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the store answers and the model is loaded",
            responses={503: {"description": "Not ready"}})
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, bool] = {}
    try:
        checks["store"] = bool(request.app.state.store.ping())
    except Exception:  # noqa: BLE001 - any failure means not ready
        checks["store"] = False
    model_ready = request.app.state.model_ready
    try:
        checks["model"] = True if model_ready is None else bool(model_ready())
    except Exception:  # noqa: BLE001
        checks["model"] = False
    ready = all(checks.values())
    body: dict = {"status": "ready" if ready else "not ready", "checks": checks}
    if checks["store"]:
        # Informational: a brand still learning its baseline does not make the API unready, but
        # spike and surging-term alerts stay quiet for it until it is "ready".
        try:
            body["baselines"] = baselines(request.app.state.store, request.app.state.settings, request.app.state.clock.now())
        except Exception:  # noqa: BLE001 - readiness must answer even when this lookup fails
            body["baselines"] = None
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

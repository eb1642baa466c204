"""The FastAPI app factory: settings, store and clock are passed in; nothing is built at import.

``create_app(settings, store)`` wires the ``/v1`` API routers, problem+json errors, the body
size limit, per-app Prometheus metrics, the operations endpoints and the dashboard.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Callable

from fastapi import FastAPI

from core.clock import Clock, SystemClock
from core.config import Settings
from core.store.port import Store
from monitor_api.dashboard.sessions import DashboardSessions
from monitor_api.deps import TouchThrottle
from monitor_api.accesslog import AccessLog
from monitor_api.headers import SecurityHeaders, docs_policy
from monitor_api.limits import BodySizeLimit
from monitor_api.metrics import AppMetrics
from monitor_api.problems import install_problem_handlers
from monitor_api.ratelimit import SearchRateLimit

API_PREFIX = "/v1"
DESCRIPTION = """Search brand mentions, work the alert inbox, manage customers, poll risk flags and push mentions
from your own collectors.

Authenticate with an API key (`Authorization: Bearer bg_<id>_<secret>` or `X-API-Key`).
Each operation names the scope it needs. Errors are `application/problem+json` (RFC 9457).
"""


def _Metrics(app: object, metrics: AppMetrics) -> object:  # noqa: N802 - used like a middleware class
    return metrics.asgi(app)


def _add_docs_page(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) with a CSP that allows its CDN assets and only its own inline script."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - docs")
        html = bytes(page.body).decode()
        return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(html)})


def create_app(settings: Settings, store: Store, *, clock: Clock | None = None,
               model_ready: Callable[[], bool] | None = None, dashboard: bool = True) -> FastAPI:
    """Build the API (and dashboard) around an open store."""
    from monitor_api.routes import admin, alerts, customers, exports, ingest, mentions, ops, risk, stats

    app = FastAPI(title="brandguard API", version="1", description=DESCRIPTION, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.store = store
    app.state.clock = clock or SystemClock()
    app.state.model_ready = model_ready
    app.state.key_touch = TouchThrottle()
    app.state.metrics = AppMetrics(store, app.state.clock)
    app.state.search_limit = SearchRateLimit(settings.api.search_rate_per_minute)
    app.state.sessions = DashboardSessions(timedelta(hours=settings.api.session_hours))

    install_problem_handlers(app)
    app.add_middleware(_Metrics, metrics=app.state.metrics)
    app.add_middleware(BodySizeLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    _add_docs_page(app)

    for module in (mentions, stats, exports, alerts, customers, risk, admin, ingest):
        app.include_router(module.router, prefix=API_PREFIX)
    ingest.document_ingest_request(app)
    app.include_router(ops.router)
    if dashboard:
        from monitor_api.dashboard import mount_dashboard

        mount_dashboard(app)
    return app

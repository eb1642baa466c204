"""The server-rendered dashboard (Jinja2, assets shipped in the package, no CDN).

``mount_dashboard(app)`` adds the sign-in, the analysts' overview (``/ui/``), alert inbox, alert,
mention search and customer pages under ``/ui`` and the static assets under ``/ui/static``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

HERE = Path(__file__).parent


def mount_dashboard(app: FastAPI) -> None:
    """Add the dashboard's pages and static files to ``app``."""
    from monitor_api.dashboard import auth, overview, pages

    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.add_exception_handler(auth.SignInRequired, auth.sign_in_redirect)  # type: ignore[arg-type]
    app.add_exception_handler(auth.ScopeMissing, auth.scope_missing_page)  # type: ignore[arg-type]
    app.include_router(auth.router)
    app.include_router(overview.router)
    app.include_router(pages.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    @app.get("/alerts/{alert_id}", include_in_schema=False)
    def alert_link(alert_id: str) -> RedirectResponse:
        # Notifications link to <alerts.dashboard_url>/alerts/<id>; the default dashboard_url has no /ui.
        return RedirectResponse(f"/ui/alerts/{quote(alert_id, safe='')}", status_code=303)

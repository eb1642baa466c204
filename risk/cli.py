"""``brandguard risk`` (the risk stage worker) and ``brandguard customers import FILE``."""

from __future__ import annotations

import os
import socket
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="YAML config file.", envvar="BRANDGUARD_CONFIG"),
]


def _parse_now(value: str | None) -> datetime:
    """``--now`` as aware UTC (a naive time is taken as UTC); the current time when not given."""
    if not value:
        return datetime.now(timezone.utc)
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def register(app: typer.Typer) -> None:
    """Add ``risk`` and ``customers import`` to the ``brandguard`` app."""
    from core.cli import fail, settings_from_cli, settings_to_start

    customers_app = typer.Typer(help="CRM customer records.", no_args_is_help=True)
    app.add_typer(customers_app, name="customers")

    @app.command("risk")
    def risk_command(
        config: ConfigOption = None,
        once: Annotated[bool, typer.Option("--once", help="Work until idle, then exit.")] = False,
        name: Annotated[Optional[str], typer.Option("--name", help="Worker name (default: host-pid).")] = None,
        lease_seconds: Annotated[float, typer.Option("--lease-seconds", min=1, help="How long claimed work stays ours.")] = 60.0,
    ) -> None:
        """Run the risk worker: identity links, threads, campaigns, scores, customer flags (restart-safe)."""
        from core.clock import SystemClock
        from core.store import open_store
        from core.worker import run_until_stopped, stop_on_signals, work_until_idle
        from risk.worker import RiskWorker

        settings = settings_to_start(config, ("risk.cli",))
        store = open_store(settings)
        worker = RiskWorker(settings, store, SystemClock(), name or f"risk-{socket.gethostname()}-{os.getpid()}",
                            lease_seconds=lease_seconds)
        try:
            if once:
                typer.echo(f"risk worker: {work_until_idle(worker, store)} item(s) handled")
                return
            stop = threading.Event()
            stop_on_signals(stop)
            run_until_stopped(worker, stop, idle_seconds=1.0)
        finally:
            store.close()

    @customers_app.command("import")
    def import_command(
        file: Annotated[Path, typer.Argument(help="CSV or JSON Lines (.csv, .jsonl) file of customers.")],
        config: ConfigOption = None,
        now: Annotated[Optional[str], typer.Option("--now", help="ISO time that relative times (-9d) count from; default: now.")] = None,
        progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    ) -> None:
        """Import CRM customers (idempotent by crm_id); reports every rejected row with its line number."""
        from tqdm import tqdm

        from core.store import open_store
        from risk.customers_import import import_customers

        if not file.is_file():
            raise fail(f"{file}: no such file")
        try:
            base = _parse_now(now)
        except ValueError:
            raise fail(f"--now {now!r}: expected an ISO 8601 time such as 2026-11-23T10:00:00+00:00") from None
        settings = settings_from_cli(config)
        store = open_store(settings)
        try:
            with tqdm(desc=f"importing {file.name}", unit=" rows", file=sys.stderr, disable=not progress) as bar:
                report = import_customers(store, file, base, progress=bar.update)
        except ValueError as exc:
            raise fail(str(exc)) from None
        finally:
            store.close()
        for error in report.rejected:
            typer.secho(f"{file}: {error}", fg=typer.colors.YELLOW, err=True)
        typer.echo(f"{file}: {report.summary()}")
        if report.accepted == 0 and report.rejected:
            raise typer.Exit(1)

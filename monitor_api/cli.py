"""``brandguard serve``, ``keys create/list/revoke``, ``run`` (every stage in one process) and
``demo`` (the demo story end to end). Heavy imports stay inside the commands."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="YAML config file.", envvar="BRANDGUARD_CONFIG"),
]


def register(app: typer.Typer) -> None:
    """Add the API, key, run and demo commands to the ``brandguard`` app."""
    from core.cli import fail, settings_from_cli, settings_to_start

    keys_app = typer.Typer(help="API keys (scoped; shown once, stored hashed).", no_args_is_help=True)
    app.add_typer(keys_app, name="keys")

    @keys_app.command("create")
    def keys_create(
        name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")],
        scopes: Annotated[list[str], typer.Option("--scopes", help="Scopes (repeat, or comma-separated).")],
        config: ConfigOption = None,
    ) -> None:
        """Create a key and print it once."""
        from core.store import open_store
        from monitor_api.security import create_api_key

        settings = settings_from_cli(config)
        wanted = [s for item in scopes for s in item.replace(",", " ").split() if s]
        store = open_store(settings)
        try:
            key, full = create_api_key(store, name, wanted)
        except ValueError as exc:
            raise fail(str(exc)) from None
        finally:
            store.close()
        typer.echo(f"created key {key.id} ({key.name}) with scopes: {', '.join(key.scopes)}")
        typer.echo(full)
        typer.echo("store it now: it is not shown again", err=True)

    @keys_app.command("list")
    def keys_list(config: ConfigOption = None) -> None:
        """List keys (never their secrets)."""
        from core.store import open_store

        store = open_store(settings_from_cli(config))
        try:
            for key in store.list_api_keys():
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                typer.echo(f"{key.id}  {key.name:<20} {state:<18} last used {used:<16} {','.join(key.scopes)}")
        finally:
            store.close()

    @keys_app.command("revoke")
    def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key id (bg_<id>_...).")], config: ConfigOption = None) -> None:
        """Revoke a key: it stops working at once."""
        from core.store import open_store

        store = open_store(settings_from_cli(config))
        try:
            if store.get_api_key(key_id) is None:
                raise fail(f"no API key with id {key_id!r}")
            store.revoke_api_key(key_id)
        finally:
            store.close()
        typer.echo(f"revoked {key_id}")

    @app.command("serve")
    def serve(
        config: ConfigOption = None,
        host: Annotated[Optional[str], typer.Option(help="Bind address (default: api.host).")] = None,
        port: Annotated[Optional[int], typer.Option(help="Port (default: api.port).")] = None,
    ) -> None:
        """Serve the API and the dashboard."""
        import uvicorn

        from core.store import open_store
        from monitor_api.app import create_app

        settings = settings_from_cli(config)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        store = open_store(settings)
        try:
            application = create_app(settings, store)
            # access_log off: uvicorn's prints full URLs (query strings hold personal data);
            # monitor_api.accesslog writes one line per request without them.
            uvicorn.run(application, host=host or settings.api.host, port=port or settings.api.port, log_level="info",
                        access_log=False)
        finally:
            store.close()

    @app.command("run")
    def run(
        config: ConfigOption = None,
        host: Annotated[Optional[str], typer.Option(help="Bind address (default: api.host).")] = None,
        port: Annotated[Optional[int], typer.Option(help="Port (default: api.port).")] = None,
        no_api: Annotated[bool, typer.Option("--no-api", help="Run the stages only.")] = False,
        log_level: Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
        log_format: Annotated[str, typer.Option("--log-format", help="text (for people) or json (one object per line, for log shippers).")] = "text",
    ) -> None:
        """Run every stage (crawl, analysis, risk, alerts, dispatcher) and the API in one process.

        Each crawl run logs one line per source (pages, posts, new, updated, errors, seconds);
        Scrapy's own start-up chatter is not logged.
        """
        from core.clock import SystemClock
        from core.logs import LOG_FORMATS, configure_logging
        from core.store import open_store
        from core.worker import stop_on_signals, wait_until_set
        from monitor_api.app import create_app
        from monitor_api.pipeline import Pipeline
        from monitor_api.server import BackgroundServer

        if log_format not in LOG_FORMATS:
            raise fail(f"--log-format: unknown format {log_format!r} (known: {', '.join(LOG_FORMATS)})")
        try:
            configure_logging(log_level, log_format)  # type: ignore[arg-type]
        except ValueError as exc:
            raise fail(f"--log-level: {exc}") from None
        settings = settings_to_start(config)  # every stage runs here: every part of the config must be valid
        store = open_store(settings)
        clock = SystemClock()
        crawl_logs = {"LOG_LEVEL": "WARNING", "BRANDGUARD_LOG_FORMAT": log_format}  # crawl children log like we do
        pipeline = Pipeline(settings, store, clock, crawl_options={"extra_scrapy_settings": crawl_logs}).build()
        if pipeline.missing:  # an alerting service that silently runs without a stage is worse than none
            pipeline.stop()
            store.close()
            raise fail("\n".join(f"stage {m} could not start" for m in pipeline.missing)
                       + "\nrefusing to start: fix the above (e.g. `brandguard nlp prepare` for the analysis model)")
        stop = threading.Event()
        stop_on_signals(stop)
        server = None
        try:
            if not no_api:
                application = create_app(settings, store, clock=clock, model_ready=pipeline.model_ready)
                server = BackgroundServer(application, host or settings.api.host, port or settings.api.port).start()
                typer.echo(f"API and dashboard: http://{host or settings.api.host}:{server.port}/ui/alerts")
            typer.echo(f"stages running: {', '.join(pipeline.workers) or 'none'}"
                       + (f"; not available: {', '.join(pipeline.missing)}" if pipeline.missing else ""))
            pipeline.start()
            wait_until_set(stop)
        finally:
            typer.echo("stopping…")
            pipeline.stop()
            if server is not None:
                server.stop()
            store.close()

    @app.command("demo")
    def demo(
        data_dir: Annotated[Path, typer.Option("--data-dir", help="Where the demo keeps its store, model and alert log.")] = Path("data/demo"),
        host: Annotated[str, typer.Option(help="Dashboard bind address.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Dashboard port (0: any free port).")] = 8080,
        step_seconds: Annotated[float, typer.Option("--step-seconds", min=0, help="Wall seconds per 15 simulated minutes.")] = 10.0,
        exit_when_done: Annotated[bool, typer.Option("--exit-when-done", help="Stop after the story and print a summary.")] = False,
        fresh: Annotated[bool, typer.Option("--fresh/--keep", help="Start from an empty demo store.")] = True,
    ) -> None:
        """Serve the demo web, run the pipeline over it on simulated time, and show the dashboard."""
        import shutil

        from core.worker import stop_on_signals
        from monitor_api.demo import Demo

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        if fresh and data_dir.exists():
            for child in ("brandguard.db", "brandguard.db-wal", "brandguard.db-shm", "alerts.jsonl", "crawl"):
                target = data_dir / child
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        runner = Demo(data_dir, host, port, step_seconds=step_seconds, echo=typer.echo)
        stop_on_signals(runner.stop_event)
        result = runner.run(exit_when_done=exit_when_done)
        if exit_when_done and result.escalation is None:
            raise typer.Exit(1)

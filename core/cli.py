"""The ``brandguard`` command line.

Core owns the entry point and the commands about configuration and storage. Each
stage package contributes its own commands through a ``register(app)`` function in its
``cli`` module, listed by dotted path in ``COMMAND_MODULES`` (core imports none of them
statically, so the arrows keep pointing inward).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from core.config import ConfigError, Settings, load_settings

COMMAND_MODULES = (
    "crawlers.cli",  # crawl
    "nlp.cli",  # analyze, nlp prepare/train/eval
    "risk.cli",  # risk, customers import
    "alerts.cli",  # alert, dispatch
    "monitor_api.cli",  # serve, keys, run, demo
)

app = typer.Typer(
    name="brandguard",
    help="Social listening and brand-sabotage early warning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Validate configuration files.", no_args_is_help=True)
store_app = typer.Typer(help="Inspect the store.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(store_app, name="store")

ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="YAML config file (default: $BRANDGUARD_CONFIG or ./brandguard.yaml if present).", envvar="BRANDGUARD_CONFIG"),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` to stderr and return an Exit to raise (no traceback for users)."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def settings_from_cli(config: Optional[Path]) -> Settings:
    """Load settings for a command, turning config errors into a clean non-zero exit."""
    if config is None and Path("brandguard.yaml").exists():
        config = Path("brandguard.yaml")
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise fail(str(exc)) from None


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example config.")] = Path("brandguard.yaml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example config."""
    if path.exists() and not force:
        raise fail(f"{path} already exists (use --force to overwrite)")
    example = Path(__file__).with_name("example_config.yaml").read_text(encoding="utf-8")
    path.write_text(example, encoding="utf-8")
    typer.echo(f"wrote {path}; check it with: brandguard config check {path}")


@config_app.command("check")
def config_check(path: Annotated[Path, typer.Argument(help="Config file to validate.")]) -> None:
    """Validate a config file; exits non-zero naming each problem's field path."""
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    problems = _check_plugin_sections(settings)
    if problems:
        raise fail("\n".join(f"{path}: {p}" for p in problems))
    typer.echo(
        f"{path}: OK — {len(settings.brands)} brand(s), {len(settings.sources)} source(s), "
        f"{len(settings.alerts.rules)} alert rule(s), store: {settings.store.resolved_backend}"
    )


def _check_plugin_sections(settings: Settings) -> list[str]:
    # Sections whose schema belongs to a stage (alert rules, source options) are checked by it.
    problems: list[str] = []
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        check = getattr(module, "check_settings", None)
        if check is not None:
            problems.extend(check(settings))
    return problems


@store_app.command("stats")
def store_stats(config: ConfigOption = None) -> None:
    """Print record counts, queue depths and each brand's baseline (learning or ready) as JSON."""
    from datetime import datetime, timezone

    from core.baseline import baselines
    from core.store import open_store

    settings = settings_from_cli(config)
    store = open_store(settings)
    try:
        stats = store.stats()
        stats["baselines"] = baselines(store, settings, datetime.now(timezone.utc))
        typer.echo(json.dumps(stats, indent=2, default=str, ensure_ascii=False))
    finally:
        store.close()


def _register_stage_commands() -> None:
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that stage is not installed in this build
            raise
        module.register(app)


def main() -> None:
    """Console-script entry point."""
    _register_stage_commands()
    app(prog_name="brandguard")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

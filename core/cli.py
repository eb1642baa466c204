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
store_app = typer.Typer(help="Inspect, migrate and check the store.", no_args_is_help=True)
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
    """Validate a config file; exits 2 naming each problem's field path, warns about gaps (exit 0)."""
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    problems = config_problems(settings)
    if problems:
        raise fail(format_problems(settings, problems))
    for warning in config_warnings(settings):
        typer.secho(f"{path}: WARNING: {warning}", fg=typer.colors.YELLOW)
    typer.echo(
        f"{path}: OK — {len(settings.brands)} brand(s), {len(settings.sources)} source(s), "
        f"{len(settings.alerts.rules)} alert rule(s), {len(settings.alerts.channels)} channel(s), "
        f"store: {settings.store.resolved_backend}"
    )


def config_problems(settings: Settings, modules: tuple[str, ...] = COMMAND_MODULES) -> list[str]:
    """Every problem the stages in ``modules`` find in the parts of the config they own.

    Sections whose schema belongs to a stage (alert rules and channels, source options, models)
    are checked by that stage's ``check_settings``.
    """
    problems: list[str] = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # that stage is not installed in this build
            raise
        check = getattr(module, "check_settings", None)
        if check is not None:
            problems.extend(check(settings))
    return problems


def config_warnings(settings: Settings) -> list[str]:
    """Valid but probably unintended: a config that can never notify anyone."""
    warnings: list[str] = []
    rules = settings.alerts.rules
    if settings.brands and not rules:
        warnings.append(f"{len(settings.brands)} brand(s) but no alert rules: nothing will ever alert "
                        "(add alerts.rules; `brandguard init` writes a recommended set)")
    if rules and not settings.alerts.channels:
        warnings.append(f"{len(rules)} alert rule(s) but no channels: alerts reach only the dashboard inbox "
                        "(add alerts.channels, e.g. {type: log})")
    for index, rule in enumerate(rules):
        if isinstance(rule, dict) and rule.get("enabled", True) and not rule.get("channels") and settings.alerts.channels:
            warnings.append(f"alerts.rules[{index}] ({rule.get('name') or rule.get('type')}): no channels: "
                            "its alerts reach only the dashboard inbox")
    return warnings


def format_problems(settings: Settings, problems: list[str]) -> str:
    """One ``<file>: <problem>`` line per problem, as ``config check`` prints them."""
    origin = settings.source_file or "(defaults and BRANDGUARD_* environment)"
    return "\n".join(f"{origin}: {p}" for p in problems)


def settings_to_start(config: Optional[Path], modules: tuple[str, ...] = COMMAND_MODULES) -> Settings:
    """Settings for a command that starts work: refuses (exit 2, every problem printed) when any
    part of the config used by ``modules`` is invalid, so nothing starts half-configured."""
    settings = settings_from_cli(config)
    problems = config_problems(settings, modules)
    if problems:
        raise fail(format_problems(settings, problems)
                   + f"\nrefusing to start: {len(problems)} problem(s) in the configuration (see `brandguard config check`)")
    return settings


@store_app.command("stats")
def store_stats(config: ConfigOption = None) -> None:
    """Print record counts, queue depths and each brand's baseline (learning or ready) as JSON."""
    from datetime import datetime, timezone

    from core.baseline import baselines
    from core.store import StoreError, open_store

    settings = settings_from_cli(config)
    try:
        store = open_store(settings)
    except StoreError as exc:
        raise fail(f"store stats: {exc}") from None
    try:
        stats = store.stats()
        stats["baselines"] = baselines(store, settings, datetime.now(timezone.utc))
        typer.echo(json.dumps(stats, indent=2, default=str, ensure_ascii=False))
    finally:
        store.close()


@store_app.command("migrate")
def store_migrate(config: ConfigOption = None) -> None:
    """Create or upgrade the store's schema (Elasticsearch: templates, indices, aliases).

    Run it once per deployment and after an upgrade, before the workers; it is idempotent
    and safe to run from two places at once. Workers only check that it was done."""
    from core.store import StoreError, migrate_store

    settings = settings_from_cli(config)
    try:
        store = migrate_store(settings)
    except StoreError as exc:
        raise fail(f"store migrate: {exc}") from None
    try:
        actions = getattr(store, "setup_actions", [])
        for action in actions:
            typer.echo(action)
        typer.echo(f"store migrate: {store.name} is up to date ({len(actions)} change(s))")
    finally:
        store.close()


@store_app.command("check")
def store_check(config: ConfigOption = None) -> None:
    """Run a short contract smoke (write, read, search, queue leases, flag feed) against the
    configured store, on throw-away indices or a temporary file, and print a verdict."""
    from core.store.check import run_store_check

    settings = settings_from_cli(config)
    steps = run_store_check(settings)
    for step in steps:
        mark = "ok  " if step.ok else "FAIL"
        typer.echo(f"{mark} {step.name:<7} {step.seconds * 1000:7.0f} ms  {step.detail}")
    failed = [s.name for s in steps if not s.ok]
    target = settings.store.es_url if settings.store.resolved_backend == "elasticsearch" else "sqlite"
    if failed or len(steps) < 6:
        raise fail(f"store check: FAIL ({', '.join(failed)}) against {target}", code=1)
    typer.echo(f"store check: PASS, {len(steps)} steps against {target}")


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

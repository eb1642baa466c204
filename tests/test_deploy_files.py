"""The deployment files (docker-compose.yml, Dockerfile, .env.example, .dockerignore).

Docker cannot run here, so these tests hold the files to what a deployment needs:
every service runs a real ``brandguard`` subcommand, has a healthcheck and waits for a
healthy Elasticsearch; the environment variables it sets are ones the settings really
read; no secret is written in the compose file; ``.env.example`` names every variable
the compose file interpolates.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from core.config import load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
# The subcommands the CLI has or will have (issue 2), and which stage package registers each.
SUBCOMMAND_OWNERS = {
    "serve": "monitor_api.cli", "run": "monitor_api.cli", "demo": "monitor_api.cli",
    "analyze": "nlp.cli", "risk": "risk.cli", "alert": "alerts.cli", "dispatch": "alerts.cli",
    "crawl": "crawlers.cli",
}
EXPECTED_SERVICES = {"elasticsearch", "es-setup", "migrate", "api", "analyze", "risk", "alerts", "dispatch", "crawler"}
ONE_SHOT = {"es-setup", "migrate"}  # run once to completion; the services wait for them
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.I)
REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(?:(?::?[-?])[^}]*)?\}$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _brandguard_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("image", "").startswith("brandguard")}


def _registered_commands(module_name: str) -> set[str] | None:
    """Commands the stage module registers, or None when that stage is not built yet."""
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None
        raise
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a callback makes typer build a group even for one command
        """brandguard"""

    module.register(app)
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_compose_has_every_service(compose) -> None:
    assert EXPECTED_SERVICES <= set(compose["services"])
    assert set(_brandguard_services(compose)) == EXPECTED_SERVICES - {"elasticsearch", "es-setup"}


def test_every_service_runs_a_real_brandguard_subcommand(compose) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["brandguard"]' in dockerfile  # so a service's command is a subcommand
    for name, svc in _brandguard_services(compose).items():
        command = svc["command"]
        assert isinstance(command, list) and command, f"{name}: command must be a list"
        sub = command[0]
        if sub == "store":  # core's own group: `brandguard store migrate|check|stats`
            from core.cli import store_app

            assert command[1] in set(typer.main.get_command(store_app).commands), name  # type: ignore[attr-defined]
            continue
        assert sub in SUBCOMMAND_OWNERS, f"{name}: {sub!r} is not a brandguard subcommand"
        registered = _registered_commands(SUBCOMMAND_OWNERS[sub])
        if registered is not None:  # the stage exists: its CLI must really have the command
            assert sub in registered, f"{name}: {SUBCOMMAND_OWNERS[sub]} does not register {sub!r}"


def test_every_service_has_a_healthcheck_and_waits_for_a_healthy_cluster(compose) -> None:
    for name, svc in compose["services"].items():
        if name in ONE_SHOT:
            assert svc["restart"] == "no", name
            continue
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name}: no healthcheck"
    for name, svc in _brandguard_services(compose).items():
        assert svc["depends_on"]["elasticsearch"]["condition"] == "service_healthy", name
        if name in ONE_SHOT:
            continue
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert "core.store.elastic.healthcheck" in " ".join(svc["healthcheck"]["test"]) or name == "api"
    assert "/healthz" in " ".join(compose["services"]["api"]["healthcheck"]["test"])
    importlib.import_module("core.store.elastic.healthcheck")  # the module the workers' check runs


def test_elasticsearch_is_single_node_with_security_on_and_a_volume(compose) -> None:
    es = compose["services"]["elasticsearch"]
    env = es["environment"]
    assert env["discovery.type"] == "single-node" and env["xpack.security.enabled"] == "true"
    assert REFERENCE.match(env["ELASTIC_PASSWORD"])
    assert any(v.endswith(":/usr/share/elasticsearch/data") for v in es["volumes"])
    assert all(str(p).startswith("127.0.0.1:") for p in es.get("ports", []))  # not on every interface
    assert "$${ELASTIC_PASSWORD}" in COMPOSE.read_text(encoding="utf-8")  # healthcheck uses the container's env


def test_service_environment_is_read_by_the_settings(compose) -> None:
    for name, svc in _brandguard_services(compose).items():
        env = {k: str(v) for k, v in svc["environment"].items()}
        assert {"BRANDGUARD_STORE__ES_URL", "BRANDGUARD_STORE__ES_PASSWORD"} <= set(env), name
        resolved = {k: re.sub(r"\$\{[^}]*\}", "s3cret-from-env", v) for k, v in env.items()}
        settings = load_settings(None, env=resolved)
        assert settings.store.resolved_backend == "elasticsearch", name
        assert settings.store.es_url == "http://elasticsearch:9200"
        assert settings.store.es_password.get_secret_value() == "s3cret-from-env"
        assert str(settings.data_dir) == "/data"
        if name == "api":
            assert settings.api.host == "0.0.0.0" and settings.api.port == 8080
        mounts = [v.rsplit(":", 2)[1] for v in svc["volumes"]]  # source may hold ${VAR:-default}
        assert env["BRANDGUARD_CONFIG"] in mounts and "/data" in mounts


def test_no_secret_literal_in_the_compose_file(compose) -> None:
    for name, svc in compose["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert REFERENCE.match(str(value)), f"{name}: {key} must come from .env, not be written here"
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"-u\s+\"?elastic:(?!\$\$\{)", text)  # no inline user:password


def test_services_use_the_least_privilege_user_made_by_es_setup(compose) -> None:
    for name, svc in _brandguard_services(compose).items():
        assert svc["environment"]["BRANDGUARD_STORE__ES_USERNAME"] == "brandguard", name
        assert "ELASTIC_PASSWORD}" not in str(svc["environment"]["BRANDGUARD_STORE__ES_PASSWORD"]), name
    setup = compose["services"]["es-setup"]
    assert setup["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert compose["services"]["migrate"]["depends_on"]["es-setup"]["condition"] == "service_completed_successfully"
    script = (ROOT / "scripts" / "es-setup.sh").read_text(encoding="utf-8")
    assert "_security/role/brandguard_app" in script and "_security/user/brandguard" in script
    assert '"superuser"' not in script and '"all"' not in script  # no broad role or privilege


def test_env_example_lists_every_variable_the_compose_file_uses() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert "ELASTIC_PASSWORD" in used
    assert used <= listed, f".env.example misses {sorted(used - listed)}"
    assert re.search(r"^ELASTIC_PASSWORD=$", example, re.M)  # the example carries no password


def test_image_pins_cpu_torch_and_keeps_secrets_out_of_the_build() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "FROM python:3.11-slim" in dockerfile
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".git", ".venv"} <= set(ignored)

"""Settings: YAML + BRANDGUARD_* overrides, and errors that name the file and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_settings

GOOD = """
data_dir: ./state
brands:
  - name: Sepehr Mobile
    query: '"sepehr mobile" OR "سپهر موبایل" OR #sepehrfail'
    handles: {mastodon: [sepehrmobile]}
  - name: Arianet
    query: arianet OR آریانت
    competitor: true
sources:
  - {name: news, kind: rss, urls: ["http://127.0.0.1:9/feed.xml"], schedule_seconds: 60}
alerts:
  channels:
    support: {type: webhook, url: "http://127.0.0.1:9/hook", secret_env: BG_HOOK_SECRET}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "brandguard.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_loads_brands_sources_and_resolves_paths_against_the_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD), env={})
    assert [b.name for b in settings.brands] == ["Sepehr Mobile", "Arianet"]
    assert settings.brands[1].competitor is True
    assert settings.sources[0].schedule_seconds == 60
    assert settings.data_dir == tmp_path / "state"
    assert settings.sqlite_path == tmp_path / "state" / "brandguard.db"
    assert settings.store.resolved_backend == "sqlite"


def test_environment_overrides_nested_fields_and_short_forms(tmp_path: Path) -> None:
    env = {
        "BRANDGUARD_ES_URL": "https://es.internal:9200",
        "BRANDGUARD_STORE__ES_INDEX_PREFIX": "acme",
        "BRANDGUARD_API__PORT": "9090",
        "BRANDGUARD_CONFIG": "ignored-not-a-setting.yaml",
    }
    settings = load_settings(write(tmp_path, GOOD), env=env)
    assert settings.store.es_url == "https://es.internal:9200"
    assert settings.store.es_index_prefix == "acme"
    assert settings.store.resolved_backend == "elasticsearch"
    assert settings.api.port == 9090


def test_errors_name_the_file_the_field_path_and_the_problem(tmp_path: Path) -> None:
    bad = GOOD.replace("schedule_seconds: 60", "schedule_seconds: -5").replace(
        "query: arianet OR آریانت", "query: '(arianet OR'"
    )
    path = write(tmp_path, bad)
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    message = str(err.value)
    assert f"{path}: brands[1].query" in message and "position" in message
    assert f"{path}: sources[0].schedule_seconds" in message and "greater than 0" in message


def test_unknown_field_and_yaml_syntax_errors_are_reported_with_location(tmp_path: Path) -> None:
    path = write(tmp_path, "api:\n  prot: 80\n")
    with pytest.raises(ConfigError, match=r"api\.prot: Extra inputs are not permitted"):
        load_settings(path, env={})
    path = write(tmp_path, "brands:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+: YAML syntax error"):
        load_settings(path, env={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.yaml", env={})


def test_duplicate_source_names_are_refused(tmp_path: Path) -> None:
    extra = '  - {name: news, kind: rss, urls: ["http://127.0.0.1:9/other.xml"]}\n'
    text = GOOD.replace("alerts:", extra + "alerts:")
    with pytest.raises(ConfigError, match=r"duplicate name 'news'"):
        load_settings(write(tmp_path, text), env={})


def test_the_shipped_example_config_is_valid() -> None:
    example = Path(__file__).parents[2] / "core" / "example_config.yaml"
    settings = load_settings(example, env={})
    assert settings.brands and settings.sources

"""Fixtures: a tmp SQLite store seeded with the demo story, the app, and keys per scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from core.clock import SimulatedClock
from core.config import Settings, StoreSettings
from core.store import open_store
from monitor_api.app import create_app
from monitor_api.security import create_api_key
from tests.monitor_api.seed import NOW, seed_story


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, store=StoreSettings(backend="sqlite", sqlite_path=tmp_path / "bg.db"),
                    api={"max_body_bytes": 20_000})


@pytest.fixture
def store(settings: Settings) -> Iterator[Any]:
    st = open_store(settings)
    yield st
    st.close()


@pytest.fixture
def story(store: Any) -> dict[str, Any]:
    return seed_story(store)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(NOW, speed=1.0)


@pytest.fixture
def app(settings: Settings, store: Any, clock: SimulatedClock) -> Any:
    return create_app(settings, store, clock=clock)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def key_for(store: Any) -> Callable[..., dict[str, str]]:
    """Headers carrying a fresh key with the given scopes."""

    def make(*scopes: str, name: str = "tester") -> dict[str, str]:
        _, full = create_api_key(store, name, scopes)
        return {"Authorization": f"Bearer {full}"}

    return make


@pytest.fixture
def admin(key_for: Callable[..., dict[str, str]]) -> dict[str, str]:
    return key_for("admin", name="ops")

"""Fixtures shared by the core tests."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.core.fake_elasticsearch import FakeElasticsearch


@pytest.fixture
def fake() -> Iterator[FakeElasticsearch]:
    """The local fake Elasticsearch cluster, default mode (a module needing another mode defines its own ``fake``)."""
    server = FakeElasticsearch()
    server.start()
    yield server
    server.stop()

"""The access log never records query strings (they carry customer ids, authors and names)."""

from __future__ import annotations

import logging
from typing import Any, Callable

import pytest
from fastapi.testclient import TestClient


def test_access_log_lines_have_no_query_string(client: TestClient, story: Any, caplog: pytest.LogCaptureFixture,
                                               key_for: Callable[..., dict[str, str]]) -> None:
    headers = key_for("mentions:read", "risk:read")
    key_id = headers["Authorization"].split("_")[1]
    with caplog.at_level(logging.INFO, logger="brandguard.access"):
        client.get("/v1/mentions", params={"customer_id": "C-1042", "author": "mastodon:mina_r", "q": '"Mina Rahimi"'},
                   headers=headers)
        client.get("/ui/mentions", params={"q": "mina.rahimi@example.com"}, follow_redirects=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "brandguard.access"]
    assert len(lines) == 2
    assert "GET /v1/mentions 200" in lines[0] and f"key={key_id}" in lines[0]
    assert "GET /ui/mentions 303" in lines[1]
    text = "\n".join(lines)
    for secret in ("C-1042", "mina", "Rahimi", "?", "bg_"):
        assert secret not in text

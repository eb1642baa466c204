"""The app as a whole: problem+json errors with field paths, the body size limit, OpenAPI
docs, health/readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from monitor_api.app import create_app
from monitor_api.problems import MEDIA_TYPE


def test_validation_errors_are_problems_with_field_paths(client: TestClient, key_for: Any) -> None:
    response = client.get("/v1/mentions", params={"limit": 0, "sort": "loudest"}, headers=key_for("mentions:read"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    problem = response.json()
    assert problem["title"] == "Invalid request" and problem["status"] == 422
    assert {e["loc"] for e in problem["errors"]} == {"query.limit", "query.sort"}


def test_a_body_field_error_names_the_index_and_field(client: TestClient, key_for: Any) -> None:
    response = client.post("/v1/silences", json={"matchers": {"rule": "spike"}, "ends_at": 1700000000},
                           headers=key_for("alerts:write"))
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == ["body.ends_at"]
    assert "RFC 3339" in response.json()["errors"][0]["msg"]


def test_a_bad_query_language_string_is_a_400_naming_the_position(client: TestClient, key_for: Any) -> None:
    response = client.get("/v1/mentions", params={"q": '"sepehr mobile" AND ('}, headers=key_for("mentions:read"))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    assert "position" in response.json()["detail"]


def test_bodies_over_the_limit_are_refused_with_413(client: TestClient, key_for: Any) -> None:
    rows = [{"crm_id": f"C-{i}", "name": "x" * 100} for i in range(300)]  # ~40 kB > the 20 kB test limit
    response = client.put("/v1/customers", json=rows, headers=key_for("customers:write"))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    assert "20000 bytes" in response.json()["detail"]


def test_a_chunked_body_over_the_limit_is_refused_while_streaming(client: TestClient, key_for: Any) -> None:
    def chunks() -> Any:
        for _ in range(30):
            yield b" " * 1000  # no Content-Length: the limit is enforced on the stream

    headers = {**key_for("customers:write"), "content-type": "application/json"}
    response = client.put("/v1/customers", content=chunks(), headers=headers)
    assert response.status_code == 413


def test_unknown_paths_are_problems_and_405_lists_every_method(client: TestClient, admin: dict[str, str]) -> None:
    missing = client.get("/v1/nothing-here", headers=admin)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(MEDIA_TYPE)
    wrong = client.patch("/v1/silences", headers=admin)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "GET, POST"


def test_openapi_documents_every_operation_and_the_key_schemes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/v1/mentions", "/v1/alerts/{alert_id}/actions", "/v1/risk-flags", "/v1/customers/{crm_id}/risk",
            "/v1/keys"} <= set(schema["paths"])
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])
    assert client.get("/docs").status_code == 200


def test_healthz_and_readyz_report_store_and_model(settings: Any, store: Any) -> None:
    loaded = {"value": False}
    app = create_app(settings, store, model_ready=lambda: loaded["value"], dashboard=False)
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"] == {"store": True, "model": False}
        loaded["value"] = True
        assert client.get("/readyz").status_code == 200


def test_metrics_report_pipeline_state_from_the_store(client: TestClient, story: Any, admin: dict[str, str]) -> None:
    client.get("/v1/alerts", headers=admin)
    text = client.get("/metrics").text
    assert "brandguard_mentions_ingested_total 9.0" in text
    assert 'brandguard_alerts{state="open"} 2.0' in text
    assert 'brandguard_deliveries{status="dead"} 1.0' in text
    assert 'brandguard_queue_depth{stage="analyze",state="ready"}' in text
    assert "brandguard_crawl_errors_total 0.0" in text
    assert 'brandguard_http_requests_total{method="GET",route="/v1/alerts",status="200"} 1.0' in text


def test_two_apps_keep_separate_metric_registries(settings: Any, store: Any) -> None:
    first, second = create_app(settings, store, dashboard=False), create_app(settings, store, dashboard=False)
    with TestClient(first) as a, TestClient(second) as b:
        a.get("/healthz")
        a.get("/healthz")
        assert 'route="/healthz",status="200"} 2.0' in a.get("/metrics").text
        assert 'route="/healthz"' not in b.get("/metrics").text

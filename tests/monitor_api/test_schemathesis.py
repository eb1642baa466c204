"""Property-based API test: schemathesis generates requests from the app's OpenAPI schema
(valid and invalid ones) and checks every response against the schema — no server errors,
documented status codes and content types, and responses that match their models."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from core.clock import SimulatedClock
from core.config import Settings, StoreSettings
from core.store import open_store
from monitor_api.app import create_app
from monitor_api.security import create_api_key
from tests.monitor_api.seed import NOW, seed_story

_DIR = Path(tempfile.mkdtemp(prefix="bg-schemathesis-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
# A high search rate: this test checks the schema, test_search_rate_limit checks the limit.
_SETTINGS = Settings(data_dir=_DIR, store=StoreSettings(backend="sqlite", sqlite_path=_DIR / "bg.db"),
                     api={"search_rate_per_minute": 100_000})
_STORE = open_store(_SETTINGS)
seed_story(_STORE)
_, _KEY = create_api_key(_STORE, "schemathesis", ["admin"])
APP = create_app(_SETTINGS, _STORE, clock=SimulatedClock(NOW), dashboard=False)

# 400 is a legitimate answer to a schema-valid request whose query-language text or cursor
# does not parse: the grammar cannot be expressed in OpenAPI, and the answer is a problem document.
CONFIG = schemathesis.Config.from_dict({
    "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "400", "401", "403", "404", "409"]}},
    "auth": {"openapi": {"HTTPBearer": {"bearer": _KEY}}},
})
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=CONFIG)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_schema(case: schemathesis.Case) -> None:
    case.call_and_validate()

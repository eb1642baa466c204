"""Container healthcheck for the workers: exit 0 when the configured Elasticsearch answers.

``python -m core.store.elastic.healthcheck`` loads the settings the service uses
(``$BRANDGUARD_CONFIG`` + ``BRANDGUARD_*`` variables) and pings the cluster with the
same credentials, without touching any index (opening the store would put templates).
A worker that cannot reach its store is reported unhealthy instead of silently idle.
"""

from __future__ import annotations

import os
import sys

from core.config import ConfigError, load_settings
from elasticsearch import ApiError, TransportError

from core.store.elastic.client import connect
from core.store.port import StoreError


def main() -> int:
    """0 healthy, 1 unreachable, 2 misconfigured (the reason goes to stderr)."""
    try:
        settings = load_settings(os.environ.get("BRANDGUARD_CONFIG") or None)
    except ConfigError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 2
    try:
        client, _ = connect(settings.store)  # answers GET / with a supported version
    except StoreError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 2
    except (ApiError, TransportError) as exc:
        print(f"unhealthy: no answer from {settings.store.es_url}: {type(exc).__name__}", file=sys.stderr)
        return 1
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

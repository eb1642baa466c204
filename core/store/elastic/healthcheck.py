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
from core.store.elastic.client import build_client
from core.store.port import StoreError


def main() -> int:
    """0 healthy, 1 unreachable, 2 misconfigured (the reason goes to stderr)."""
    try:
        settings = load_settings(os.environ.get("BRANDGUARD_CONFIG") or None)
        client = build_client(settings.store)
    except (ConfigError, StoreError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 2
    try:
        if client.ping():
            return 0
        print(f"unhealthy: no answer from {settings.store.es_url}", file=sys.stderr)
        return 1
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())

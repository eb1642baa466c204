"""One risk-flag writer process for the feed test (``python -m tests.core.es_flag_writer``).

``URL PREFIX NAME COUNT SEED``: opens the (already migrated) Elasticsearch store, writes
``COUNT`` flag changes for a small set of customers (so writers race on the same ones) and
prints every change the store accepted as a JSON line ``{"crm": ..., "seq": ...}``.
"""

from __future__ import annotations

import json
import random
import sys

from core.config import Settings, StoreSettings
from core.domain import RiskFlag, RiskLevel
from core.store import open_store

CUSTOMERS = 400  # few collisions: most changes must each reach the reader


def main(argv: list[str]) -> int:
    url, prefix, name, count, seed = argv
    settings = Settings(store=StoreSettings(es_url=url, es_index_prefix=prefix, es_request_timeout_s=0.5))
    store = open_store(settings)
    rng = random.Random(int(seed))
    try:
        for i in range(int(count)):
            flag = RiskFlag(crm_id=f"C-{rng.randrange(CUSTOMERS)}", level=rng.choice(list(RiskLevel)),
                            score=round(rng.uniform(0, 100), 1), reasons=[f"{name} change {i}"])
            stored = store.upsert_risk_flag(flag)
            if stored is not None:
                print(json.dumps({"crm": stored.crm_id, "seq": stored.seq}), flush=True)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

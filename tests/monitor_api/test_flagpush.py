"""Signed webhook push of risk-flag changes to a real local receiver: every change arrives once,
signed with the alerts signer; a receiver outage delays but never loses a change."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

from alerts.signing import SIGNATURE_HEADER, verify_signature
from core.clock import SimulatedClock
from core.config import Settings
from core.domain import RiskFlag, RiskLevel
from monitor_api.flagpush import RiskFlagPusher
from tests.monitor_api.seed import NOW

SECRET = "whsec_crm_5d1e"


class Receiver:
    """A local HTTP server recording verified pushes; ``fail_next`` answers 503s."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                ok = verify_signature(body, self.headers.get(SIGNATURE_HEADER, ""), [SECRET], now=int(NOW.timestamp()))
                if receiver.fail_next:
                    receiver.fail_next -= 1
                    self.send_response(503)
                elif not ok:
                    self.send_response(401)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/crm/risk"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_flag_changes_are_pushed_signed_once_each(tmp_path: Any, store: Any, receiver: Receiver) -> None:
    settings = Settings.model_validate({"data_dir": str(tmp_path), "alerts": {"channels": {
        "crm-risk-flags": {"type": "webhook", "url": receiver.url, "secret_env": "BG_CRM_SECRET"}}}})
    pusher = RiskFlagPusher(settings, store, SimulatedClock(NOW, speed=0), "push-1", page_size=2,
                            env={"BG_CRM_SECRET": SECRET})
    for i, crm in enumerate(["C-1042", "C-2001", "C-4001"]):
        store.upsert_risk_flag(RiskFlag(crm_id=crm, level=RiskLevel.high, score=60 + i, updated_at=NOW))
    receiver.fail_next = 1
    assert pusher.run_once() == 0  # the CRM is down: nothing is lost, the checkpoint stays
    while pusher.run_once():
        pass
    store.upsert_risk_flag(RiskFlag(crm_id="C-1042", level=RiskLevel.critical, score=88, updated_at=NOW))
    while pusher.run_once():
        pass
    pushed = [(f["crm_id"], f["level"]) for body in receiver.bodies for f in body["items"]]
    assert pushed == [("C-1042", "high"), ("C-2001", "high"), ("C-4001", "high"), ("C-1042", "critical")]
    assert [len(body["items"]) for body in receiver.bodies] == [2, 1, 1]
    seqs = [f["seq"] for body in receiver.bodies for f in body["items"]]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
    pusher.close()


def test_without_the_channel_the_pusher_stays_idle(tmp_path: Any, store: Any) -> None:
    pusher = RiskFlagPusher(Settings(data_dir=tmp_path), store, SimulatedClock(NOW), "push-2")
    store.upsert_risk_flag(RiskFlag(crm_id="C-1042", level=RiskLevel.high, score=60, updated_at=NOW))
    assert not pusher.configured and pusher.run_once() == 0

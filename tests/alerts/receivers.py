"""Real local receivers for notifier tests: an HTTP server (Slack, webhook, Telegram stand-in)
and an aiosmtpd SMTP server, both on 127.0.0.1 with ephemeral ports."""

from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from alerts.signing import DELIVERY_HEADER, SIGNATURE_HEADER, verify_signature


class HttpReceiver:
    """Records POSTs. ``fail_next(n, status, retry_after)`` answers the next n with an error.

    With ``secrets`` it acts as the signed-webhook endpoint: it checks the signature with
    ``verify_signature`` and answers 401 to a bad one. With ``telegram=True`` it answers like
    the Bot API (``{"ok": true, ...}``).
    """

    def __init__(self, *, secrets: list[str] | None = None, telegram: bool = False) -> None:
        self.secrets = secrets
        self.telegram = telegram
        self.requests: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.failures: list[tuple[int, str | None]] = []
        self.hits = 0
        self.delay = 0.0  # seconds to wait before answering (a slow receiver)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, extra, answer = receiver._handle(self.path, dict(self.headers), body)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                try:
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender was killed mid-request: that is what some tests do

        self._handler = Handler
        self._serve(("127.0.0.1", 0))

    def _serve(self, address: tuple[str, int]) -> None:
        self.server = ThreadingHTTPServer(address, self._handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def take_down(self) -> None:
        """Stop listening (senders get 'connection refused') until :meth:`bring_up`."""
        self._port = self.server.server_address[1]
        self.close()

    def bring_up(self) -> None:
        """Listen again on the same port."""
        self._serve(("127.0.0.1", self._port))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, count: int, status: int = 503, retry_after: str | None = None) -> None:
        with self._lock:
            self.failures.extend([(status, retry_after)] * count)

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.hits += 1
            if self.failures:
                status, retry_after = self.failures.pop(0)
                return status, ({"Retry-After": retry_after} if retry_after else {}), b'{"ok":false,"error":"try later"}'
        record = {"path": path, "headers": headers, "body": body, "json": json.loads(body) if body else None}
        if self.secrets is not None:
            signature = headers.get(SIGNATURE_HEADER, "")
            if not verify_signature(body, signature, self.secrets):
                with self._lock:
                    self.rejected.append(record)
                return 401, {}, b'{"error":"bad signature"}'
        with self._lock:
            self.requests.append(record)
        if self.telegram:
            return 200, {}, json.dumps({"ok": True, "result": {"message_id": len(self.requests)}}).encode()
        return 200, {}, b"ok"

    def delivery_ids(self) -> list[str]:
        """The delivery id of every accepted request (header, or body for Slack/Telegram)."""
        ids = []
        for r in self.requests:
            ids.append(r["headers"].get(DELIVERY_HEADER) or (r["json"] or {}).get("delivery_id") or "")
        return ids

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _SmtpHandler:
    def __init__(self, sink: "SmtpReceiver") -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd API
        if self.sink.failures:
            code = self.sink.failures.pop(0)
            return f"{code} try again later" if code < 500 else f"{code} mailbox unavailable"
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.sink.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpReceiver:
    """An aiosmtpd server collecting parsed messages; ``failures`` holds SMTP codes to answer first."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.failures: list[int] = []
        self.port = _free_port()
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()

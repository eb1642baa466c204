"""Serving the app with uvicorn, in the foreground or in a background thread (run/demo)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn


class BackgroundServer:
    """uvicorn in a daemon thread; ``start()`` waits until it accepts connections."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        # log_config=None: uvicorn's records go through the process's own handler (text or JSON).
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", log_config=None)
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign] - the main thread owns signals
        self._thread = threading.Thread(target=self.server.run, name="api", daemon=True)

    def start(self, timeout: float = 15.0) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start (is the port already in use?)")
            time.sleep(0.05)
        return self

    @property
    def port(self) -> int:
        sockets = [s for server in self.server.servers for s in server.sockets]
        return sockets[0].getsockname()[1] if sockets else self.server.config.port

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

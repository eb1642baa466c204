"""Server-side dashboard sessions: the browser holds a random session id, never the API key.

Signing in with an API key creates a session: 256 random bits sent once in an HttpOnly,
SameSite=Strict cookie scoped to ``/ui`` (so it never travels to ``/v1``, and ``/v1`` never
reads cookies). The server keeps only the SHA-256 of the id, the key's id and the
expiry (``api.session_hours``, enforced here, not by the browser). Every request re-checks
the key, so revoking it ends its sessions; signing out deletes the session.

Sessions live in the API process (a restart signs everyone out; run one API process, or
sticky sessions, behind a load balancer). Expiry runs on the wall clock: the demo's
simulated clock must not age sign-ins.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

MAX_SESSIONS = 10_000  # oldest sessions are dropped beyond this (bounds memory under a login flood)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    key_id: str
    created_at: datetime
    expires_at: datetime


class DashboardSessions:
    """Hashed session ids -> (key id, expiry), with server-enforced expiry and logout."""

    def __init__(self, lifetime: timedelta, now: Callable[[], datetime] | None = None) -> None:
        self.lifetime = lifetime
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, key_id: str) -> str:
        """A new session for ``key_id``; returns the id for the cookie (only its hash is kept)."""
        session_id = secrets.token_urlsafe(32)
        now = self._now()
        with self._lock:
            self._drop_expired(now)
            while len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[_hash(session_id)] = Session(key_id, now, now + self.lifetime)
        return session_id

    def key_id(self, session_id: str | None) -> str | None:
        """The key id of a live session, or None (unknown, expired or signed out)."""
        if not session_id or len(session_id) > 200:
            return None
        digest = _hash(session_id)
        with self._lock:
            session = self._sessions.get(digest)
            if session is None:
                return None
            if self._now() >= session.expires_at:
                del self._sessions[digest]
                return None
            return session.key_id

    def end(self, session_id: str | None) -> bool:
        """Sign out: the session id stops working at once. True when it existed."""
        if not session_id:
            return False
        with self._lock:
            return self._sessions.pop(_hash(session_id), None) is not None

    def stored_ids(self) -> list[str]:
        """What the server holds (hashes), for tests and audits."""
        with self._lock:
            return list(self._sessions)

    def _drop_expired(self, now: datetime) -> None:
        for digest in [d for d, s in self._sessions.items() if now >= s.expires_at]:
            del self._sessions[digest]

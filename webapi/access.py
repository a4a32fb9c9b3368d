"""Who is asking and what they may do: bearer tokens, project roles, and blind visibility.

Every ``/api`` request except ``GET /api/health`` and the OpenAPI document carries
``Authorization: Bearer <token>``; a missing, unknown or revoked token is 401. Tokens are
``sw_`` + 32 random bytes (URL-safe base64); the store keeps only their SHA-256, so a leaked
database holds no usable credential, and a fast hash is enough for a secret with 256 bits of
entropy (there is nothing to brute-force, unlike a password).

Roles in a project, each able to do what those before it can:

- ``reviewer``: read the project, screen (queue, decisions), search, themes, progress, PRISMA;
- ``resolver``: also the conflict queue and resolutions;
- ``maintainer``: also upload, settings, members, retraining, export, the audit trail, archive.

Administrators (``is_admin``, the first one made with ``screenwise user create --admin``)
create projects and reviewers and act as maintainers of every project. A project the caller is
not a member of answers 404, exactly like a project that does not exist (its existence is not
leaked); a role too low for the operation answers 403.

Wrong credentials are throttled per client address (``FailureThrottle``): past
``AUTH_FAILURES`` failures within ``AUTH_WINDOW`` seconds every request from that address
answers 429 until the oldest failure leaves the window.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from flask import current_app, g, request

from index.consensus import Viewer
from index.errors import NotFoundError, ScreenwiseError
from index.store import ROLES, Project, Reviewer

TOKEN_PREFIX = "sw_"
PUBLIC_PATHS = frozenset({"/api/health", "/api/openapi.json"})
RANK = {role: rank for rank, role in enumerate(ROLES, 1)}


class Unauthenticated(ScreenwiseError):
    """No valid bearer token: 401."""


class Forbidden(ScreenwiseError):
    """Authenticated, but the role does not allow the operation: 403."""


class Throttled(ScreenwiseError):
    """Too many failed authentications from the caller's address: 429, retry after
    ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# Failed authentications allowed per client address within the window; past them every
# request from that address answers 429 until the oldest failure leaves the window.
# ``SCREENWISE_AUTH_FAILURES`` and ``SCREENWISE_AUTH_WINDOW`` (seconds) change them.
AUTH_FAILURES = 20
AUTH_WINDOW = 60.0


class FailureThrottle:
    """Failed authentications per client address in a sliding window (in memory: a restart
    forgets them; behind a proxy every caller shares the proxy's address)."""

    MAX_ADDRESSES = 10_000

    def __init__(self, limit: int = AUTH_FAILURES, window: float = AUTH_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.get(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def check(self, address: str) -> None:
        """``Throttled`` when ``address`` has used up its failures in the window."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(address, now)
            if len(failures) >= self.limit:
                wait = max(1, math.ceil(failures[0] + self.window - now))
                raise Throttled(
                    f"too many failed authentications from this address; retry in {wait} s",
                    retry_after=wait,
                )

    def failed(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            failures = self._recent(address, now)
            failures.append(now)
            self._failures[address] = failures
            if len(self._failures) > self.MAX_ADDRESSES:
                # Forget the address whose failures are oldest.
                oldest = min(self._failures, key=lambda a: self._failures[a][-1])
                del self._failures[oldest]


_THROTTLE_CREATION = threading.Lock()


def _throttle() -> FailureThrottle:
    """The app's throttle, made on first use from its configuration."""
    with _THROTTLE_CREATION:
        throttle = current_app.extensions.get("screenwise.auth_throttle")
        if throttle is None:
            throttle = current_app.extensions["screenwise.auth_throttle"] = FailureThrottle(
                int(current_app.config.get("AUTH_FAILURES", AUTH_FAILURES)),
                float(current_app.config.get("AUTH_WINDOW", AUTH_WINDOW)),
            )
    return throttle


def bearer_reviewer() -> Reviewer | None:
    """The reviewer whose valid token the request carries, else ``None`` (no lookup counts
    as a failed authentication: public routes use this to decide what to show)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return current_app.extensions["screenwise"].store.reviewer_by_token(token_hash(token.strip()))


def new_token() -> str:
    """A fresh API token, to show once and store only as ``token_hash``."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Access:
    """The caller's standing in one project."""

    project: Project
    name: str
    role: str  # an administrator who is not a member acts as maintainer
    is_admin: bool

    @property
    def viewer(self) -> Viewer:
        """Who looks, for blind double screening: resolvers and maintainers see conflicts."""
        return Viewer(self.name, resolves=RANK[self.role] >= RANK["resolver"])

    def at_least(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


def authenticate() -> None:
    """``before_request``: the caller of every non-public ``/api`` request, into ``g.caller``."""
    if not request.path.startswith("/api/") or request.path in PUBLIC_PATHS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header.strip():
        raise Unauthenticated("this needs an API token: Authorization: Bearer <token>")
    # A wrong credential counts against the address; a missing one guesses nothing.
    throttle, address = _throttle(), request.remote_addr or "-"
    throttle.check(address)
    if scheme.lower() != "bearer" or not token.strip():
        throttle.failed(address)
        raise Unauthenticated("this needs an API token: Authorization: Bearer <token>")
    reviewer = current_app.extensions["screenwise"].store.reviewer_by_token(
        token_hash(token.strip())
    )
    if reviewer is None:
        throttle.failed(address)
        raise Unauthenticated("the API token is unknown or revoked")
    g.caller = reviewer


def caller() -> Reviewer:
    return g.caller


def require_admin(what: str) -> Reviewer:
    """The caller, when an administrator; else ``Forbidden`` naming ``what`` they tried."""
    who = caller()
    if not who.is_admin:
        raise Forbidden(f"only an administrator may {what}")
    return who


def project_access(ref: str | int, minimum: str = "reviewer") -> Access:
    """The caller's access to project ``ref``: ``NotFoundError`` (404) when they are not a
    member, ``Forbidden`` (403) when their role is below ``minimum``."""
    service = current_app.extensions["screenwise"]
    who = caller()
    project = service.project(ref)
    role = service.store.roles(who.reviewer_id).get(project.project_id)
    if role is None:
        if not who.is_admin:
            raise NotFoundError(f"no project {ref!r}")
        role = "maintainer"
    if RANK[role] < RANK[minimum]:
        raise Forbidden(
            f"this needs the {minimum} role in project {project.name!r}; {who.name} is {role}"
        )
    return Access(project, who.name, role, who.is_admin)


def visible_projects() -> list[tuple[Project, str]]:
    """The projects the caller belongs to, with their role (an administrator: all)."""
    service = current_app.extensions["screenwise"]
    who = caller()
    roles = service.store.roles(who.reviewer_id)
    return [
        (project, roles.get(project.project_id, "maintainer"))
        for project in service.store.projects()
        if who.is_admin or project.project_id in roles
    ]

"""Serving with waitress (a production WSGI server) and a one-line-per-request access log."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

log = logging.getLogger("screenwise.access")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# Query parameters whose value is a credential, by name (without case, '-' or '_').
_SECRET_NAMES = re.compile(
    r"(token|auth|authorization|key|apikey|secret|password|passwd|pwd|session|sig|signature)$"
)
# A screenwise token or a bearer credential anywhere in a value.
_SECRET_VALUES = re.compile(r"(sw_[A-Za-z0-9_\-]+|bearer\s+\S+)", re.IGNORECASE)
REDACTED = "[redacted]"


def redact_query(query: str) -> str:
    """The query string with credential-like values replaced by ``[redacted]``: a token put in
    a URL must not end up in the access log."""
    try:
        pairs = parse_qsl(query, keep_blank_values=True)
    except ValueError:
        return REDACTED
    safe = []
    for name, value in pairs:
        key = re.sub(r"[-_]", "", name.lower())
        value = REDACTED if _SECRET_NAMES.search(key) else _SECRET_VALUES.sub(REDACTED, value)
        safe.append((_SECRET_VALUES.sub(REDACTED, name), value))
    return urlencode(safe, safe="[]")


class AccessLog:
    """WSGI middleware: logs ``METHOD path status bytes duration`` once per request."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        status_holder: list[str] = []

        def _start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status_holder.append(status.split(" ", 1)[0])
            return start_response(status, headers, *args)

        body = self.app(environ, _start_response)
        try:
            size = 0
            for chunk in body:
                size += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()
            query = environ.get("QUERY_STRING")
            log.info(
                '%s "%s %s%s" %s %d %.1fms',
                environ.get("REMOTE_ADDR", "-"),
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                f"?{redact_query(query)}" if query else "",
                status_holder[0] if status_holder else "-",
                size,
                (time.perf_counter() - started) * 1000,
            )


def one_math_thread() -> None:
    """One thread for torch, FAISS and BLAS in this process.

    Waitress answers requests on several threads already; on 2 cores, math libraries that
    start threads of their own contend with them (a 10,000 x 256 matrix-vector product took
    0.3 ms on one OpenBLAS thread and 12 ms on two here).
    """
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    threadpool_limits(1)


def make_server(
    app: WSGIApp, host: str = "127.0.0.1", port: int = 5000, threads: int = 4, **options: Any
) -> Any:
    """A waitress server for ``app`` with the access log, bound but not yet running: call
    ``run()`` (``close()`` to stop). ``port=0`` takes a free port (``server.effective_port``);
    ``options`` go to ``waitress.create_server``."""
    from waitress import create_server

    return create_server(
        AccessLog(app), host=host, port=port, threads=threads, ident="screenwise", **options
    )


def serve(app: WSGIApp, host: str = "127.0.0.1", port: int = 5000, threads: int = 4) -> None:
    """Serve ``app`` with waitress until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = make_server(app, host=host, port=port, threads=threads)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()

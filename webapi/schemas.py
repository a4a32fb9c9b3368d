"""Request and response schemas: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import flask_smorest
import marshmallow as ma
from marshmallow import validate
from webargs.flaskparser import FlaskParser

from .services import SEARCH_FILTERS


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})
    version = ma.fields.String()
    home = ma.fields.String()
    embedding_model = ma.fields.String()
    projects = ma.fields.Integer()


class SearchQuerySchema(ma.Schema):
    q = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "A question in plain language"},
    )
    k = ma.fields.Integer(load_default=10, validate=validate.Range(min=1, max=1000))
    filter = ma.fields.String(load_default="all", validate=validate.OneOf(SEARCH_FILTERS))


class SearchHitSchema(ma.Schema):
    record_id = ma.fields.Integer()
    source_id = ma.fields.String(metadata={"description": "The record's id in its imported file"})
    score = ma.fields.Float(metadata={"description": "Cosine similarity to the question"})
    title = ma.fields.String()
    year = ma.fields.Integer(allow_none=True)
    decision = ma.fields.String(allow_none=True)


class _Parser(FlaskParser):
    # A request that fails validation is malformed: 400, not webargs' default 422 (which this
    # API keeps for files that parse but hold no usable records).
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with screenwise's argument parser."""

    ARGUMENTS_PARSER = _Parser()

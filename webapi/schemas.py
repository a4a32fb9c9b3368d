"""Request and response schemas: they validate requests and generate the OpenAPI document."""

from __future__ import annotations

import http
from collections.abc import Callable
from typing import Any

import flask_smorest
import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from webargs.flaskparser import FlaskParser

from index import Record
from index.store import LABELS, STAGES, STATUSES, Theme

from .services import SEARCH_FILTERS
from .writers import FORMATS

MODES = ("model", "similarity", "question", "none")


class _Parser(FlaskParser):
    # A request that fails validation is malformed: 400, not webargs' default 422 (which this
    # API keeps for files that parse but hold no usable records).
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with screenwise's argument parser."""

    ARGUMENTS_PARSER = _Parser()

    def problems(self, *statuses: int) -> Callable[[Any], Any]:
        """Document the error statuses a view answers with a problem document."""

        def decorator(view: Any) -> Any:
            for status in statuses:
                view = self.alt_response(status, response=http.HTTPStatus(status).name)(view)
            return view

        return decorator


def _text(**kwargs: Any) -> fields.String:
    return fields.String(load_default="", validate=validate.Length(max=20000), **kwargs)


# -- health and search ----------------------------------------------------------------------


class HealthSchema(ma.Schema):
    status = fields.String(metadata={"example": "ok"})
    version = fields.String()
    home = fields.String()
    embedding_model = fields.String()
    projects = fields.Integer()


class SearchQuerySchema(ma.Schema):
    q = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "A question in plain language"},
    )
    k = fields.Integer(load_default=10, validate=validate.Range(min=1, max=1000))
    filter = fields.String(load_default="all", validate=validate.OneOf(SEARCH_FILTERS))


class SearchHitSchema(ma.Schema):
    record_id = fields.Integer()
    source_id = fields.String(metadata={"description": "The record's id in its imported file"})
    score = fields.Float(metadata={"description": "Cosine similarity to the question"})
    title = fields.String()
    year = fields.Integer(allow_none=True)
    decision = fields.String(allow_none=True)


# -- projects -------------------------------------------------------------------------------


class ThemeSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = _text()

    @ma.post_load
    def _theme(self, data: dict[str, Any], **kwargs: Any) -> Theme:
        return Theme(**data)


class ProjectCreateSchema(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    question = _text(metadata={"description": "Review question / inclusion criteria"})
    themes = fields.List(
        fields.Nested(ThemeSchema),
        load_default=list,
        metadata={"description": "Themes to suggest; a plain string is a theme's name"},
    )

    @ma.pre_load
    def _theme_names(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("themes"), list):
            data = data | {
                "themes": [{"name": t} if isinstance(t, str) else t for t in data["themes"]]
            }
        return data


class ProjectSchema(ma.Schema):
    project_id = fields.Integer()
    name = fields.String()
    question = fields.String()
    mode = fields.String(metadata={"description": "single (double screening comes later)"})
    settings = fields.Dict()
    created_at = fields.String()
    themes = fields.List(fields.Nested(ThemeSchema))


# -- records and imports --------------------------------------------------------------------


class UploadQuerySchema(ma.Schema):
    ignore_labels = fields.Boolean(
        load_default=False, metadata={"description": "Set aside labels found in the files"}
    )
    actor = fields.String(load_default="", metadata={"description": "Who uploads, for the audit"})


class FilesSchema(ma.Schema):
    files = fields.List(
        Upload(),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "Export files: RIS, CSV/TSV, PubMed MEDLINE/XML, BibTeX"},
    )


class DuplicateLinkSchema(ma.Schema):
    record_id = fields.Integer()
    source_id = fields.String()
    line = fields.Integer(allow_none=True)
    duplicate_of = fields.Integer()
    reason = fields.String(metadata={"description": "doi, pmid or title"})


class LabelCountSchema(ma.Schema):
    include = fields.Integer()
    exclude = fields.Integer()


class ImportSummarySchema(ma.Schema):
    project = fields.String()
    project_id = fields.Integer()
    file_id = fields.Integer(allow_none=True)
    filename = fields.String()
    format = fields.String()
    read = fields.Integer()
    added = fields.Integer()
    duplicates = fields.Integer()
    duplicate_links = fields.List(fields.Nested(DuplicateLinkSchema))
    without_text = fields.Integer()
    without_abstract = fields.Integer()
    prior_labels = fields.Nested(LabelCountSchema)
    themes_found = fields.Integer()
    already_imported = fields.Boolean()
    embedded = fields.Integer()


class DecisionSchema(ma.Schema):
    decision_id = fields.Integer()
    record_id = fields.Integer()
    stage = fields.String()
    label = fields.String()
    reviewer = fields.String()
    origin = fields.String(metadata={"description": "prior (from an import), screen, resolution"})
    reason = fields.String()
    note = fields.String()
    created_at = fields.String()


class BibliographicSchema(ma.Schema):
    """What a reviewer reads of a record."""

    record_id = fields.Integer()
    source_id = fields.String(metadata={"description": "The record's id in its imported file"})
    title = fields.String()
    abstract = fields.String()
    authors = fields.List(fields.String())
    year = fields.Integer(allow_none=True)
    journal = fields.String()
    doi = fields.String()
    pmid = fields.String()
    url = fields.String()
    keywords = fields.List(fields.String())


class RecordSchema(BibliographicSchema):
    project_id = fields.Integer()
    file_id = fields.Integer()
    source_file = fields.String()
    source_line = fields.Integer(allow_none=True)
    ref_type = fields.String()
    notes = fields.String()
    extra = fields.Dict(keys=fields.String(), values=fields.String())
    duplicate_of = fields.Integer(allow_none=True)
    duplicate_reason = fields.String(allow_none=True)
    decision = fields.Nested(DecisionSchema, allow_none=True)
    themes = fields.List(fields.String())


class RecordQuerySchema(ma.Schema):
    status = fields.String(load_default="all", validate=validate.OneOf(STATUSES))
    theme = fields.String(metadata={"description": "Only records labelled with this theme"})
    stage = fields.String(load_default="title_abstract", validate=validate.OneOf(STAGES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class RecordPageSchema(ma.Schema):
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()
    items = fields.List(fields.Nested(RecordSchema))


# -- decisions ------------------------------------------------------------------------------


class DecisionCreateSchema(ma.Schema):
    label = fields.String(
        required=True,
        validate=validate.OneOf(LABELS),
        metadata={
            "description": "undecided retracts: the record has no current decision at this "
            "stage (back in the queue) and, unless themes are given, no theme labels"
        },
    )
    reviewer = fields.String(required=True, validate=validate.Length(min=1, max=200))
    stage = fields.String(load_default="title_abstract", validate=validate.OneOf(STAGES))
    origin = fields.String(load_default="screen", validate=validate.OneOf(("screen", "resolution")))
    reason = _text(metadata={"description": "Exclusion reason"})
    note = _text()
    themes = fields.List(
        fields.String(),
        allow_none=True,
        load_default=None,
        metadata={"description": "The record's themes; left out, they stay as they are"},
    )
    supersedes = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The decision id the reviewer saw as current (null: none, or "
            "retracted); when another decision came since, 409. Left out, no check."
        },
    )


class DecisionsQuerySchema(ma.Schema):
    reviewer = fields.String()


# -- queue, models, training ----------------------------------------------------------------


class ThemeScoreSchema(ma.Schema):
    theme = fields.String()
    score = fields.Float()
    suggested = fields.Boolean()


class NeighbourSchema(ma.Schema):
    record_id = fields.Integer()
    title = fields.String()
    similarity = fields.Float(metadata={"description": "Cosine similarity"})


class ModelMetaSchema(ma.Schema):
    suite = fields.String()
    relevance_model = fields.String(allow_none=True)
    theme_model = fields.String(allow_none=True)
    theme_mode = fields.String(allow_none=True)
    labels = fields.Nested(LabelCountSchema)
    theme_labelled = fields.Integer()
    trained_at = fields.String()
    state = fields.List(
        fields.Integer(),
        metadata={"description": "Records, last record, last decision, last theme label"},
    )
    mode = fields.String(validate=validate.OneOf(MODES))


class SavedModelSchema(ModelMetaSchema):
    written_at = fields.String()
    sha256 = fields.String()
    libraries = fields.Dict(keys=fields.String(), values=fields.String())


class QueueQuerySchema(ma.Schema):
    n = fields.Integer(load_default=10, validate=validate.Range(min=1, max=500))
    k = fields.Integer(
        load_default=3,
        validate=validate.Range(min=0, max=20),
        metadata={"description": "Nearest included records to show per item"},
    )


class QueueItemSchema(BibliographicSchema):
    rank = fields.Integer()
    score = fields.Float(
        allow_none=True,
        metadata={
            "description": "Higher ranks first: the model's class-balanced probability of "
            "include, or a cosine similarity (see mode); null for records without text"
        },
    )
    mode = fields.String(
        validate=validate.OneOf(MODES),
        metadata={
            "description": "What produced the score: the relevance model, similarity to the "
            "included records (includes but no excludes yet), similarity to the question, or "
            "none (record order)"
        },
    )
    themes = fields.List(fields.Nested(ThemeScoreSchema))
    nearest_includes = fields.List(fields.Nested(NeighbourSchema))


class QueueSchema(ma.Schema):
    project_id = fields.Integer()
    mode = fields.String(validate=validate.OneOf(MODES))
    unscreened = fields.Integer()
    model = fields.Nested(ModelMetaSchema)
    items = fields.List(fields.Nested(QueueItemSchema))


class TrainRequestSchema(ma.Schema):
    requested_by = fields.String(load_default="")


class TrainingJobSchema(ma.Schema):
    job_id = fields.String()
    project_id = fields.Integer()
    background = fields.Boolean()
    requested_by = fields.String()
    status = fields.String(validate=validate.OneOf(("running", "done", "failed")))
    started_at = fields.String()
    finished_at = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    model = fields.Nested(ModelMetaSchema, allow_none=True)


class ModelInfoSchema(ma.Schema):
    project_id = fields.Integer()
    mode = fields.String(validate=validate.OneOf(MODES))
    embedding_model = fields.String()
    dimension = fields.Integer()
    current = fields.Nested(ModelMetaSchema, metadata={"description": "What ranks the queue now"})
    saved = fields.Nested(
        SavedModelSchema, allow_none=True, metadata={"description": "The last retrain's models"}
    )
    training = fields.Nested(TrainingJobSchema, allow_none=True)


# -- themes ---------------------------------------------------------------------------------


class RecordIdsSchema(ma.Schema):
    record_ids = fields.List(
        fields.Integer(), required=True, validate=validate.Length(min=1, max=500)
    )


class RecordThemesSchema(ma.Schema):
    record_id = fields.Integer()
    title = fields.String()
    labelled = fields.List(
        fields.String(), allow_none=True, metadata={"description": "Themes a reviewer gave"}
    )
    themes = fields.List(fields.Nested(ThemeScoreSchema))


class CandidateInSchema(ma.Schema):
    title = _text()
    abstract = _text()
    authors = fields.List(fields.String(), load_default=list)
    year = fields.Integer(allow_none=True, load_default=None)
    journal = _text()
    doi = _text()
    pmid = _text()

    @ma.post_load
    def _record(self, data: dict[str, Any], **kwargs: Any) -> Record:
        return Record(**data)


class CandidatesSchema(ma.Schema):
    records = fields.List(
        fields.Nested(CandidateInSchema), required=True, validate=validate.Length(min=1, max=1000)
    )


class DuplicateOfSchema(ma.Schema):
    record_id = fields.Integer()
    reason = fields.String()
    decision = fields.Nested(DecisionSchema, allow_none=True)


class CandidateSchema(ma.Schema):
    position = fields.Integer(metadata={"description": "Index in the posted list or file"})
    title = fields.String()
    year = fields.Integer(allow_none=True)
    doi = fields.String()
    pmid = fields.String()
    score = fields.Float(
        allow_none=True,
        metadata={
            "description": "The model's calibrated probability of include, or a cosine "
            "similarity (see mode); null for a record without text"
        },
    )
    mode = fields.String(validate=validate.OneOf(MODES))
    themes = fields.List(fields.Nested(ThemeScoreSchema))
    nearest_includes = fields.List(fields.Nested(NeighbourSchema))
    duplicate_of = fields.Nested(
        DuplicateOfSchema,
        allow_none=True,
        metadata={"description": "The project's record this one duplicates, with its decision"},
    )


# -- progress and export --------------------------------------------------------------------


class SourceSchema(ma.Schema):
    filename = fields.String()
    format = fields.String()
    read = fields.Integer()
    added = fields.Integer()
    duplicates = fields.Integer()


class ThemeCountSchema(ma.Schema):
    theme = fields.String()
    labelled = fields.Integer()
    included = fields.Integer()


class CurvePointSchema(ma.Schema):
    screened = fields.Integer()
    included = fields.Integer()


class EstimateSchema(ma.Schema):
    method = fields.String(allow_none=True)
    expected = fields.Float(allow_none=True)
    low = fields.Float(allow_none=True)
    high = fields.Float(allow_none=True)
    unscreened = fields.Integer()
    not_scored = fields.Integer(metadata={"description": "Unscreened records without text"})
    estimated_recall = fields.Float(allow_none=True)


class ProgressSchema(ma.Schema):
    project = fields.String()
    project_id = fields.Integer()
    identified = fields.Integer(metadata={"description": "Records read from all files"})
    duplicates = fields.Integer()
    records = fields.Integer(metadata={"description": "Records after removing duplicates"})
    without_text = fields.Integer()
    screened = fields.Integer()
    unscreened = fields.Integer()
    included = fields.Integer()
    excluded = fields.Integer()
    maybe = fields.Integer()
    excluded_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    sources = fields.List(fields.Nested(SourceSchema))
    themes = fields.List(fields.Nested(ThemeCountSchema))
    recall_curve = fields.List(fields.Nested(CurvePointSchema))
    estimate = fields.Nested(EstimateSchema)


class ExportQuerySchema(ma.Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(FORMATS))

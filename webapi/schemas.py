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
from index.limits import MAX_SEARCHES, MAX_TEXT, checked_protocol
from index.store import LABELS, ROLES, STAGES, STATUSES, Theme
from index.store import MODES as SCREENING_MODES
from index.study_types import STUDY_TYPES

from .services import SEARCH_FILTERS
from .writers import FORMATS

MODES = ("model", "similarity", "question", "none")
LIMIT_STATUSES = ("within", "outside", "unknown")
# What a file system takes as one file name.
MAX_FILENAME_BYTES = 255


class _Parser(FlaskParser):
    # A request that fails validation is malformed: 400, not webargs' default 422 (which this
    # API keeps for files that parse but hold no usable records).
    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with screenwise's argument parser. Its operations need a
    bearer token (401 documented on each) unless the blueprint is ``public``."""

    ARGUMENTS_PARSER = _Parser()

    def __init__(self, *args: Any, public: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.public = public
        self._prepare_doc_cbks.append(self._prepare_auth_doc)

    def add_url_rule(self, rule: str, *args: Any, **kwargs: Any) -> None:
        # Ids are SQLite integers: a larger one in a path names nothing (404), and the
        # document says so with its ``maximum``.
        super().add_url_rule(rule.replace("<int:", f"<int(max={MAX_ID}):"), *args, **kwargs)

    def _prepare_auth_doc(self, doc: dict[str, Any], doc_info: Any, **kwargs: Any) -> dict:
        if self.public:
            doc["security"] = []
        else:
            responses = doc.setdefault("responses", {})
            responses["401"] = "UNAUTHORIZED"
            # Too many failed authentications from the caller's address (webapi/access.py).
            responses["429"] = "TOO_MANY_REQUESTS"
        return doc

    def problems(self, *statuses: int) -> Callable[[Any], Any]:
        """Document the error statuses a view answers with a problem document."""

        def decorator(view: Any) -> Any:
            for status in statuses:
                view = self.alt_response(status, response=http.HTTPStatus(status).name)(view)
            return view

        return decorator


# The largest id SQLite stores (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def _id(**kwargs: Any) -> fields.Integer:
    """An id field: a whole number SQLite can hold."""
    return fields.Integer(validate=validate.Range(min=0, max=MAX_ID), **kwargs)


def _name(**kwargs: Any) -> fields.String:
    """A name (reviewer, project, theme) as the store accepts it: 1 to 200 characters, not
    blank, no control characters (SQLite's length() stops at a NUL; a line break in a name
    breaks logs and exports)."""
    return fields.String(
        validate=[
            validate.Length(min=1, max=200),
            validate.Regexp(
                r"^(?=.*\S)[^\x00-\x1f\x7f]+$",
                error="a name needs a visible character and no control characters",
            ),
        ],
        metadata={"pattern": r"^(?=.*\S)[^\x00-\x1f\x7f]+$"},
        **kwargs,
    )


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
    limits = fields.String(
        validate=validate.OneOf(LIMIT_STATUSES),
        metadata={"description": "Only records within, outside or unknown to the search limits"},
    )
    study_type = fields.String(validate=validate.OneOf(STUDY_TYPES))


class SearchHitSchema(ma.Schema):
    record_id = fields.Integer()
    source_id = fields.String(metadata={"description": "The record's id in its imported file"})
    score = fields.Float(metadata={"description": "Cosine similarity to the question"})
    title = fields.String()
    year = fields.Integer(allow_none=True)
    decision = fields.String(allow_none=True)
    study_type = fields.String(allow_none=True)


# -- projects -------------------------------------------------------------------------------


class ThemeSchema(ma.Schema):
    name = _name(required=True)
    description = _text()

    @ma.post_load
    def _theme(self, data: dict[str, Any], **kwargs: Any) -> Theme:
        return Theme(**data)


def _exclusion_reasons(**kwargs: Any) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(STAGES)),
        values=fields.List(fields.String(validate=validate.Length(min=1, max=200))),
        metadata={
            "description": "Exclusion reasons per stage (title_abstract, full_text), e.g. "
            "wrong population; an exclusion must then give one (at full text it must give "
            "one). Without a list, any text."
        },
        **kwargs,
    )


class StoppingSettingsSchema(ma.Schema):
    recall_target = fields.Float(
        load_default=0.95,
        validate=validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False),
        metadata={"description": "The recall the stopping test guarantees (default 0.95)"},
    )
    level = fields.Float(
        load_default=0.95,
        validate=validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False),
        metadata={"description": "The confidence it guarantees it with (default 0.95)"},
    )


def _stopping(**kwargs: Any) -> fields.Nested:
    return fields.Nested(
        StoppingSettingsSchema,
        metadata={"description": "The stopping test's recall target and confidence"},
        **kwargs,
    )


class ProjectCreateSchema(ma.Schema):
    name = _name(required=True)
    question = _text(metadata={"description": "Review question / inclusion criteria"})
    themes = fields.List(
        fields.Nested(ThemeSchema),
        load_default=list,
        metadata={"description": "Themes to suggest; a plain string is a theme's name"},
    )
    mode = fields.String(
        load_default="single",
        validate=validate.OneOf(SCREENING_MODES),
        metadata={"description": "single screening, or blind double screening"},
    )
    exclusion_reasons = _exclusion_reasons(load_default=None)
    stopping = _stopping(load_default=None)
    protocol = fields.Nested("ProtocolSchema", load_default=None, allow_none=True)

    @ma.pre_load
    def _theme_names(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("themes"), list):
            data = data | {
                "themes": [{"name": t} if isinstance(t, str) else t for t in data["themes"]]
            }
        return data


class ThemeUpdateSchema(ma.Schema):
    theme = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The theme's current name"},
    )
    name = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A new name; the theme's labels keep to it"},
    )
    description = fields.String(
        validate=validate.Length(max=20000),
        metadata={"description": "A new description (what the theme covers)"},
    )


class ProjectUpdateSchema(ma.Schema):
    question = fields.String(validate=validate.Length(max=20000))
    mode = fields.String(validate=validate.OneOf(SCREENING_MODES))
    exclusion_reasons = _exclusion_reasons()
    stopping = _stopping()
    protocol = fields.Nested("ProtocolSchema", allow_none=True)


class SettingsSchema(ma.Schema):
    exclusion_reasons = _exclusion_reasons()
    stopping = _stopping()
    protocol = fields.Nested("ProtocolSchema")


class ProjectSchema(ma.Schema):
    project_id = fields.Integer()
    name = fields.String()
    question = fields.String()
    mode = fields.String(
        validate=validate.OneOf(SCREENING_MODES),
        metadata={
            "description": "single screening, or double: blind double screening, each record "
            "needs two reviewers' agreeing decisions or a resolution"
        },
    )
    settings = fields.Nested(SettingsSchema)
    created_at = fields.String()
    themes = fields.List(fields.Nested(ThemeSchema))
    role = fields.String(
        validate=validate.OneOf(ROLES), metadata={"description": "The caller's role in it"}
    )


# -- records and imports --------------------------------------------------------------------


class UploadQuerySchema(ma.Schema):
    ignore_labels = fields.Boolean(
        load_default=False, metadata={"description": "Set aside labels found in the files"}
    )
    actor = fields.String(
        load_default="",
        metadata={"description": "Ignored: the audit names the authenticated caller"},
    )


class FilesSchema(ma.Schema):
    files = fields.List(
        Upload(),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "Export files: RIS, CSV/TSV, PubMed MEDLINE/XML, BibTeX"},
    )

    @ma.validates("files")
    def _file_names(self, files: list[Any], **kwargs: Any) -> None:
        for upload in files:
            if len((upload.filename or "").encode("utf-8")) > MAX_FILENAME_BYTES:
                raise ma.ValidationError(
                    f"file name {upload.filename[:60]!r}... is longer than "
                    f"{MAX_FILENAME_BYTES} bytes"
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
    maybe = fields.Integer(metadata={"description": "Only where a file had 'maybe' decisions"})


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
    outside_limits = fields.Integer(
        metadata={"description": "New records outside the project's search limits"}
    )
    unknown_limits = fields.Integer(
        metadata={"description": "New records whose year or language a limit needs is unknown"}
    )


class JobSchema(ma.Schema):
    """A long-running job (an import, embedding, retraining) and how far it is."""

    job_id = fields.String()
    project_id = fields.Integer(allow_none=True)
    kind = fields.String(validate=validate.OneOf(("import", "embed", "train", "candidates")))
    state = fields.String(
        validate=validate.OneOf(("queued", "running", "done", "failed", "cancelled"))
    )
    phase = fields.String(
        metadata={"description": "queued, read, store, embed, index, train, done, failed..."}
    )
    done = fields.Integer(metadata={"description": "Units done in this phase (files, records)"})
    total = fields.Integer(metadata={"description": "Units in this phase (0: unknown)"})
    records_per_second = fields.Float(allow_none=True)
    error = fields.String(
        allow_none=True,
        metadata={"description": "Why it failed; or a note (e.g. resumed after its worker died)"},
    )
    files = fields.List(fields.String(), metadata={"description": "An import's file names"})
    result = fields.Raw(
        allow_none=True,
        metadata={"description": "When done: an import's per-file summaries (files, embedded)"},
    )
    requested_by = fields.String()
    attempts = fields.Integer()
    cancel_requested = fields.Boolean()
    created_at = fields.String()
    updated_at = fields.String()
    finished_at = fields.String(allow_none=True)


class JobListQuerySchema(ma.Schema):
    active = fields.Boolean(load_default=False, metadata={"description": "Queued and running"})


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
    study_type = fields.String(allow_none=True, validate=validate.OneOf(STUDY_TYPES))
    study_type_source = fields.String(
        allow_none=True,
        metadata={"description": "metadata (the export's own), model (the text) or reviewer"},
    )


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
    search_limits = fields.Nested("LimitVerdictSchema")


class StageQuerySchema(ma.Schema):
    stage = fields.String(load_default="title_abstract", validate=validate.OneOf(STAGES))


class RecordQuerySchema(ma.Schema):
    status = fields.String(load_default="all", validate=validate.OneOf(STATUSES))
    theme = fields.String(metadata={"description": "Only records labelled with this theme"})
    study_type = fields.String(validate=validate.OneOf(STUDY_TYPES))
    stage = fields.String(load_default="title_abstract", validate=validate.OneOf(STAGES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_ID))
    limits = fields.String(
        validate=validate.OneOf(LIMIT_STATUSES),
        metadata={"description": "Only records within, outside or unknown to the search limits"},
    )


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
    reviewer = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "The caller's own reviewer name (403 otherwise)"},
    )
    stage = fields.String(load_default="title_abstract", validate=validate.OneOf(STAGES))
    origin = fields.String(
        load_default="screen",
        validate=validate.OneOf(("screen", "resolution")),
        metadata={
            "description": "resolution: a resolver settles a conflict (or changes a final"
            " decision); include or exclude only"
        },
    )
    reason = _text(metadata={"description": "Exclusion reason"})
    note = _text()
    themes = fields.List(
        fields.String(),
        allow_none=True,
        load_default=None,
        metadata={"description": "The record's themes; left out, they stay as they are"},
    )
    supersedes = _id(
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
    discovered = fields.Boolean(
        metadata={"description": "Suggested by an accepted discovered theme (branch discover)"}
    )


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
    relevance_setting = fields.String(
        allow_none=True, metadata={"description": "The relevance model's named setting"}
    )
    embedding_model = fields.String(metadata={"description": "The model behind the vectors"})
    dimension = fields.Integer()
    training_seconds = fields.Float(metadata={"description": "Wall time of the fit"})
    relevance_seconds = fields.Float(metadata={"description": "Of which the relevance model"})
    metrics = fields.Dict(
        keys=fields.String(),
        values=fields.Float(),
        metadata={"description": "Figures of the fit, e.g. training_auc (optimistic)"},
    )
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
    stage = fields.String(load_default="title_abstract", validate=validate.OneOf(STAGES))


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
    search_limits = fields.Nested("LimitVerdictSchema")


class RankingStateSchema(ma.Schema):
    decision_id = fields.Integer(
        metadata={"description": "The newest decision the order reflects (0: none yet)"}
    )
    latest_decision_id = fields.Integer(
        metadata={"description": "The project's newest decision when this answer was made"}
    )
    current = fields.Boolean(
        metadata={
            "description": "Whether the order reflects everything decided so far; when not, a "
            "refit is running in the background and decided records are left out anyway"
        }
    )
    refitting = fields.Boolean(metadata={"description": "A background refit is running"})


class QueueSchema(ma.Schema):
    project_id = fields.Integer()
    stage = fields.String(validate=validate.OneOf(STAGES))
    mode = fields.String(validate=validate.OneOf(MODES))
    unscreened = fields.Integer()
    embedding_pending = fields.Integer(
        metadata={"description": "Records still waiting for their vector (not queued yet)"}
    )
    model = fields.Nested(ModelMetaSchema)
    ranking = fields.Nested(RankingStateSchema)
    items = fields.List(fields.Nested(QueueItemSchema))


class TrainRequestSchema(ma.Schema):
    requested_by = fields.String(
        load_default="",
        metadata={"description": "Ignored: the job names the authenticated caller"},
    )


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
    record_ids = fields.List(_id(), required=True, validate=validate.Length(min=1, max=500))


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
    language = _text(metadata={"description": "Its language(s): names or ISO 639 codes"})

    @ma.post_load
    def _record(self, data: dict[str, Any], **kwargs: Any) -> Record:
        language = data.pop("language", "")
        return Record(**data, extra={"language": language} if language else {})


class CandidatesSchema(ma.Schema):
    records = fields.List(
        fields.Nested(CandidateInSchema), required=True, validate=validate.Length(min=1, max=1000)
    )

    @ma.validates_schema(skip_on_field_errors=True)
    def _some_text(self, data: dict[str, Any], **kwargs: Any) -> None:
        # Nothing to embed or rank otherwise.
        if not any(record.has_text for record in data["records"]):
            raise ma.ValidationError(
                "at least one record needs a title or an abstract", field_name="records"
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
            "description": "Higher first: the queue's ranking score under the project's model "
            "(its parts scaled over the hits), or a cosine similarity before there is a model (see "
            "mode); null for a record without text"
        },
    )
    probability = fields.Float(
        allow_none=True,
        metadata={"description": "The model's calibrated probability of include (null before)"},
    )
    mode = fields.String(validate=validate.OneOf(MODES))
    themes = fields.List(fields.Nested(ThemeScoreSchema))
    nearest_includes = fields.List(fields.Nested(NeighbourSchema))
    duplicate_of = fields.Nested(
        DuplicateOfSchema,
        allow_none=True,
        metadata={"description": "The project's record this one duplicates, with its decision"},
    )
    search_limits = fields.Nested(
        "LimitVerdictSchema",
        metadata={"description": "Outside the limits: not ranked (score null), listed last"},
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
    method = fields.String(
        allow_none=True, metadata={"description": "How the estimate was made (see the README)"}
    )
    expected = fields.Float(
        allow_none=True, metadata={"description": "Relevant records expected among the unscreened"}
    )
    low = fields.Float(allow_none=True, metadata={"description": "Lower end of the interval"})
    high = fields.Float(allow_none=True, metadata={"description": "Upper end of the interval"})
    level = fields.Float(
        allow_none=True, metadata={"description": "Probability the interval is meant to cover"}
    )
    unscreened = fields.Integer()
    not_scored = fields.Integer(metadata={"description": "Unscreened records without text"})
    estimated_recall = fields.Float(allow_none=True)
    decisions = fields.Integer(
        metadata={"description": "Include/exclude decisions the estimate reads (final ones)"}
    )
    since_include = fields.Integer(
        metadata={"description": "Decisions made after the last include"}
    )
    enough_evidence = fields.Boolean(
        metadata={
            "description": "Whether the estimate is worth reading yet: at least 100 decisions "
            "and the last 20 of them without an include (until then the figure moves with every "
            "include found)"
        }
    )
    decisions_needed = fields.Integer(
        metadata={"description": "About how many more decisions until enough_evidence (0 then)"}
    )


class StoppingSchema(ma.Schema):
    method = fields.String(metadata={"description": "The stopping test (see the README)"})
    may_stop = fields.Boolean(
        metadata={
            "description": "Recall >= recall_target with confidence >= level: screening may stop"
        }
    )
    p_value = fields.Float(metadata={"description": "p-value of H0 'recall < recall_target'"})
    confidence = fields.Float(metadata={"description": "1 - p_value"})
    recall_target = fields.Float()
    level = fields.Float(metadata={"description": "Confidence level the test asks for"})
    found = fields.Integer(metadata={"description": "Includes among the decisions tested"})
    screened = fields.Integer(metadata={"description": "Include/exclude decisions tested"})
    unscreened = fields.Integer()
    more_to_screen = fields.Integer(
        allow_none=True,
        metadata={
            "description": "When not yet: the fewest further records that, all excluded, would "
            "let the test pass (0 when it passes; null before the first include)"
        },
    )


class MineSchema(ma.Schema):
    screened = fields.Integer()
    included = fields.Integer()
    excluded = fields.Integer()
    maybe = fields.Integer()


class AgreementSchema(ma.Schema):
    pairs = fields.Integer(metadata={"description": "Records with two independent decisions"})
    agreed = fields.Integer()
    percent_agreement = fields.Float(allow_none=True)
    kappa = fields.Float(allow_none=True, metadata={"description": "Cohen's kappa"})


_STAGE_FIELDS: dict[str, Any] = {
    "screened": fields.Integer(metadata={"description": "Records with a final decision"}),
    "unscreened": fields.Integer(),
    "included": fields.Integer(),
    "excluded": fields.Integer(),
    "maybe": fields.Integer(),
    "excluded_by_reason": fields.Dict(keys=fields.String(), values=fields.Integer()),
    "conflicts": fields.Integer(metadata={"description": "Two decisions that disagree"}),
    "awaiting_second": fields.Integer(metadata={"description": "One decision of two so far"}),
    "mine": fields.Nested(
        MineSchema, allow_none=True, metadata={"description": "The caller's own decisions"}
    ),
    "agreement": fields.Nested(AgreementSchema),
}


class StageCountsSchema(ma.Schema.from_dict(_STAGE_FIELDS)):  # type: ignore[misc]
    eligible = fields.Integer(metadata={"description": "Records to screen at this stage"})


class StagesSchema(ma.Schema):
    title_abstract = fields.Nested(StageCountsSchema)
    full_text = fields.Nested(StageCountsSchema)


class ProgressSchema(ma.Schema.from_dict(_STAGE_FIELDS)):  # type: ignore[misc]
    """Title/abstract counts at the top level; both stages under ``stages``."""

    project = fields.String()
    project_id = fields.Integer()
    mode = fields.String(validate=validate.OneOf(SCREENING_MODES))
    stages = fields.Nested(StagesSchema)
    identified = fields.Integer(metadata={"description": "Records read from all files"})
    duplicates = fields.Integer()
    records = fields.Integer(metadata={"description": "Records after removing duplicates"})
    removed_outside_limits = fields.Integer(
        metadata={"description": "Excluded before screening as outside the search limits"}
    )
    without_text = fields.Integer()
    sources = fields.List(fields.Nested(SourceSchema))
    themes = fields.List(fields.Nested(ThemeCountSchema))
    recall_curve = fields.List(fields.Nested(CurvePointSchema))
    estimate = fields.Nested(EstimateSchema)
    stopping = fields.Nested(StoppingSchema)


class ExportQuerySchema(ma.Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(FORMATS))
    study_type = fields.String(validate=validate.OneOf(STUDY_TYPES))


class PrismaQuerySchema(ma.Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "svg", "png")))


class PrismaSourceSchema(ma.Schema):
    filename = fields.String()
    records = fields.Integer()


class PrismaSchema(ma.Schema):
    identified = fields.Integer()
    sources = fields.List(fields.Nested(PrismaSourceSchema))
    duplicates_removed = fields.Integer()
    automation_removed = fields.Integer(
        metadata={"description": "Records marked as ineligible by automation tools"}
    )
    other_removed = fields.Integer(
        metadata={"description": "Records removed before screening for other reasons"}
    )
    other_removed_reasons = fields.Dict(keys=fields.String(), values=fields.Integer())
    screened = fields.Integer()
    screening_excluded = fields.Integer()
    awaiting_screening = fields.Integer()
    screening_maybe = fields.Integer(
        metadata={"description": "Screened records marked maybe (counted in screened)"}
    )
    sought_for_retrieval = fields.Integer()
    not_retrieved = fields.Integer()
    assessed = fields.Integer()
    fulltext_excluded = fields.Dict(keys=fields.String(), values=fields.Integer())
    awaiting_full_text = fields.Integer()
    included = fields.Integer()


# -- team: conflicts, audit, reviewers, tokens, members --------------------------------------


class ConflictSchema(ma.Schema):
    record_id = fields.Integer()
    stage = fields.String(validate=validate.OneOf(STAGES))
    record = fields.Nested(BibliographicSchema)
    decisions = fields.List(
        fields.Nested(DecisionSchema),
        metadata={"description": "The two reviewers' current decisions, first decider first"},
    )


class AuditQuerySchema(ma.Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class AuditEventSchema(ma.Schema):
    event_id = fields.Integer()
    project_id = fields.Integer(allow_none=True)
    actor = fields.String(metadata={"description": "A reviewer, cli:<os user>, import:<file>"})
    action = fields.String()
    detail = fields.Dict(metadata={"description": "What changed"})
    created_at = fields.String()


class ReviewerSchema(ma.Schema):
    reviewer_id = fields.Integer()
    name = fields.String()
    is_admin = fields.Boolean()
    created_at = fields.String()


class ReviewerCreateSchema(ma.Schema):
    name = _name(required=True)
    is_admin = fields.Boolean(load_default=False)


class MyProjectSchema(ma.Schema):
    project_id = fields.Integer()
    name = fields.String()
    mode = fields.String(validate=validate.OneOf(SCREENING_MODES))
    role = fields.String(validate=validate.OneOf(ROLES))


class MeSchema(ReviewerSchema):
    projects = fields.List(fields.Nested(MyProjectSchema))


class TokenCreateSchema(ma.Schema):
    label = fields.String(load_default="", validate=validate.Length(max=200))


class TokenSchema(ma.Schema):
    token_id = fields.Integer()
    reviewer = fields.String()
    label = fields.String()
    created_at = fields.String()
    revoked_at = fields.String(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "The secret: shown this once, never again"})


class MemberSchema(ma.Schema):
    reviewer = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    added_at = fields.String()


class MemberSetSchema(ma.Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


# -- limits branch: the protocol's search and its limits (index/limits.py) --------------------


class ProtocolSearchSchema(ma.Schema):
    database = fields.String(required=True, validate=validate.Length(min=1, max=200))
    string = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))
    date = fields.String(
        load_default="", metadata={"description": "When it was run, YYYY-MM-DD (or empty)"}
    )


class ProtocolSchema(ma.Schema):
    """The review protocol's search: what was searched and the limits it was run with."""

    search_string = fields.String(validate=validate.Length(max=MAX_TEXT))
    searches = fields.List(
        fields.Nested(ProtocolSearchSchema),
        validate=validate.Length(max=MAX_SEARCHES),
        metadata={"description": "Each database's own search string and date (optional)"},
    )
    years_from = fields.Integer(
        allow_none=True, metadata={"description": "Earliest publication year, inclusive"}
    )
    years_to = fields.Integer(
        allow_none=True, metadata={"description": "Latest publication year, inclusive"}
    )
    languages = fields.List(
        fields.String(),
        metadata={"description": "Languages searched: names or ISO 639 codes, kept as 639-2"},
    )

    @ma.validates_schema
    def _checked(self, data: dict[str, Any], **kwargs: Any) -> None:
        from index.errors import ValidationError

        try:
            checked_protocol(data)
        except ValidationError as e:
            name = (e.field or "protocol").removeprefix("protocol.")
            raise ma.ValidationError(str(e), field_name=name) from e


class LimitVerdictSchema(ma.Schema):
    status = fields.String(validate=validate.OneOf(LIMIT_STATUSES))
    reasons = fields.List(fields.String(), metadata={"description": "The limits it breaks"})
    unknown = fields.List(
        fields.String(), metadata={"description": "Limited fields it does not give"}
    )


class LimitsReportSchema(ma.Schema):
    active = fields.Boolean()
    limits = fields.Dict()
    protocol = fields.Nested(ProtocolSchema)
    records = fields.Integer()
    within = fields.Integer()
    outside = fields.Integer()
    unknown = fields.Integer(metadata={"description": "Year or language unknown: not outside"})
    unknown_year = fields.Integer()
    unknown_language = fields.Integer()
    outside_by_reason = fields.Dict(keys=fields.String(), values=fields.Integer())
    removed = fields.Integer(metadata={"description": "Already excluded before screening"})
    to_exclude = fields.Integer(metadata={"description": "Outside, nobody has screened them"})
    to_exclude_ids = fields.List(fields.Integer())
    screened = fields.Integer(metadata={"description": "Outside but decided by a reviewer"})
    screened_ids = fields.List(fields.Integer())
    to_restore = fields.Integer(metadata={"description": "Excluded, but within the limits now"})
    to_restore_ids = fields.List(fields.Integer())
    reason = fields.String()


class LimitsApplySchema(ma.Schema):
    excluded = fields.Integer()
    excluded_ids = fields.List(fields.Integer())
    restored = fields.Integer()
    restored_ids = fields.List(fields.Integer())
    screened = fields.Integer()
    screened_ids = fields.List(fields.Integer())
    removed = fields.Integer()
    unknown = fields.Integer()
    reason = fields.String()


# -- studytype branch: study types and the evidence map ----------------------------------------


class StudyTypeUpdateSchema(ma.Schema):
    study_type = fields.String(required=True, validate=validate.OneOf(STUDY_TYPES))


class StudyTypeFacetSchema(ma.Schema):
    study_type = fields.String()
    label = fields.String()
    records = fields.Integer()


class EvidenceQuerySchema(ma.Schema):
    by = fields.String(load_default="study_type", validate=validate.OneOf(("study_type", "year")))
    stage = fields.String(
        load_default="auto",
        validate=validate.OneOf(("auto", "title_abstract", "full_text")),
        metadata={"description": "auto: full text once a record has a final full-text decision"},
    )
    format = fields.String(
        load_default="json", validate=validate.OneOf(("json", "csv", "svg", "png"))
    )


class EvidenceRowSchema(ma.Schema):
    theme = fields.String()
    counts = fields.List(fields.Integer())
    total = fields.Integer()


class EvidenceMapSchema(ma.Schema):
    project = fields.String()
    project_id = fields.Integer()
    by = fields.String()
    stage = fields.String()
    included = fields.Integer()
    columns = fields.List(fields.String())
    column_labels = fields.List(fields.String())
    rows = fields.List(fields.Nested(EvidenceRowSchema))
    column_totals = fields.List(fields.Integer())
    theme_counts = fields.List(fields.String())
    summary = fields.String()


# -- synthesis: theme discovery and representative picks (branch discover) --------------------

DISCOVERY_FILTER_VALUES = ("included", "all", "screened", "unscreened", "excluded")


class ProposalsQuerySchema(ma.Schema):
    filter = fields.String(
        load_default="included",
        validate=validate.OneOf(DISCOVERY_FILTER_VALUES),
        metadata={"description": "Which records to discover themes in (final decisions)"},
    )
    stage = fields.String(
        load_default="title_abstract",
        validate=validate.OneOf(STAGES),
        metadata={"description": "The stage whose final decisions the filter reads"},
    )
    theme = _name()  # only the records of this theme (labelled or suggested): sub-themes


class TermSchema(ma.Schema):
    term = fields.String()
    weight = fields.Float(metadata={"description": "c-TF-IDF weight"})


class ProposalTitleSchema(ma.Schema):
    record_id = fields.Integer()
    title = fields.String()
    year = fields.Integer(allow_none=True)


class ProposalSchema(ma.Schema):
    proposal_id = fields.Integer()
    name = fields.String(metadata={"description": "Suggested name: its first terms"})
    name_taken = fields.Boolean()
    description = fields.String()
    size = fields.Integer(metadata={"description": "Records whose nearest theme this is"})
    overlapping = fields.Integer(metadata={"description": "Records it shares with others"})
    terms = fields.List(fields.Nested(TermSchema))
    titles = fields.List(fields.Nested(ProposalTitleSchema))


class ProposalsSchema(ma.Schema):
    key = fields.String(metadata={"description": "Send it back when accepting"})
    filter = fields.String()
    stage = fields.String()
    theme = fields.String(allow_none=True)
    records = fields.Integer()
    method = fields.String()
    k = fields.Integer(metadata={"description": "Number of themes the method chose"})
    silhouette = fields.Float(allow_none=True)
    proposals = fields.List(fields.Nested(ProposalSchema))


class AcceptThemeSchema(ma.Schema):
    proposals = fields.List(
        fields.Integer(validate=validate.Range(min=0, max=MAX_ID)),
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Proposal ids: several are merged into one theme"},
    )
    name = _name()
    description = fields.String(validate=validate.Length(max=20000))


class AcceptProposalsSchema(ma.Schema):
    key = fields.String(required=True, validate=validate.Length(max=100))
    filter = fields.String(
        load_default="included", validate=validate.OneOf(DISCOVERY_FILTER_VALUES)
    )
    stage = fields.String(
        load_default="title_abstract",
        validate=validate.OneOf(STAGES),
        metadata={"description": "The stage whose final decisions the filter reads"},
    )
    theme = _name()  # only the records of this theme (labelled or suggested): sub-themes
    themes = fields.List(
        fields.Nested(AcceptThemeSchema), required=True, validate=validate.Length(min=1, max=100)
    )


class AcceptedThemeSchema(ma.Schema):
    name = fields.String()
    description = fields.String()
    suggested = fields.Integer(metadata={"description": "Records stored as its suggestions"})


class AcceptedSchema(ma.Schema):
    themes = fields.List(fields.Nested(AcceptedThemeSchema))
    project = fields.Dict()


class PicksQuerySchema(ma.Schema):
    theme = _name()
    n = fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))
    reviews_first = fields.Boolean(load_default=False)
    filter = fields.String(
        load_default="included", validate=validate.OneOf(DISCOVERY_FILTER_VALUES)
    )
    stage = fields.String(
        load_default="title_abstract",
        validate=validate.OneOf(STAGES),
        metadata={"description": "The stage whose final decisions the filter reads"},
    )


class PickSchema(ma.Schema):
    record_id = fields.Integer()
    title = fields.String()
    year = fields.Integer(allow_none=True)
    order = fields.Integer()
    review = fields.Boolean()
    centrality = fields.Float(metadata={"description": "Cosine to the theme's centre"})
    redundancy = fields.Float(
        allow_none=True, metadata={"description": "Highest cosine to an earlier pick"}
    )
    reason = fields.String()
    selected = fields.Boolean()


class SelectedPickSchema(ma.Schema):
    record_id = fields.Integer()
    title = fields.String()
    year = fields.Integer(allow_none=True)
    review = fields.Boolean()
    reason = fields.String()
    picked_by = fields.String()
    picked_at = fields.String()


class ThemePicksSchema(ma.Schema):
    theme = fields.String()
    members = fields.Integer()
    reviews = fields.Integer()
    picks = fields.List(fields.Nested(PickSchema))
    selected = fields.List(fields.Nested(SelectedPickSchema))


class SelectPickSchema(ma.Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class ThemeSelectionSchema(ma.Schema):
    theme = fields.String()
    selected = fields.Integer()
    reviews = fields.Integer()


class SelectionSchema(ma.Schema):
    selected = fields.Integer(metadata={"description": "Distinct records selected"})
    reviews = fields.Integer(metadata={"description": "Of them, reviews"})
    themes = fields.List(fields.Nested(ThemeSelectionSchema))


class ThemeQuerySchema(ma.Schema):
    theme = _name(required=True)

"""``/api/projects/<project>/records``: upload export files, list and read records."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .schemas import (
    Blueprint,
    FilesSchema,
    ImportSummarySchema,
    RecordPageSchema,
    RecordQuerySchema,
    RecordSchema,
    UploadQuerySchema,
)

blp = Blueprint("records", __name__, url_prefix="/api/projects", description="Records")


@blp.route("/<project>/records")
class Records(MethodView):
    @blp.arguments(RecordQuerySchema, location="query")
    @blp.response(200, RecordPageSchema)
    @blp.problems(404)
    def get(self, args: dict, project: str) -> dict:
        """A page of records with their current decision and themes, filtered by status
        (screened, unscreened, included, excluded, maybe) and theme."""
        return current_app.extensions["screenwise"].records(project, **args)

    @blp.arguments(UploadQuerySchema, location="query")
    @blp.arguments(FilesSchema, location="files")
    @blp.response(201, ImportSummarySchema(many=True))
    @blp.problems(404, 413, 415, 422)
    def post(self, query: dict, files: dict, project: str) -> list:
        """Import export files (multipart field ``files``, one or more), deduplicate, embed.

        All files are read before any is stored. One summary per file: records added,
        duplicates and which record each repeats, records without abstract, prior labels.
        400: a malformed file (the message names file and line); 413: too large; 415: not a
        format screenwise reads; 422: a file without records.
        """
        uploads = [(f.filename, f.stream) for f in files["files"]]
        return current_app.extensions["screenwise"].import_uploads(
            project, uploads, ignore_labels=query["ignore_labels"], actor=query["actor"]
        )


@blp.route("/<project>/records/<int:record_id>")
class Record(MethodView):
    @blp.response(200, RecordSchema)
    @blp.problems(404)
    def get(self, project: str, record_id: int) -> dict:
        """One record with its current decision and themes."""
        return current_app.extensions["screenwise"].record(project, record_id)

"""``/api/projects/<project>/records``: upload export files, list and read records."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .access import project_access
from .schemas import (
    Blueprint,
    FilesSchema,
    ImportSummarySchema,
    RecordPageSchema,
    RecordQuerySchema,
    RecordSchema,
    StageQuerySchema,
    UploadQuerySchema,
)

blp = Blueprint("records", __name__, url_prefix="/api/projects", description="Records")


@blp.route("/<project>/records")
class Records(MethodView):
    @blp.arguments(RecordQuerySchema, location="query")
    @blp.response(200, RecordPageSchema)
    @blp.problems(404)
    def get(self, args: dict, project: str) -> dict:
        """A page of records with their current decision at ``stage`` and themes, filtered by
        status (screened, unscreened, included, excluded, maybe) and theme.

        In blind double screening the current decision is the final one, else the caller's
        own: another reviewer's decision never shows before the record is final."""
        access = project_access(project)
        return current_app.extensions["screenwise"].records(
            access.project.project_id, viewer=access.viewer, **args
        )

    @blp.arguments(UploadQuerySchema, location="query")
    @blp.arguments(FilesSchema, location="files")
    @blp.response(201, ImportSummarySchema(many=True))
    @blp.problems(403, 404, 413, 415, 422)
    def post(self, query: dict, files: dict, project: str) -> list:
        """Import export files (multipart field ``files``, one or more), deduplicate, embed.
        Maintainers only; the import is audited under the caller's name.

        All files are read before any is stored. One summary per file: records added,
        duplicates and which record each repeats, records without abstract, prior labels.
        400: a malformed file (the message names file and line); 413: too large; 415: not a
        format screenwise reads; 422: a file without records.
        """
        access = project_access(project, "maintainer")
        uploads = [(f.filename, f.stream) for f in files["files"]]
        return current_app.extensions["screenwise"].import_uploads(
            access.project.project_id,
            uploads,
            ignore_labels=query["ignore_labels"],
            actor=access.name,
        )


@blp.route("/<project>/records/<int:record_id>")
class Record(MethodView):
    @blp.arguments(StageQuerySchema, location="query")
    @blp.response(200, RecordSchema)
    @blp.problems(404)
    def get(self, args: dict, project: str, record_id: int) -> dict:
        """One record with its current decision at ``stage`` (as for the list) and themes."""
        access = project_access(project)
        return current_app.extensions["screenwise"].record(
            access.project.project_id, record_id, stage=args["stage"], viewer=access.viewer
        )

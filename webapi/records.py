"""``/api/projects/<project>/records``: upload export files, list and read records."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView

from .access import project_access
from .schemas import (
    Blueprint,
    FilesSchema,
    JobSchema,
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
        status (screened, unscreened, included, excluded, maybe), theme and standing against
        the protocol's search limits (``limits``: within, outside, unknown); each record says
        where it stands (``search_limits``).

        In blind double screening the current decision is the final one, else the caller's
        own: another reviewer's decision never shows before the record is final."""
        access = project_access(project)
        return current_app.extensions["screenwise"].records(
            access.project.project_id, viewer=access.viewer, **args
        )

    @blp.arguments(UploadQuerySchema, location="query")
    @blp.arguments(FilesSchema, location="files")
    @blp.response(202, JobSchema)
    @blp.problems(403, 404, 413, 415, 422)
    def post(self, query: dict, files: dict, project: str) -> tuple:
        """Upload export files (multipart field ``files``, one or more) and import them in
        a job: read, deduplicate, store, embed, index. Answers at once with the job (202,
        ``Location``: ``/api/jobs/ID``). Maintainers only; the import is audited under the
        caller's name.

        The files are stored all together or not at all; records become screenable as their
        vectors land (the queue's ``embedding_pending`` says how many are still waiting).
        When done, the job's ``result.files`` holds one summary per file: records added,
        duplicates and which record each repeats, records without abstract, prior labels. A
        file that fails fails the job, its ``error`` naming the file and line.

        413: larger than the upload limit, or more records than an import may hold; 422: a
        header line over its limit. Both store nothing.
        """
        access = project_access(project, "maintainer")
        uploads = [(f.filename, f.stream) for f in files["files"]]
        job = current_app.extensions["screenwise"].import_uploads(
            access.project.project_id,
            uploads,
            ignore_labels=query["ignore_labels"],
            actor=access.name,
        )
        return job, 202, {"Location": url_for("jobs.Job", job_id=job["job_id"])}


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

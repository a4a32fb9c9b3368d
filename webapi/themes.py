"""Theme suggestions: for records of a project, and for records not yet in it (review update)."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, url_for
from flask.views import MethodView

from .access import project_access
from .schemas import (
    Blueprint,
    CandidateSchema,
    CandidatesSchema,
    FilesSchema,
    JobSchema,
    RecordIdsSchema,
    RecordThemesSchema,
)

blp = Blueprint("themes", __name__, url_prefix="/api/projects", description="Themes")


@blp.route("/<project>/records/<int:record_id>/themes")
class RecordThemes(MethodView):
    @blp.response(200, RecordThemesSchema)
    @blp.problems(404)
    def get(self, project: str, record_id: int) -> dict:
        """Suggested themes for one record, best first, with the themes a reviewer gave it."""
        access = project_access(project)
        [themes] = current_app.extensions["screenwise"].record_themes(
            access.project.project_id, [record_id], viewer=access.viewer
        )
        return themes


@blp.route("/<project>/themes/records")
class ManyRecordThemes(MethodView):
    @blp.arguments(RecordIdsSchema)
    @blp.response(200, RecordThemesSchema(many=True))
    @blp.problems(404)
    def post(self, args: dict, project: str) -> list:
        """Suggested themes for a list of records of the project."""
        access = project_access(project)
        return current_app.extensions["screenwise"].record_themes(
            access.project.project_id, args["record_ids"], viewer=access.viewer
        )


@blp.route("/<project>/themes/candidates")
class Candidates(MethodView):
    @blp.arguments(CandidatesSchema)
    @blp.response(200, CandidateSchema(many=True))
    @blp.problems(404, 413)
    def post(self, args: dict, project: str) -> list:
        """Records not in the project, as JSON title/abstract: their relevance under the
        project's model, suggested themes, and the screened record each one duplicates.

        413 over the records a request may hold (reviewers: ``REVIEWER_MAX_CANDIDATES``,
        200 by default)."""
        access = project_access(project)
        service = current_app.extensions["screenwise"]
        service.check_candidates(len(args["records"]), maintainer=access.at_least("maintainer"))
        return service.candidates(access.project.project_id, args["records"])


@blp.route("/<project>/themes/candidates/file")
class CandidateFiles(MethodView):
    @blp.arguments(FilesSchema, location="files")
    @blp.response(200, CandidateSchema(many=True))
    @blp.alt_response(202, schema=JobSchema, description="A large file: ranked in a job")
    @blp.problems(404, 413, 415, 422)
    def post(self, files: dict, project: str) -> Any:
        """Like ``/themes/candidates``, for records in export files (multipart ``files``);
        nothing is stored.

        Files of more records than a reviewer may send (``REVIEWER_MAX_CANDIDATES``) are
        ranked in a job, for maintainers: 202 with the job (``Location``: ``/api/jobs/ID``),
        whose ``result`` is the ranked list once done. 413 over the bytes (reviewers:
        ``REVIEWER_MAX_UPLOAD_BYTES``, 5 MB by default) or records (reviewers:
        ``REVIEWER_MAX_CANDIDATES``; maintainers: ``MAINTAINER_MAX_CANDIDATES``) a request
        may hold."""
        access = project_access(project)
        maintainer = access.at_least("maintainer")
        service = current_app.extensions["screenwise"]
        service.check_candidate_bytes(request.content_length or 0, maintainer=maintainer)
        result = service.candidate_uploads(
            access.project.project_id,
            [(f.filename, f.stream) for f in files["files"]],
            maintainer=maintainer,
            actor=access.name,
        )
        if isinstance(result, list):
            return result, 200
        # A Response of its own: flask-smorest would dump it with the 200 schema.
        response = jsonify(JobSchema().dump(result))
        response.status_code = 202
        response.headers["Location"] = url_for("jobs.Job", job_id=result["job_id"])
        return response

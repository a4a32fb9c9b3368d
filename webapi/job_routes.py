"""``/api/jobs/<job>``: follow and cancel long-running jobs; ``/api/projects/<p>/jobs``: a
project's jobs."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from index.errors import NotFoundError

from .access import Forbidden, caller, project_access, require_admin
from .schemas import Blueprint, JobListQuerySchema, JobSchema

blp = Blueprint("jobs", __name__, url_prefix="/api", description="Jobs")


def _job(job_id: str, minimum: str = "reviewer") -> dict:
    """The job, if the caller may see it (a member of its project; an administrator for a
    job without one) and, to cancel, is a maintainer or asked for it."""
    service = current_app.extensions["screenwise"]
    job = service.job(job_id)
    if job["project_id"] is None:
        require_admin("follow jobs outside projects")
        return job
    try:
        access = project_access(job["project_id"], "reviewer")
    except NotFoundError:
        raise NotFoundError(f"no job {job_id!r}") from None
    if minimum == "maintainer" and not (
        access.at_least("maintainer") or job["requested_by"] == caller().name
    ):
        raise Forbidden("only a maintainer or the one who started it may cancel a job")
    return job


@blp.route("/jobs/<job_id>")
class Job(MethodView):
    @blp.response(200, JobSchema)
    @blp.problems(403, 404)
    def get(self, job_id: str) -> dict:
        """A job: its state (queued, running, done, failed, cancelled), phase, progress
        (done of total, records/s), error, and when done its result (an import: one summary
        per file)."""
        return _job(job_id)

    @blp.response(200, JobSchema)
    @blp.problems(403, 404, 409)
    def delete(self, job_id: str) -> dict:
        """Cancel a job (as ``POST .../cancel``)."""
        _job(job_id, "maintainer")
        return current_app.extensions["screenwise"].cancel_job(job_id)


@blp.route("/jobs/<job_id>/cancel")
class CancelJob(MethodView):
    @blp.response(200, JobSchema)
    @blp.problems(403, 404, 409)
    def post(self, job_id: str) -> dict:
        """Cancel a job: a queued one at once, a running one at its next step (its state
        says when). An import cancelled before its store phase stores nothing; after it, its
        records stay and their embedding resumes with the next start. 409 once it is over."""
        _job(job_id, "maintainer")
        return current_app.extensions["screenwise"].cancel_job(job_id)


@blp.route("/projects/<project>/jobs")
class ProjectJobs(MethodView):
    @blp.arguments(JobListQuerySchema, location="query")
    @blp.response(200, JobSchema(many=True))
    @blp.problems(404)
    def get(self, args: dict, project: str) -> list:
        """The project's jobs, newest first (``active``: only queued and running ones)."""
        access = project_access(project)
        return current_app.extensions["screenwise"].jobs_of(
            access.project.project_id, active=args["active"]
        )

"""``/api/projects/<project>/training`` and ``/model``: retrain, follow the job, read the model."""

from __future__ import annotations

from flask import current_app, url_for
from flask.views import MethodView

from .access import project_access
from .schemas import Blueprint, ModelInfoSchema, TrainingJobSchema, TrainRequestSchema

blp = Blueprint("training", __name__, url_prefix="/api/projects", description="Training")


@blp.route("/<project>/training")
class Training(MethodView):
    @blp.arguments(TrainRequestSchema, required=False)
    @blp.response(200, TrainingJobSchema, description="Retrained: the job, done")
    @blp.alt_response(202, schema=TrainingJobSchema, description="Retraining in the background")
    @blp.problems(403, 404, 409)
    def post(self, args: dict, project: str) -> tuple:
        """Retrain the project's models on the final title/abstract decisions and save them
        (maintainers only; ``requested_by`` is ignored: the caller is recorded).

        Small projects retrain at once (200); larger ones in a background job (202, with a
        ``Location`` to follow). 409 while a retrain runs, naming its job.
        """
        access = project_access(project, "maintainer")
        job = current_app.extensions["screenwise"].train(
            access.project.project_id, actor=access.name
        )
        if not job["background"]:
            return job, 200
        location = url_for("training.TrainingJob", project=project, job_id=job["job_id"])
        return job, 202, {"Location": location}


@blp.route("/<project>/training/<job_id>")
class TrainingJob(MethodView):
    @blp.response(200, TrainingJobSchema)
    @blp.problems(404)
    def get(self, project: str, job_id: str) -> dict:
        """A retraining job: running, done (with the model's description) or failed."""
        access = project_access(project)
        return current_app.extensions["screenwise"].training_job(access.project.project_id, job_id)


@blp.route("/<project>/model")
class Model(MethodView):
    @blp.response(200, ModelInfoSchema)
    @blp.problems(404)
    def get(self, project: str) -> dict:
        """What ranks the queue now, what the last retrain saved, and any running job."""
        access = project_access(project)
        return current_app.extensions["screenwise"].model_info(access.project.project_id)

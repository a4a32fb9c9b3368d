"""``/api/projects``: create, list, read and delete screening projects."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .schemas import Blueprint, ProjectCreateSchema, ProjectSchema

blp = Blueprint("projects", __name__, url_prefix="/api/projects", description="Projects")


@blp.route("")
class Projects(MethodView):
    @blp.response(200, ProjectSchema(many=True))
    def get(self) -> list:
        """Every project, oldest first."""
        return [p.to_dict() for p in current_app.extensions["screenwise"].projects()]

    @blp.arguments(ProjectCreateSchema)
    @blp.response(201, ProjectSchema)
    @blp.problems(409)
    def post(self, args: dict) -> dict:
        """Create a project: a name, the review question or inclusion criteria, and themes.

        The name must be unique and not a number (numbers in URLs are project ids).
        """
        service = current_app.extensions["screenwise"]
        return service.create_project(args["name"], args["question"], args["themes"]).to_dict()


@blp.route("/<project>")
class Project(MethodView):
    @blp.response(200, ProjectSchema)
    @blp.problems(404)
    def get(self, project: str) -> dict:
        """One project, by id or name."""
        return current_app.extensions["screenwise"].project(project).to_dict()

    @blp.response(204)
    @blp.problems(404, 409)
    def delete(self, project: str) -> None:
        """Delete a project with its records, decisions, index and models (409 while it
        retrains)."""
        current_app.extensions["screenwise"].delete_project(project)

"""``/api/projects/<project>/conflicts``: records whose two decisions disagree, for resolvers."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from . import review
from .access import project_access
from .schemas import Blueprint, ConflictSchema, StageQuerySchema

blp = Blueprint("conflicts", __name__, url_prefix="/api/projects", description="Conflicts")


@blp.route("/<project>/conflicts")
class Conflicts(MethodView):
    @blp.arguments(StageQuerySchema, location="query")
    @blp.response(200, ConflictSchema(many=True))
    @blp.problems(403, 404)
    def get(self, args: dict, project: str) -> list:
        """Records in conflict at ``stage``: two reviewers' decisions disagree (or either is
        maybe). Each with both decisions, their reasons and notes. Resolvers and maintainers
        only; settle one with a decision of ``origin: resolution``."""
        access = project_access(project, "resolver")
        store = current_app.extensions["screenwise"].store
        return review.conflicts(store, access.project.project_id, args["stage"])

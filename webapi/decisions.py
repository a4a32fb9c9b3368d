"""``/api/projects/<project>/.../decisions``: screening decisions, append-only with history."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .schemas import Blueprint, DecisionCreateSchema, DecisionSchema, DecisionsQuerySchema

blp = Blueprint("decisions", __name__, url_prefix="/api/projects", description="Decisions")


@blp.route("/<project>/records/<int:record_id>/decisions")
class RecordDecisions(MethodView):
    @blp.response(200, DecisionSchema(many=True))
    @blp.problems(404)
    def get(self, project: str, record_id: int) -> list:
        """The record's decisions, oldest first; the newest per stage is the current one."""
        return current_app.extensions["screenwise"].decisions(project, record_id)

    @blp.arguments(DecisionCreateSchema)
    @blp.response(201, DecisionSchema)
    @blp.problems(404, 409)
    def post(self, args: dict, project: str, record_id: int) -> dict:
        """Decide on a record: include, exclude or maybe, with reviewer, optional themes,
        exclusion reason and note. A new decision is appended; earlier ones stay as history.

        ``undecided`` retracts (an undo of a first decision): appended like the others, it
        leaves the record without a current decision at that stage, so it is back in the
        queue, and withdraws its theme labels unless ``themes`` is given.

        409 when ``supersedes`` no longer names the current decision, or the record is a
        duplicate of another.
        """
        return current_app.extensions["screenwise"].decide(project, record_id, **args)


@blp.route("/<project>/decisions")
class Decisions(MethodView):
    @blp.arguments(DecisionsQuerySchema, location="query")
    @blp.response(200, DecisionSchema(many=True))
    @blp.problems(404)
    def get(self, args: dict, project: str) -> list:
        """Every decision in the project, oldest first, optionally of one reviewer."""
        service = current_app.extensions["screenwise"]
        return service.decisions(project, reviewer=args.get("reviewer"))

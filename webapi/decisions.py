"""``/api/projects/<project>/.../decisions``: screening decisions, append-only with history."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .access import Forbidden, project_access
from .schemas import Blueprint, DecisionCreateSchema, DecisionSchema, DecisionsQuerySchema

blp = Blueprint("decisions", __name__, url_prefix="/api/projects", description="Decisions")


@blp.route("/<project>/records/<int:record_id>/decisions")
class RecordDecisions(MethodView):
    @blp.response(200, DecisionSchema(many=True))
    @blp.problems(404)
    def get(self, project: str, record_id: int) -> list:
        """The record's decisions the caller may see, oldest first (in blind double screening
        another reviewer's only once both have decided; see the project's mode)."""
        access = project_access(project)
        return current_app.extensions["screenwise"].decisions(
            access.project.project_id, record_id, viewer=access.viewer
        )

    @blp.arguments(DecisionCreateSchema)
    @blp.response(201, DecisionSchema)
    @blp.problems(403, 404, 409)
    def post(self, args: dict, project: str, record_id: int) -> dict:
        """Decide on a record: include, exclude or maybe, with optional themes, exclusion
        reason (one of the project's reasons for the stage, when it has a list) and note. A
        new decision is appended; earlier ones stay as history.

        ``undecided`` retracts (an undo of a first decision): appended like the others, it
        leaves the record without a current decision at that stage, so it is back in the
        queue, and withdraws its theme labels unless ``themes`` is given.

        ``reviewer`` must be the caller's own name (403 otherwise): decisions are recorded
        under the authenticated reviewer. ``origin: resolution`` settles a conflict and needs
        the resolver role (403). 409 when ``supersedes`` no longer names the current decision,
        the record is a duplicate, is final (double screening: only a resolution changes it),
        already has two reviewers' decisions, or is not included at title/abstract when
        deciding at full text.
        """
        access = project_access(project)
        if args["reviewer"] != access.name:
            raise Forbidden(
                f"decisions are recorded under the authenticated reviewer, {access.name!r},"
                f" not {args['reviewer']!r}"
            )
        if args["origin"] == "resolution" and not access.at_least("resolver"):
            raise Forbidden("resolving conflicts needs the resolver role")
        return current_app.extensions["screenwise"].decide(
            access.project.project_id, record_id, **args
        )


@blp.route("/<project>/decisions")
class Decisions(MethodView):
    @blp.arguments(DecisionsQuerySchema, location="query")
    @blp.response(200, DecisionSchema(many=True))
    @blp.problems(404)
    def get(self, args: dict, project: str) -> list:
        """Every decision in the project the caller may see, oldest first, optionally of one
        reviewer."""
        access = project_access(project)
        return current_app.extensions["screenwise"].decisions(
            access.project.project_id, reviewer=args.get("reviewer"), viewer=access.viewer
        )

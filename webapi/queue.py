"""``/api/projects/<project>/queue``: the next records to screen, in ranked order."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .schemas import Blueprint, QueueQuerySchema, QueueSchema

blp = Blueprint("queue", __name__, url_prefix="/api/projects", description="Screening queue")


@blp.route("/<project>/queue")
class Queue(MethodView):
    @blp.arguments(QueueQuerySchema, location="query")
    @blp.response(200, QueueSchema)
    @blp.problems(404)
    def get(self, args: dict, project: str) -> dict:
        """The next ``n`` unscreened records, best first, each with its score and the mode
        that produced it, suggested themes, and the ``k`` most similar included records (why
        it ranks there). Re-ranked after every decision."""
        return current_app.extensions["screenwise"].queue(project, n=args["n"], k=args["k"])

"""``/api/projects/<project>/queue``: the next records to screen, in ranked order."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .access import project_access
from .schemas import Blueprint, QueueQuerySchema, QueueSchema

blp = Blueprint("queue", __name__, url_prefix="/api/projects", description="Screening queue")


@blp.route("/<project>/queue")
class Queue(MethodView):
    @blp.arguments(QueueQuerySchema, location="query")
    @blp.response(200, QueueSchema)
    @blp.problems(404)
    def get(self, args: dict, project: str) -> dict:
        """The caller's next ``n`` records at ``stage``, best first, each with its score and
        the mode that produced it, suggested themes, and the ``k`` most similar included
        records (why it ranks there). Re-ranked after every decision.

        Never a final record nor one the caller has decided; in double screening never one
        two others have decided. At full text: the records included at title/abstract.

        Only embedded records are ranked: ``embedding_pending`` counts those still waiting
        for their vector (an import's job embeds them batch by batch)."""
        access = project_access(project)
        service = current_app.extensions["screenwise"]
        queue = service.queue(
            access.project.project_id,
            n=args["n"],
            k=args["k"],
            stage=args["stage"],
            viewer=access.viewer,
        )
        return queue | {"embedding_pending": service.pending_embedding(access.project.project_id)}

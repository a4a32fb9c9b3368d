"""``/api/projects/<project>/search``: semantic search of a project's records by a question."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .access import project_access
from .schemas import Blueprint, SearchHitSchema, SearchQuerySchema

blp = Blueprint("search", __name__, url_prefix="/api/projects", description="Question search")


@blp.route("/<project>/search")
class Search(MethodView):
    @blp.arguments(SearchQuerySchema, location="query")
    @blp.response(200, SearchHitSchema(many=True))
    @blp.problems(404)
    def get(self, args: dict, project: str) -> list[dict]:
        """The records nearest to a question, best first, with cosine scores.

        ``project`` is the project's id or name; ``filter`` limits hits to all, unscreened,
        screened, included or excluded records, by the decision the caller may see; ``limits``
        to records within, outside or unknown to the protocol's search limits; ``study_type``
        to records of that study type.
        """
        access = project_access(project)
        return current_app.extensions["screenwise"].search(
            access.project.project_id,
            args["q"],
            k=args["k"],
            filter=args["filter"],
            viewer=access.viewer,
            limits=args.get("limits"),
            study_type=args.get("study_type"),
        )

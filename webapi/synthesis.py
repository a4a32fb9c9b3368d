"""Synthesis: themes discovered in a project's records, and representative picks per theme."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .access import project_access
from .schemas import (
    AcceptedSchema,
    AcceptProposalsSchema,
    Blueprint,
    PicksQuerySchema,
    ProposalsQuerySchema,
    ProposalsSchema,
    SelectionSchema,
    SelectPickSchema,
    ThemePicksSchema,
    ThemeQuerySchema,
)

blp = Blueprint("synthesis", __name__, url_prefix="/api/projects", description="Synthesis")


@blp.route("/<project>/themes/proposals")
class Proposals(MethodView):
    @blp.arguments(ProposalsQuerySchema, location="query")
    @blp.response(200, ProposalsSchema)
    @blp.problems(400, 404, 413)
    def get(self, args: dict, project: str) -> dict:
        """Candidate themes in the records ``filter`` selects by their final decision at
        ``stage`` (final title/abstract includes by default; ``stage=full_text`` for the
        studies included after full text; with ``theme``, the records of that theme, for
        its sub-themes):
        clusters of their embeddings, each with distinctive terms, size, records shared with
        other proposals and five representative titles. The number of themes is the
        method's choice. 413 over ``MAX_DISCOVERY_RECORDS`` records (3,000)."""
        access = project_access(project)
        return current_app.extensions["screenwise"].theme_proposals(
            access.project.project_id,
            filter=args["filter"],
            stage=args["stage"],
            theme=args.get("theme"),
        )

    @blp.arguments(AcceptProposalsSchema)
    @blp.response(201, AcceptedSchema)
    @blp.problems(400, 403, 404, 409, 413)
    def post(self, args: dict, project: str) -> dict:
        """Accept proposals as project themes (maintainers): each entry of ``themes`` names
        the proposals it takes (several: merged into one theme) and may rename and describe
        it; proposals left out are dropped. Their records become the theme's suggestions,
        not labels. 409 when the records changed since ``key`` was read, or a name is taken."""
        access = project_access(project, "maintainer")
        return current_app.extensions["screenwise"].accept_proposals(
            access.project.project_id,
            key=args["key"],
            themes=args["themes"],
            filter=args["filter"],
            stage=args["stage"],
            theme=args.get("theme"),
            actor=access.name,
        )


@blp.route("/<project>/picks")
class Picks(MethodView):
    @blp.arguments(PicksQuerySchema, location="query")
    @blp.response(200, ThemePicksSchema(many=True))
    @blp.problems(400, 404)
    def get(self, args: dict, project: str) -> list:
        """Per theme: its ``n`` most representative and varied records (maximal marginal
        relevance over the embeddings of its labelled and suggested records), reviews first
        when asked, each with why it was picked; and the records a maintainer selected."""
        access = project_access(project)
        return current_app.extensions["screenwise"].theme_picks(
            access.project.project_id,
            theme=args.get("theme"),
            n=args["n"],
            reviews_first=args["reviews_first"],
            filter=args["filter"],
            stage=args["stage"],
            viewer=access.viewer,
        )


@blp.route("/<project>/picks/selection")
class Selection(MethodView):
    @blp.response(200, SelectionSchema)
    @blp.problems(404)
    def get(self, project: str) -> dict:
        """The final selection's counts: distinct records selected and how many are reviews,
        overall and per theme."""
        access = project_access(project)
        return current_app.extensions["screenwise"].selection_counts(access.project.project_id)


@blp.route("/<project>/picks/selection/<int:record_id>")
class SelectedRecord(MethodView):
    @blp.arguments(ThemeQuerySchema, location="query")
    @blp.arguments(SelectPickSchema)
    @blp.response(200, SelectionSchema)
    @blp.problems(400, 403, 404)
    def put(self, query: dict, body: dict, project: str, record_id: int) -> dict:
        """Select a record for ``theme``'s final selection (maintainers); the counts after."""
        access = project_access(project, "maintainer")
        return current_app.extensions["screenwise"].select_pick(
            access.project.project_id,
            query["theme"],
            record_id,
            reason=body["reason"],
            actor=access.name,
        )

    @blp.arguments(ThemeQuerySchema, location="query")
    @blp.response(200, SelectionSchema)
    @blp.problems(400, 403, 404)
    def delete(self, query: dict, project: str, record_id: int) -> dict:
        """Take a record out of ``theme``'s selection (maintainers); the counts after."""
        access = project_access(project, "maintainer")
        return current_app.extensions["screenwise"].unselect_pick(
            access.project.project_id, query["theme"], record_id, actor=access.name
        )

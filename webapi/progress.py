"""``/api/projects/<project>/progress``, ``/prisma`` and ``/export``: where screening stands,
its PRISMA 2020 flow diagram, and its result."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView

from . import review
from .access import project_access
from .prisma import render_png, render_svg
from .schemas import Blueprint, ExportQuerySchema, PrismaQuerySchema, PrismaSchema, ProgressSchema
from .writers import MEDIA_TYPES

EXPORT_CONTENT = {media_type: {"schema": {"type": "string"}} for media_type in MEDIA_TYPES.values()}
# flask-smorest's doc() replaces the generated content, so the JSON form is declared here too.
PRISMA_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/Prisma"}},
    "image/svg+xml": {"schema": {"type": "string"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}},
}
blp = Blueprint("progress", __name__, url_prefix="/api/projects", description="Progress, export")


@blp.route("/<project>/progress")
class Progress(MethodView):
    @blp.response(200, ProgressSchema)
    @blp.problems(404)
    def get(self, project: str) -> dict:
        """PRISMA-style counts of final decisions (identified per file, duplicates removed,
        screened, included, excluded by reason, per theme), per stage with conflicts, records
        awaiting a second decision, the caller's own counts (``mine``) and the reviewers'
        agreement (percent and Cohen's kappa); the recall curve so far, and the estimate of
        relevant records remaining with its interval."""
        access = project_access(project)
        return current_app.extensions["screenwise"].progress_report(
            access.project.project_id, viewer=access.viewer
        )


@blp.route("/<project>/prisma")
class Prisma(MethodView):
    @blp.arguments(PrismaQuerySchema, location="query")
    @blp.response(200, PrismaSchema)
    @blp.doc(
        responses={"200": {"description": "The counts or the diagram", "content": PRISMA_CONTENT}}
    )
    @blp.problems(404)
    def get(self, args: dict, project: str) -> Response | dict:
        """The PRISMA 2020 flow diagram from the project's final decisions: its counts as
        JSON (``format=json``), or drawn as SVG (text kept as text) or PNG."""
        access = project_access(project)
        service = current_app.extensions["screenwise"]
        counts = review.prisma_counts(service.store, access.project.project_id)
        if args["format"] == "json":
            return review.prisma_dict(counts)
        if args["format"] == "svg":
            return Response(render_svg(counts), mimetype="image/svg+xml")
        return Response(render_png(counts), mimetype="image/png")


@blp.route("/<project>/export")
class Export(MethodView):
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "The export file", "content": EXPORT_CONTENT}})
    @blp.problems(403, 404)
    def get(self, args: dict, project: str) -> Response:
        """The project's records with their final decisions, reviewer, themes and notes, as
        CSV (safe against spreadsheet formulas) or RIS; re-importing either restores the
        decisions. A record not final yet has no decision here. Maintainers only."""
        access = project_access(project, "maintainer")
        service = current_app.extensions["screenwise"]
        filename, media_type, text = service.export(
            access.project.project_id,
            args["format"],
            actor=access.name,
            study_type=args.get("study_type"),
        )
        return Response(
            text,
            mimetype=media_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

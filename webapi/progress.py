"""``/api/projects/<project>/progress`` and ``/export``: where screening stands, and its result."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView

from .schemas import Blueprint, ExportQuerySchema, ProgressSchema
from .writers import MEDIA_TYPES

EXPORT_CONTENT = {media_type: {"schema": {"type": "string"}} for media_type in MEDIA_TYPES.values()}
blp = Blueprint("progress", __name__, url_prefix="/api/projects", description="Progress, export")


@blp.route("/<project>/progress")
class Progress(MethodView):
    @blp.response(200, ProgressSchema)
    @blp.problems(404)
    def get(self, project: str) -> dict:
        """PRISMA-style counts (identified per file, duplicates removed, screened, included,
        excluded by reason, per theme), the recall curve so far, and the estimate of relevant
        records remaining with its interval."""
        return current_app.extensions["screenwise"].progress_report(project)


@blp.route("/<project>/export")
class Export(MethodView):
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "The export file", "content": EXPORT_CONTENT}})
    @blp.problems(404)
    def get(self, args: dict, project: str) -> Response:
        """The project's records with decisions, reviewer, themes and notes, as CSV (safe
        against spreadsheet formulas) or RIS; re-importing either restores the decisions."""
        service = current_app.extensions["screenwise"]
        filename, media_type, text = service.export(project, args["format"])
        return Response(
            text,
            mimetype=media_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

"""Study types and the evidence map: ``/api/projects/<project>/study-types``,
``.../records/<id>/study-type`` and ``.../evidence-map``."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView

from . import evidence_map
from .access import project_access
from .schemas import (
    Blueprint,
    EvidenceMapSchema,
    EvidenceQuerySchema,
    RecordSchema,
    StudyTypeFacetSchema,
    StudyTypeUpdateSchema,
)

blp = Blueprint(
    "evidence", __name__, url_prefix="/api/projects", description="Study types and evidence map"
)

EVIDENCE_CONTENT = {
    "application/json": {"schema": EvidenceMapSchema},
    "text/csv": {"schema": {"type": "string"}},
    "image/svg+xml": {"schema": {"type": "string"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}},
}


@blp.route("/<project>/study-types")
class StudyTypes(MethodView):
    @blp.response(200, StudyTypeFacetSchema(many=True))
    @blp.problems(404)
    def get(self, project: str) -> list[dict]:
        """The project's records per study type (every type, then those not typed yet while
        an import runs): the counts beside the study-type filter."""
        access = project_access(project)
        return current_app.extensions["screenwise"].study_type_facets(access.project.project_id)


@blp.route("/<project>/records/<int:record_id>/study-type")
class RecordStudyType(MethodView):
    @blp.arguments(StudyTypeUpdateSchema)
    @blp.response(200, RecordSchema)
    @blp.problems(400, 403, 404)
    def patch(self, args: dict, project: str, record_id: int) -> dict:
        """Correct a record's study type (``source`` becomes ``reviewer``: no classifier pass
        replaces it); audited. Any member who screens (reviewers and up)."""
        access = project_access(project)
        return current_app.extensions["screenwise"].correct_study_type(
            access.project.project_id, record_id, args["study_type"], actor=access.name
        )


@blp.route("/<project>/evidence-map")
class EvidenceMap(MethodView):
    @blp.arguments(EvidenceQuerySchema, location="query")
    @blp.response(200, EvidenceMapSchema)
    @blp.doc(responses={"200": {"description": "The map", "content": EVIDENCE_CONTENT}})
    @blp.problems(404)
    def get(self, args: dict, project: str) -> Response | dict:
        """Included records counted by theme and study type (``by=year``: by year), with the
        per-theme counts (overlapping: a record counts under each of its themes), as JSON,
        CSV or a heat map (SVG, its text kept as text, or PNG)."""
        access = project_access(project)
        data = current_app.extensions["screenwise"].evidence_map(
            access.project.project_id, by=args["by"], stage=args["stage"]
        )
        fmt = args["format"]
        if fmt == "json":
            return data
        if fmt == "csv":
            return Response(
                evidence_map.to_csv(data),
                mimetype="text/csv",
                headers={
                    "Content-Disposition": f'attachment; filename="evidence-map-{args["by"]}.csv"'
                },
            )
        if fmt == "svg":
            return Response(evidence_map.render_svg(data), mimetype="image/svg+xml")
        return Response(evidence_map.render_png(data), mimetype="image/png")

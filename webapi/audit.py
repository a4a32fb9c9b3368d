"""``/api/projects/<project>/audit`` and ``/api/audit``: the audit trail, read and exported."""

from __future__ import annotations

from flask import Response, current_app
from flask.views import MethodView

from . import review
from .access import project_access, require_admin
from .schemas import AuditEventSchema, AuditQuerySchema, Blueprint

# flask-smorest's doc() replaces the generated content, so the JSON form is declared here too.
AUDIT_CONTENT = {
    "application/json": {
        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"}}
    },
    "text/csv": {"schema": {"type": "string"}},
}
AUDIT_DOC = {"200": {"description": "The events, as JSON or CSV", "content": AUDIT_CONTENT}}
blp = Blueprint("audit", __name__, url_prefix="/api", description="Audit trail")


def _answer(events: list, fmt: str, name: str) -> Response | list:
    if fmt == "json":
        return events
    return Response(
        review.audit_csv(events),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-audit.csv"'},
    )


@blp.route("/projects/<project>/audit")
class ProjectAudit(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEventSchema(many=True))
    @blp.doc(responses=AUDIT_DOC)
    @blp.problems(403, 404)
    def get(self, args: dict, project: str) -> Response | list:
        """Every event of the project, oldest first: who did what when (imports, decisions and
        their changes, resolutions, retraining, exports, members, settings). Nothing in it is
        ever changed or deleted. As JSON, or as CSV to keep (``format=csv``). Maintainers
        only; in blind double screening a decision's label is left out until the caller may
        see it."""
        access = project_access(project, "maintainer")
        service = current_app.extensions["screenwise"]
        pid = access.project.project_id
        events = review.audit_events(service.store, pid, access.viewer)
        if args["format"] == "csv":
            service.store.log(pid, access.name, "audit.export", events=len(events))
        return _answer(events, args["format"], f"project-{pid}")


@blp.route("/audit")
class InstanceAudit(MethodView):
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEventSchema(many=True))
    @blp.doc(responses=AUDIT_DOC)
    @blp.problems(403)
    def get(self, args: dict) -> Response | list:
        """Events outside any project: reviewers created, tokens created and revoked.
        Administrators only."""
        require_admin("read the instance's audit trail")
        events = current_app.extensions["screenwise"].store.audit(None)
        return _answer(events, args["format"], "screenwise")

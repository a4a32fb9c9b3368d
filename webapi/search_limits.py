"""``/api/projects/<project>/limits``: how the records stand against the protocol's search
limits, and the maintainer's one action that excludes the unscreened records outside them.
The protocol itself is a project setting (``PATCH /api/projects/<project>`` with
``protocol``)."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from .access import project_access
from .schemas import Blueprint, LimitsApplySchema, LimitsReportSchema

blp = Blueprint("limits", __name__, url_prefix="/api/projects", description="Search limits")


@blp.route("/<project>/limits")
class LimitsReport(MethodView):
    @blp.response(200, LimitsReportSchema)
    @blp.problems(404)
    def get(self, project: str) -> dict:
        """The protocol (search string, searches, limits) and how the records stand against
        its limits: within, outside, unknown (a record without the year or language a limit
        needs is never outside on that account), how many the automation has removed, how
        many outside records wait for the maintainer's action, and how many a reviewer has
        screened already."""
        access = project_access(project)
        store = current_app.extensions["screenwise"].store
        return store.limits_report(access.project.project_id) | {
            "protocol": access.project.settings.get("protocol") or {}
        }


@blp.route("/<project>/limits/apply")
class ApplyLimits(MethodView):
    @blp.response(200, LimitsApplySchema)
    @blp.problems(403, 404)
    def post(self, project: str) -> dict:
        """Exclude every record outside the search limits that nobody has screened, in one
        transaction, with the reason "outside search limits" (decisions of the automation
        reviewer ``automation:search-limits``, counted by PRISMA as removed before screening,
        never learnt from), and withdraw its exclusions that the current limits no longer
        justify. Idempotent; audited (``limits.apply``). Maintainers only."""
        access = project_access(project, "maintainer")
        store = current_app.extensions["screenwise"].store
        return store.apply_limits(access.project.project_id, actor=access.name)

"""``/api/projects``: create, list, read, configure and archive screening projects."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from .access import project_access, require_admin, visible_projects
from .schemas import (
    Blueprint,
    ProjectCreateSchema,
    ProjectSchema,
    ProjectUpdateSchema,
    ThemeSchema,
    ThemeUpdateSchema,
)

blp = Blueprint("projects", __name__, url_prefix="/api/projects", description="Projects")


def _settings(args: dict[str, Any]) -> dict[str, Any] | None:
    """The settings given in a request (the others stay as they are)."""
    given = {
        k: args[k] for k in ("exclusion_reasons", "stopping", "protocol") if args.get(k) is not None
    }
    return given or None


@blp.route("")
class Projects(MethodView):
    @blp.response(200, ProjectSchema(many=True))
    def get(self) -> list:
        """The projects the caller belongs to (an administrator: every one), oldest first,
        each with the caller's role."""
        return [p.to_dict() | {"role": role} for p, role in visible_projects()]

    @blp.arguments(ProjectCreateSchema)
    @blp.response(201, ProjectSchema)
    @blp.problems(403, 409)
    def post(self, args: dict) -> dict:
        """Create a project (administrators only): a name, the review question or inclusion
        criteria, themes, the screening mode (single, or blind double screening) and the
        exclusion reasons per stage. The creator becomes its maintainer.

        The name must be unique, archived projects' included, and not a number (numbers in
        URLs are project ids).
        """
        who = require_admin("create projects")
        project = current_app.extensions["screenwise"].create_project(
            args["name"],
            args["question"],
            args["themes"],
            mode=args["mode"],
            settings=_settings(args),
            actor=who.name,
            maintainer=who.name,
        )
        return project.to_dict() | {"role": "maintainer"}


@blp.route("/<project>")
class Project(MethodView):
    @blp.response(200, ProjectSchema)
    @blp.problems(404)
    def get(self, project: str) -> dict:
        """One project, by id or name."""
        access = project_access(project)
        return access.project.to_dict() | {"role": access.role}

    @blp.arguments(ProjectUpdateSchema)
    @blp.response(200, ProjectSchema)
    @blp.problems(403, 404, 409)
    def patch(self, args: dict, project: str) -> dict:
        """Change the question, the exclusion reasons per stage, or the screening mode (only
        before anyone has screened: 409 after). Maintainers only."""
        access = project_access(project, "maintainer")
        updated = current_app.extensions["screenwise"].store.update_project(
            access.project.project_id,
            mode=args.get("mode"),
            settings=_settings(args),
            question=args.get("question"),
            actor=access.name,
        )
        return updated.to_dict() | {"role": access.role}

    @blp.response(204)
    @blp.problems(403, 404, 409)
    def delete(self, project: str) -> None:
        """Archive a project (maintainers only): it disappears from every list and answers
        404, while its records, decisions and audit trail stay in the store. Its index and
        models are removed (409 while it retrains)."""
        access = project_access(project, "maintainer")
        current_app.extensions["screenwise"].delete_project(
            access.project.project_id, actor=access.name
        )


@blp.route("/<project>/themes")
class ProjectThemes(MethodView):
    @blp.arguments(ThemeSchema)
    @blp.response(201, ProjectSchema)
    @blp.problems(403, 404, 409)
    def post(self, theme: Any, project: str) -> dict:
        """Add a theme (a name and a description of what it covers) after the project's
        others. Maintainers only; 409 when the name is taken."""
        access = project_access(project, "maintainer")
        updated = current_app.extensions["screenwise"].add_theme(
            access.project.project_id, theme.name, theme.description, actor=access.name
        )
        return updated.to_dict() | {"role": access.role}

    @blp.arguments(ThemeUpdateSchema)
    @blp.response(200, ProjectSchema)
    @blp.problems(403, 404, 409)
    def patch(self, args: dict, project: str) -> dict:
        """Rename the theme named ``theme`` or change its description. A rename keeps its
        labels (records labelled with it are labelled with the new name; the old labels stay
        in the history). Maintainers only; 404 for an unknown theme, 409 when the new name is
        taken."""
        access = project_access(project, "maintainer")
        updated = current_app.extensions["screenwise"].update_theme(
            access.project.project_id,
            args["theme"],
            name=args.get("name"),
            description=args.get("description"),
            actor=access.name,
        )
        return updated.to_dict() | {"role": access.role}

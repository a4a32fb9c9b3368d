"""``/api/health``: is the server up; with a valid token also its version, home folder,
embedding model and number of projects."""

from __future__ import annotations

from importlib import metadata

from flask import current_app
from flask.views import MethodView

from .access import bearer_reviewer
from .schemas import Blueprint, HealthSchema

blp = Blueprint("health", __name__, url_prefix="/api", description="Server health", public=True)


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict:
        """Report that the server answers. Only with a valid token (the check needs none) also
        its version, home folder, embedding model and number of projects: an anonymous caller
        learns nothing about the machine."""
        if bearer_reviewer() is None:
            return {"status": "ok"}
        service = current_app.extensions["screenwise"]
        return {
            "status": "ok",
            "version": metadata.version("screenwise"),
            "home": str(service.home),
            "embedding_model": service.model,
            "projects": len(service.store.projects()),
        }

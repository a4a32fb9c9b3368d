"""``/api/health``: is the server up, and where does it keep its data."""

from __future__ import annotations

from importlib import metadata

from flask import current_app
from flask.views import MethodView

from .schemas import Blueprint, HealthSchema

blp = Blueprint("health", __name__, url_prefix="/api", description="Server health", public=True)


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict:
        """Report that the server answers, its version, home folder and embedding model."""
        service = current_app.extensions["screenwise"]
        return {
            "status": "ok",
            "version": metadata.version("screenwise"),
            "home": str(service.home),
            "embedding_model": service.model,
            "projects": len(service.store.projects()),
        }

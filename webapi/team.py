"""The people of a screenwise: ``/api/me``, reviewers and their tokens (administrators, or a
reviewer for their own tokens), and ``/api/projects/<project>/members`` (maintainers)."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from index.errors import ValidationError

from .access import (
    Forbidden,
    caller,
    new_token,
    project_access,
    require_admin,
    token_hash,
    visible_projects,
)
from .schemas import (
    Blueprint,
    MemberSchema,
    MemberSetSchema,
    MeSchema,
    NewTokenSchema,
    ReviewerCreateSchema,
    ReviewerSchema,
    TokenCreateSchema,
    TokenSchema,
)

blp = Blueprint("team", __name__, url_prefix="/api", description="Reviewers and members")


def _store():
    return current_app.extensions["screenwise"].store


def _self_or_admin(name: str, what: str) -> None:
    who = caller()
    if who.name != name and not who.is_admin:
        raise Forbidden(f"only {name} or an administrator may {what}")


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self) -> dict:
        """Who the token belongs to, and their projects with their role in each: what a
        login checks."""
        who = caller()
        return who.to_dict() | {
            "projects": [
                {"project_id": p.project_id, "name": p.name, "mode": p.mode, "role": role}
                for p, role in visible_projects()
            ]
        }


@blp.route("/reviewers")
class Reviewers(MethodView):
    @blp.response(200, ReviewerSchema(many=True))
    @blp.problems(403)
    def get(self) -> list:
        """Every reviewer of this screenwise. Administrators only."""
        require_admin("list reviewers")
        return [r.to_dict() for r in _store().reviewers()]

    @blp.arguments(ReviewerCreateSchema)
    @blp.response(201, ReviewerSchema)
    @blp.problems(403, 409)
    def post(self, args: dict) -> dict:
        """Create a reviewer (administrators only); give them a token next."""
        who = require_admin("create reviewers")
        return _store().create_reviewer(args["name"], is_admin=args["is_admin"], actor=who.name)


@blp.route("/reviewers/<name>/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenSchema(many=True))
    @blp.problems(403, 404)
    def get(self, name: str) -> list:
        """A reviewer's tokens (never the secrets), revoked ones included. The reviewer
        themselves or an administrator."""
        _self_or_admin(name, "list these tokens")
        _store().reviewer(name)
        return _store().tokens(name)

    @blp.arguments(TokenCreateSchema)
    @blp.response(201, NewTokenSchema)
    @blp.problems(403, 404)
    def post(self, args: dict, name: str) -> dict:
        """A new API token for the reviewer, shown in this answer only (the server keeps its
        SHA-256). The reviewer themselves or an administrator."""
        _self_or_admin(name, "create tokens for this reviewer")
        if not request.get_data(cache=True).strip():
            # The body is required (as documented): a new credential is asked for explicitly.
            raise ValidationError('send a JSON body, e.g. {"label": "laptop"}', field="label")
        token = new_token()
        row = _store().add_token(name, token_hash(token), label=args["label"], actor=caller().name)
        return row | {"token": token}


@blp.route("/tokens/<int:token_id>")
class Token(MethodView):
    @blp.response(200, TokenSchema)
    @blp.problems(403, 404)
    def delete(self, token_id: int) -> dict:
        """Revoke a token: requests carrying it get 401 from now on. Its owner or an
        administrator; 404 for a token already revoked."""
        token = _store().token(token_id)
        who = caller()
        if token["reviewer"] != who.name and not who.is_admin:
            # Not the caller's token: whose it is stays unsaid.
            raise Forbidden("only the token's owner or an administrator may revoke it")
        return _store().revoke_token(token_id, actor=caller().name)


@blp.route("/projects/<project>/members")
class Members(MethodView):
    @blp.response(200, MemberSchema(many=True))
    @blp.problems(404)
    def get(self, project: str) -> list:
        """The project's members and their roles."""
        access = project_access(project)
        return _store().members(access.project.project_id)


@blp.route("/projects/<project>/members/<name>")
class Member(MethodView):
    @blp.arguments(MemberSetSchema)
    @blp.response(200, MemberSchema(many=True))
    @blp.problems(403, 404)
    def put(self, args: dict, project: str, name: str) -> list:
        """Add an existing reviewer to the project, or change their role (reviewer, resolver,
        maintainer). Maintainers only; answers the members."""
        access = project_access(project, "maintainer")
        pid = access.project.project_id
        _store().set_member(pid, name, args["role"], actor=access.name)
        return _store().members(pid)

    @blp.response(204)
    @blp.problems(403, 404, 409)
    def delete(self, project: str, name: str) -> None:
        """Remove a reviewer from the project (their decisions stay). Maintainers only; 409
        for the last maintainer."""
        access = project_access(project, "maintainer")
        _store().remove_member(access.project.project_id, name, actor=access.name)

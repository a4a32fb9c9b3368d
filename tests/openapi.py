"""A Flask test client that checks every ``/api`` response against the app's own OpenAPI
document: the status must be documented for that operation, the media type listed, and a JSON
body must match the response schema (OpenAPI 3.0 subset: ``$ref``, ``allOf``, ``type``,
``nullable``, ``enum``, ``properties``, ``required``, ``items``, ``additionalProperties``).
Members a schema does not declare are errors, so the document cannot fall behind the code.
"""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException

_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class SpecError(AssertionError):
    pass


def _resolve(node: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def check(instance: Any, schema: dict[str, Any], spec: dict[str, Any], where: str = "$") -> None:
    """Raise ``SpecError`` naming the first place where ``instance`` breaks ``schema``."""
    schema = _resolve(schema, spec)
    if instance is None:
        if not schema.get("nullable") and "type" in schema:
            raise SpecError(f"{where}: null where the document says {schema['type']}")
        return
    for part in schema.get("allOf", []):
        check(instance, part, spec, where)
    kind = schema.get("type")
    if kind:
        expected = _TYPES[kind]
        if not isinstance(instance, expected) or (
            isinstance(instance, bool) and kind in ("integer", "number")
        ):
            raise SpecError(f"{where}: {type(instance).__name__} where the document says {kind}")
    if "enum" in schema and instance not in schema["enum"]:
        raise SpecError(f"{where}: {instance!r} is not one of {schema['enum']}")
    if isinstance(instance, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key, value in instance.items():
            if properties is not None and key in properties:
                check(value, properties[key], spec, f"{where}.{key}")
            elif isinstance(additional, dict):
                check(value, additional, spec, f"{where}.{key}")
            elif properties is not None and additional is not True:
                raise SpecError(f"{where}: member {key!r} is not in the document")
        for key in schema.get("required", []):
            if key not in instance:
                raise SpecError(f"{where}: required member {key!r} is missing")
    if isinstance(instance, list) and "items" in schema:
        for number, item in enumerate(instance):
            check(item, schema["items"], spec, f"{where}[{number}]")


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: ``/records/<int:record_id>`` -> ``/records/{record_id}``"""
    return _RULE_ARGUMENT.sub(r"{\1}", rule)


class SpecCheckingClient(FlaskClient):
    """Checks each ``/api`` response against the document; ``seen`` collects
    ``(path, method, status)`` of every checked response."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: set[tuple[str, str, int]] = set()
        self._spec: dict[str, Any] | None = None

    @property
    def spec(self) -> dict[str, Any]:
        if self._spec is None:
            self._spec = super().open("/api/openapi.json").get_json()
        return self._spec

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        response = super().open(*args, **kwargs)
        request = response.request
        # werkzeug's test client spools a large request body to a temporary file it never
        # closes; close it here rather than leave it to the garbage collector.
        request.environ["wsgi.input"].close()
        if request.path.startswith("/api/") and request.path != "/api/openapi.json":
            self._check(request.path, request.method, response)
        return response

    def _check(self, path: str, method: str, response: Any) -> None:
        adapter = self.application.url_map.bind("localhost")
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except HTTPException:
            # No such route: the app must still answer with a problem document.
            check(response.get_json(), self.spec["components"]["schemas"]["Problem"], self.spec)
            assert response.mimetype == "application/problem+json", response.mimetype
            return
        route = openapi_path(rule.rule)
        operation = self.spec["paths"][route][method.lower()]
        status = response.status_code
        documented = operation["responses"].get(str(status))
        if documented is None and status == 500:
            documented = operation["responses"].get("default")
        if documented is None:
            raise SpecError(f"{method} {route} answered {status}, not in the document")
        documented = _resolve(documented, self.spec)
        self.seen.add((route, method.lower(), status))
        content = documented.get("content")
        if not content:
            assert not response.data, f"{method} {route} {status}: body where none is documented"
            return
        if response.mimetype not in content:
            raise SpecError(
                f"{method} {route} {status}: {response.mimetype} not in {sorted(content)}"
            )
        if response.mimetype.endswith("json"):
            check(
                response.get_json(),
                content[response.mimetype]["schema"],
                self.spec,
                f"{method} {route} {status}",
            )

    def operations(self) -> set[tuple[str, str]]:
        """Every (path, method) the document lists."""
        return {
            (path, method)
            for path, item in self.spec["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        }

"""The OpenAPI 3.1 document of the HTTP API, built from the Api's route table.

Every rule of the Klein url_map is one operation, described by what its `Api.route` declared
(`Declared`): its path parameters, query parameters, JSON body (the schema its parser in
http/rest/bodies.py is declared with), success statuses, the error statuses the contract's
conventions give it, and whether the session cookie is needed. Nothing is written here by hand
per route, so the document lists exactly what is routed.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from socialhub import __version__
from socialhub.auth.tokens import COOKIE_NAME
from socialhub.http.api import STATE_CHANGING, Api, Declared, route_pattern
from socialhub.http.schemas import BODIES, ID, Param, Schema

_PATH_PARAMETER = re.compile(r"{([^}]+)}")
_ERROR_REF = {"$ref": "#/components/responses/Error"}
_ERROR: Schema = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
}
_UPLOAD: Schema = {
    "required": True,
    "content": {
        "image/*": {"schema": {"type": "string", "contentMediaType": "image/*"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "contentMediaType": "image/*"}},
                "required": ["file"],
            }
        },
    },
}
_COMPONENTS = {
    "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": COOKIE_NAME}},
    "schemas": {"Error": _ERROR},
    "responses": {
        "Error": {
            "description": "the contract's error body",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    },
}


def document(api: Api) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route `api` serves: a copy of its own, since the
    schemas in it are the declarations' objects."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in api.app.url_map.iter_rules():
        declared = api.declared[rule.endpoint]
        method, path = rule.endpoint.split(" ", 1)
        pattern = route_pattern(path)
        operations = paths.setdefault(pattern, {})
        operations[method.lower()] = _operation(method, pattern, declared)
    openapi = {
        "openapi": "3.1.0",
        "info": {"title": "socialhub", "version": __version__},
        "paths": dict(sorted(paths.items())),
        "components": _COMPONENTS,
    }
    return copy.deepcopy(openapi)


def _operation(method: str, pattern: str, declared: Declared) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [pattern.split("/")[2] if pattern.startswith("/api/") else "operations"],
        "security": [{"session": []}] if declared.auth else [],
        "parameters": _path_parameters(pattern) + [_query_parameter(p) for p in declared.query],
        "responses": {
            **{str(status): {"description": "success"} for status in declared.ok},
            **{str(status): _ERROR_REF for status in _error_statuses(method, declared)},
        },
    }
    if declared.raw_body:
        operation["requestBody"] = _UPLOAD
    elif declared.body is not None:
        operation["requestBody"] = _json_body(BODIES[declared.body])
    return operation


def _path_parameters(pattern: str) -> list[dict[str, Any]]:
    """Each `{name}` of the path: an id when it is named `*_id`, otherwise a string."""
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": ID if name.endswith("_id") else {"type": "string"},
        }
        for name in _PATH_PARAMETER.findall(pattern)
    ]


def _query_parameter(param: Param) -> dict[str, Any]:
    parameter = {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "schema": param.schema,
    }
    if param.comma_separated:
        parameter.update(style="form", explode=False)
    return parameter


def _json_body(schema: Schema) -> dict[str, Any]:
    """A JSON body, required when it has required fields (an empty body reads as {})."""
    return {
        "required": bool(schema.get("required")),
        "content": {"application/json": {"schema": schema}},
    }


def _error_statuses(method: str, declared: Declared) -> list[int]:
    """What the contract's conventions (http/api.py) may answer any such route with: a bad
    parameter 400, a refusal 403, an unknown resource 404, a rate limit 429, the database gone
    503; without a session 401; for a body, a conflict 409, too large 413, the wrong type 415;
    and the route's own `refusals`."""
    statuses = [400, 403, 404, 429, 503, *declared.refusals]
    if declared.auth:
        statuses.append(401)
    if method in STATE_CHANGING:
        statuses += [409, 413, 415]
    return sorted(set(statuses))

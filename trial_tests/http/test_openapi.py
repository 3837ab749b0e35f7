"""GET /api/openapi.json: served without a session, valid OpenAPI 3.1, one operation per rule
of the route table and nothing else, and each JSON body's schema accepted by its parser."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.generation import GenerationMode
from twisted.trial.unittest import TestCase

from socialhub.errors import InvalidRequest
from socialhub.http.api import Api
from socialhub.http.openapi import document
from socialhub.http.schemas import BODIES
from trial_tests.support.harness import SqliteEngine, start_server
from trial_tests.support.mixins import EngineTestMixin

METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


def routed(api: Api) -> set[tuple[str, str]]:
    """(METHOD, path) of every rule of the Klein url_map, paths as OpenAPI writes them."""
    return {
        (method, rule.rule.replace("<", "{").replace(">", "}"))
        for rule in api.app.url_map.iter_rules()
        for method in (rule.methods or set()) & METHODS
    }


def documented(openapi: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in openapi["paths"].items()
        for method in operations
    }


def whole(value: Any) -> Any:
    """`value` with each integral float an int: JSON Schema's "integer" allows 1.0, which the
    contract refuses and the schema's description says so (schemas.WHOLE)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole(item) for item in value]
    if isinstance(value, dict):
        return {key: whole(item) for key, item in value.items()}
    return value


def refusals(parsed: object) -> list[InvalidRequest]:
    """The refusals a parser returned for its handler to raise (commands.Refusable), nested."""
    if isinstance(parsed, InvalidRequest):
        return [parsed]
    fields = getattr(parsed, "__dataclass_fields__", {})
    return [found for name in fields for found in refusals(getattr(parsed, name))]


class OpenApiTests(EngineTestMixin):
    # A bound, not a measure: the generated bodies take a minute alone, more on a busy machine.
    timeout = 600

    async def test_served_and_valid(self) -> None:
        """Anyone may read it; it is valid OpenAPI 3.1 and lists exactly the routed rules."""
        running = await start_server(self, self.engine)
        response = await running.client().get("/api/openapi.json")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.headers.getRawHeaders("content-type"), ["application/json"])
        self.assertEqual(response.headers.getRawHeaders("cache-control"), ["public, max-age=300"])
        openapi = response.json
        self.assertEqual(openapi["openapi"], "3.1.0")
        validate(openapi)
        api = running.server.api
        self.assertEqual(documented(openapi), routed(api))
        self.assertIn(("GET", "/api/openapi.json"), routed(api))
        self.assertGreater(len(routed(api)), 80)

    async def test_operations(self) -> None:
        """Statuses, parameters, the session cookie and the error body come from the route."""
        running = await start_server(self, self.engine)
        openapi = (await running.client().get("/api/openapi.json")).json
        post = openapi["paths"]["/api/posts"]["post"]
        self.assertEqual(post["security"], [{"session": []}])
        self.assertEqual(
            sorted(post["responses"]),
            ["201", "400", "401", "403", "404", "409", "413", "415", "429", "503"],
        )
        body = post["requestBody"]["content"]["application/json"]["schema"]
        self.assertEqual(body["required"], ["content"])
        self.assertEqual(body["properties"]["content"]["maxLength"], 10_000)
        login = openapi["paths"]["/api/auth/login"]["post"]
        self.assertEqual(login["security"], [])
        self.assertIn("401", login["responses"])  # wrong credentials, though no session is needed
        registration = openapi["paths"]["/api/auth/registration"]["get"]
        self.assertNotIn("401", registration["responses"])
        follow = openapi["paths"]["/api/users/{user_id}/follow"]["post"]["responses"]
        self.assertLessEqual({"200", "201", "202"}, set(follow))
        presence = openapi["paths"]["/api/presence"]["get"]["parameters"]
        self.assertEqual(
            presence[0] | {"schema": None},
            {
                "name": "users",
                "in": "query",
                "required": True,
                "schema": None,
                "style": "form",
                "explode": False,
            },
        )
        search = openapi["paths"]["/api/users"]["get"]["parameters"]
        self.assertEqual([p["name"] for p in search], ["q", "limit", "offset"])
        self.assertIn("image/*", openapi["paths"]["/api/media"]["post"]["requestBody"]["content"])
        cookie = openapi["components"]["securitySchemes"]["session"]
        self.assertEqual(cookie, {"type": "apiKey", "in": "cookie", "name": "socialhub_session"})

    async def test_bodies_accepted_by_their_parsers(self) -> None:
        """Every body the schema allows passes its parser (business rules aside): the schema
        is no stricter nor looser in shape than the checks of validation.py say."""
        running = await start_server(self, self.engine)
        api: Api = running.server.api
        schema = schemathesis.openapi.from_dict(document(api))
        parsers = {
            (method, path): declared.body
            for endpoint, declared in api.declared.items()
            if declared.body is not None
            for method, path in [endpoint.split(" ", 1)]
        }
        self.assertEqual(set(parsers.values()), set(BODIES))
        for (method, path), parse in parsers.items():
            operation = schema[path.replace("<", "{").replace(">", "}")][method]
            self.accepted(operation, parse)

    def accepted(self, operation: Any, parse: Any) -> None:
        @settings(
            max_examples=40,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        def check(case: Any) -> None:
            body = whole(case.body) if isinstance(case.body, dict) else {}
            try:
                parsed = parse(body)
            except InvalidRequest as error:
                raise AssertionError(f"{operation.label}: {body!r} refused: {error}") from None
            self.assertEqual(refusals(parsed), [], f"{operation.label}: {body!r}")

        check()


class OpenApiSqliteTests(SqliteEngine, OpenApiTests, TestCase):
    pass

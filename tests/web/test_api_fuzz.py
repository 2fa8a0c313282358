"""Schemathesis generates requests from the API's own OpenAPI schema, valid and not:
none may end in a server error, and every documented answer matches its schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from assistant.config import Settings
from assistant.interfaces.web.app import create_app
from tests.web.conftest import Team

# Loaded when the module is imported; the database is chosen per request, so each test
# example runs against the fresh database of the `teams` fixture.
schema = schemathesis.openapi.from_asgi(
    "/api/v1/openapi.json", create_app(Settings(secret_key=SecretStr("fuzz" * 8))))


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_api_fail(case: schemathesis.Case,
                                       teams: tuple[Team, Team]) -> None:
    case.call_and_validate(headers=teams[0].admin.headers,
                           checks=[not_a_server_error, response_schema_conformance])

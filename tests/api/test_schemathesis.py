"""Property-based fuzzing of the /v2 slice against the server's own OpenAPI document: no input
makes it fail with a 5xx, and every answer matches what the document declares."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ninja_oauth.store.db import Store

from .conftest import build_app, front_door

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The document is the app's; the app is built at import (schemathesis parametrizes at
# collection) and each test points it at that test's database.
API = build_app(Store("sqlite://"))
schema = schemathesis.openapi.from_asgi("/openapi.json", front_door(API)).include(
    path_regex="^/v2/"
)


@pytest.fixture(autouse=True)
def _this_tests_database(store: Store) -> None:
    API.app.state.store = store


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_input_breaks_the_v2_slice_or_its_own_schema(
    case: Any, everything: dict[str, str]
) -> None:
    case.call_and_validate(headers=everything, checks=CHECKS)

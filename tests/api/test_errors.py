"""Bad input on /v2 is a 400 naming the field, and only /v2 answers that way."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "description"),
    [
        ("/v2/devices?pageSize=abc",
         "pageSize: Input should be a valid integer, unable to parse string as an integer"),
        ("/v2/devices?pageSize=0", "pageSize: Input should be greater than or equal to 1"),
        ("/v2/organizations?after=99999999999",
         "after: Input should be less than or equal to 2147483647"),
        ("/v2/device/99999999999", "id: Input should be less than or equal to 2147483647"),
        ("/v2/device/abc",
         "id: Input should be a valid integer, unable to parse string as an integer"),
    ],
    ids=["not a number", "zero page", "after beyond int32", "id beyond int32", "id not a number"],
)  # fmt: skip
def test_a_bad_parameter_is_a_400_naming_it(
    client: TestClient, monitoring: dict[str, str], path: str, description: str
) -> None:
    response = client.get(path, headers=monitoring)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_a_body_that_is_not_json_is_a_400(client: TestClient, management: dict[str, str]) -> None:
    response = client.post(
        "/v2/organizations",
        content=b"{not json",
        headers={**management, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "body: the request body is not valid JSON",
    }


def test_a_body_of_the_wrong_shape_names_the_nested_field(
    client: TestClient, management: dict[str, str]
) -> None:
    response = client.post(
        "/v2/organizations",
        json={"name": "X", "locations": [{"name": "A"}, {"name": ""}]},
        headers=management,
    )
    assert response.status_code == 400
    assert response.json()["error_description"] == (
        "locations.1.name: String should have at least 1 character"
    )


def test_the_openapi_document_declares_the_bearer_scheme_and_400_not_422(app: FastAPI) -> None:
    document = app.openapi()
    assert document["components"]["securitySchemes"]["oauth2"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from POST /ws/oauth/token. Reads need the monitoring "
        "scope, writes management, remote access control.",
    }
    operation = document["paths"]["/v2/device/{id}"]["patch"]
    assert operation["security"] == [{"oauth2": []}]
    assert set(operation["responses"]) == {"204", "4XX"}

"""Issue 12 over HTTP, on both stores: a client that proved its secret from an address is not
blocked by other callers' failures there (a shared NAT, a proxy); spraying guesses over many
clients from that address stays blocked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.flows import assert_oauth_error
from tests.support.server import LiveServer, start_server


@pytest.fixture(scope="module")
def nat(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Every request of these tests comes from 127.0.0.1: one address shared by all."""
    live = start_server(
        database_url,
        tmp_path_factory.mktemp("nat"),
        NINJA_OAUTH_CLIENT_AUTH_KEY_LIMIT="3",
        NINJA_OAUTH_CLIENT_AUTH_ADDRESS_LIMIT="6",
        NINJA_OAUTH_THROTTLE_BLOCK="30",
    )
    yield live
    live.stop()


def _token(live: LiveServer, app: dict[str, Any], secret: str | None = None) -> Any:
    with live.client() as http:
        return http.post(
            "/ws/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(app["client_id"], secret if secret is not None else app["client_secret"]),
        )


def test_a_client_that_proved_its_secret_gets_through_a_blocked_address(nat: LiveServer) -> None:
    proven = nat.create_app("api_services")
    unproven = nat.create_app("api_services")
    assert _token(nat, proven).status_code == 200
    # Someone behind the same address sprays guesses over client ids, two per id: under the
    # per-client limit (3) each time, and the sixth blocks the address (limit 6).
    with nat.client() as http:
        for attempt in range(6):
            response = http.post(
                "/ws/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(f"guess-{attempt // 2}", "x"),
            )
            assert_oauth_error(response, 401, "invalid_client")
        assert_oauth_error(
            http.post(
                "/ws/oauth/token", data={"grant_type": "client_credentials"}, auth=("guess-9", "x")
            ),
            429,
            "slow_down",
        )
    # The client that proved its secret from here keeps working...
    again = _token(nat, proven)
    assert again.status_code == 200, again.text
    # ...while one that never did waits, right secret or not: the spraying stays blocked.
    assert_oauth_error(_token(nat, unproven), 429, "slow_down")
    assert_oauth_error(_token(nat, unproven, "guess"), 429, "slow_down")

"""Throttling of failed client authentications (DESIGN §6): per (client, address) and per
address, the per-client limit lower, a 429 slow_down with Retry-After past it."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth.config import ThrottleLimits
from ninja_oauth.oauth.errors import FatalAuthorizeError
from ninja_oauth.oauth.responses import OAuthResponse
from ninja_oauth.oauth.throttling import Throttle, limited_address
from tests.oauth.fakes import FakeThrottle
from tests.oauth.harness import ADDRESS, Core, assert_oauth_error, basic

SLOW_DOWN = "Too many failed authentication attempts; retry after the delay in Retry-After."
WRONG_SECRET = "The client credentials are not valid: wrong client_secret."
LIMITS = ThrottleLimits(client_auth_key=3, client_auth_address=7, window=300, block=60)


def _attempt(core: Core, client_id: str, secret: str, address: str = ADDRESS) -> OAuthResponse:
    return core.token(
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        address=address,
    )


def _retry_after(response: OAuthResponse) -> str | None:
    return dict(response.headers).get("Retry-After")


@pytest.fixture
def core(core_factory: type[Core]) -> Core:
    return core_factory(limits=LIMITS)


def test_after_the_limit_of_failures_the_client_gets_429_slow_down_with_retry_after(
    core: Core,
) -> None:
    m2m = core.register_app("api_services")
    for _ in range(3):
        assert_oauth_error(_attempt(core, m2m.app.client_id, "wrong"), 400, "invalid_client")
    blocked = _attempt(core, m2m.app.client_id, "wrong")
    assert_oauth_error(blocked, 429, "slow_down", SLOW_DOWN)
    assert _retry_after(blocked) == "60"


def test_a_blocked_client_is_refused_even_with_the_right_secret(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    for _ in range(3):
        _attempt(core, m2m.app.client_id, "wrong")
    blocked = _attempt(core, m2m.app.client_id, m2m.client_secret)
    assert_oauth_error(blocked, 429, "slow_down", SLOW_DOWN)
    assert core.fakes.tokens.rows == []


def test_retry_after_counts_down_and_the_block_ends(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    for _ in range(3):
        _attempt(core, m2m.app.client_id, "wrong")
    core.clock.advance(45)
    assert _retry_after(_attempt(core, m2m.app.client_id, m2m.client_secret)) == "15"
    core.clock.advance(15)
    assert _attempt(core, m2m.app.client_id, m2m.client_secret).status == 200


def test_failing_again_after_a_block_doubles_the_next_block(core: Core) -> None:
    m2m = core.register_app("api_services")
    for _ in range(3):
        _attempt(core, m2m.app.client_id, "wrong")
    core.clock.advance(60)
    _attempt(core, m2m.app.client_id, "wrong")
    assert _retry_after(_attempt(core, m2m.app.client_id, "wrong")) == "120"


def test_a_guesser_retrying_as_each_block_ends_waits_twice_as_long_each_time(core: Core) -> None:
    """The doubling outlives the window: a block that ended less than a window ago carries the
    count on (a guesser that retries at once was held at 240 s, the count starting over with
    each window). A whole window quiet after the last block starts it over."""
    m2m = core.register_app("api_services")
    for _ in range(2):
        _attempt(core, m2m.app.client_id, "wrong")
    waits = []
    for _ in range(6):
        _attempt(core, m2m.app.client_id, "wrong")  # the failure that sets the next block
        wait = _retry_after(_attempt(core, m2m.app.client_id, "wrong"))
        assert wait is not None
        waits.append(int(wait))
        core.clock.advance(int(wait))
    assert waits == [60, 120, 240, 480, 960, 1920]
    core.clock.advance(300)
    assert_oauth_error(_attempt(core, m2m.app.client_id, "wrong"), 400, "invalid_client")


def test_failures_outside_the_window_start_the_count_again(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    for _ in range(2):
        _attempt(core, m2m.app.client_id, "wrong")
    core.clock.advance(300)
    _attempt(core, m2m.app.client_id, "wrong")
    assert _attempt(core, m2m.app.client_id, m2m.client_secret).status == 200


def test_a_successful_authentication_writes_only_its_pass_once_a_day(core: Core) -> None:
    # Issue 12: was "writes nothing"; a success now earns the (client, address) pair its pass,
    # written by the first success and renewed at most once a day, nothing on the others.
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    pass_key = Throttle.pass_key(m2m.app.client_id, ADDRESS)
    assert _attempt(core, m2m.app.client_id, m2m.client_secret).status == 200
    assert {k: (v.failures, v.window_start) for k, v in core.fakes.throttle.rows.items()} == {
        pass_key: (0, core.clock.now)
    }
    earned = core.clock.now
    core.clock.advance(3600)
    assert _attempt(core, m2m.app.client_id, m2m.client_secret).status == 200
    assert core.fakes.throttle.rows[pass_key].window_start == earned


def test_errors_other_than_invalid_client_are_not_counted(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    for _ in range(5):
        response = core.token(
            {
                "grant_type": "client_credentials",
                "scope": "bogus",
                "client_id": m2m.app.client_id,
                "client_secret": m2m.client_secret,
            }
        )
        assert_oauth_error(response, 400, "invalid_scope")
    # Nothing is counted (the one row is the pass its right secret earned).
    assert list(core.fakes.throttle.rows) == [Throttle.pass_key(m2m.app.client_id, ADDRESS)]


def test_a_blocked_client_does_not_lock_out_another_app_behind_the_same_address(
    core: Core,
) -> None:
    attacked = core.register_app("api_services")
    neighbour = core.register_app("api_services")
    assert neighbour.client_secret is not None
    for _ in range(3):
        _attempt(core, attacked.app.client_id, "wrong")
    assert _attempt(core, attacked.app.client_id, "wrong").status == 429
    assert _attempt(core, neighbour.app.client_id, neighbour.client_secret).status == 200


def test_the_same_client_from_another_address_is_not_blocked(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    for _ in range(3):
        _attempt(core, m2m.app.client_id, "wrong")
    assert _attempt(core, m2m.app.client_id, m2m.client_secret, "198.51.100.9").status == 200


def test_past_the_higher_per_address_limit_every_client_from_that_address_is_blocked(
    core: Core,
) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    # Seven failures spread over unknown client ids, none reaching the per-client limit of 3.
    for attempt in range(7):
        response = _attempt(core, f"guess-{attempt // 2}", "x")
        assert_oauth_error(
            response,
            400,
            "invalid_client",
            "The client credentials are not valid: unknown client_id.",
        )
    blocked = _attempt(core, m2m.app.client_id, m2m.client_secret)
    assert_oauth_error(blocked, 429, "slow_down", SLOW_DOWN)
    assert _attempt(core, m2m.app.client_id, m2m.client_secret, "198.51.100.9").status == 200


def test_the_default_per_client_limit_is_lower_than_the_per_address_limit() -> None:
    limits = ThrottleLimits()
    assert limits.client_auth_key < limits.client_auth_address
    assert limits.login_key < limits.login_address


def test_throttle_keys_separate_client_and_address_and_normalise_the_account() -> None:
    per_client, per_address = Throttle.client_keys("abc", "192.0.2.1")
    assert per_client.startswith("client:") and per_address.startswith("client-addr:")
    assert Throttle.client_keys("abd", "192.0.2.1")[0] != per_client
    assert Throttle.client_keys("abd", "192.0.2.1")[1] == per_address
    assert Throttle.client_keys("abc", "192.0.2.2")[1] != per_address
    assert Throttle.client_keys(None, "192.0.2.1")[0] not in (per_client, per_address)
    assert Throttle.login_keys("  Alice@Example.COM ", "192.0.2.1") == Throttle.login_keys(
        "alice@example.com", "192.0.2.1"
    )
    # Fixed length whatever is claimed, and no account name in clear.
    long_key = Throttle.login_keys("x" * 5000 + "@example.com", "192.0.2.1")[0]
    assert len(long_key) == len(Throttle.login_keys("a@b.c", "192.0.2.1")[0])
    assert "example" not in long_key


def test_the_claimed_client_of_a_basic_header_is_the_key_counted(core: Core) -> None:
    m2m = core.register_app("api_services")
    core.token({"grant_type": "client_credentials"}, headers=basic(m2m.app.client_id, "wrong"))
    per_client, per_address = Throttle.client_keys(m2m.app.client_id, ADDRESS)
    assert {k: v.failures for k, v in core.fakes.throttle.rows.items()} == {
        per_client: 1,
        per_address: 1,
    }


def test_wrong_secrets_on_authorize_block_the_app_on_authorize_and_at_the_token_endpoint(
    core: Core,
) -> None:
    web = core.register_app("web")
    assert web.client_secret is not None
    for _ in range(3):
        with pytest.raises(FatalAuthorizeError):
            core.authorize(core.code_params(web, client_secret="wrong"))
    with pytest.raises(FatalAuthorizeError) as caught:
        core.authorize(core.code_params(web, client_secret=web.client_secret))
    assert (caught.value.error, caught.value.description) == (
        "slow_down",
        "Too many failed client authentications; try again later.",
    )
    response = core.token(
        {
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": web.app.client_id,
            "client_secret": web.client_secret,
        }
    )
    assert_oauth_error(response, 429, "slow_down", SLOW_DOWN)


def test_an_ipv6_client_is_counted_by_its_64() -> None:
    same = Throttle.client_keys("abc", "2001:db8:1:2::a")
    assert Throttle.client_keys("abc", "2001:db8:1:2:ffff::b") == same
    assert Throttle.pass_key("abc", "2001:db8:1:2::a") == Throttle.pass_key(
        "abc", "2001:db8:1:2::b"
    )
    assert Throttle.login_keys("a@example.com", "2001:db8:1:2::a") == Throttle.login_keys(
        "a@example.com", "2001:db8:1:2::b"
    )
    other = Throttle.client_keys("abc", "2001:db8:1:3::a")
    assert other[0] != same[0] and other[1] != same[1]
    assert limited_address("2001:db8:1:2::a") == "2001:db8:1:2::/64"
    assert limited_address("192.0.2.1") == "192.0.2.1"
    assert limited_address("unknown") == "unknown"  # no peer address: counted as one


# -- sign-ins: counted before the password is checked --------------------------------------------

LOGIN_LIMITS = ThrottleLimits(login_key=3, login_address=5, window=300, block=60)


def _signin(throttle: Throttle, keys: tuple[str, str], now: int, right: bool) -> int:
    """One sign-in as the form makes it: the seconds it was told to wait, 0 when its password
    was checked (and, if ``right``, accepted)."""
    attempt = throttle.login_attempt(keys, now)
    if attempt.wait == 0 and right:
        throttle.login_succeeded(keys, attempt)
    return attempt.wait


def test_a_person_who_comes_back_when_told_has_the_password_checked() -> None:
    """Three typos, a minute's block; the right password at its end is checked and accepted,
    and nothing is left blocked."""
    throttle = Throttle(FakeThrottle(), LOGIN_LIMITS)
    keys = Throttle.login_keys("ann@example.com", ADDRESS)
    now = 1_000_000
    assert [_signin(throttle, keys, now + i, right=False) for i in range(3)] == [0, 0, 0]
    wait = _signin(throttle, keys, now + 3, right=True)
    assert wait == 59
    assert _signin(throttle, keys, now + 3 + wait, right=True) == 0
    assert throttle.wait(keys, now + 3 + wait) == 0


def test_a_password_guesser_is_checked_once_per_block_and_each_block_doubles() -> None:
    throttle = Throttle(FakeThrottle(), LOGIN_LIMITS)
    keys = Throttle.login_keys("ann@example.com", ADDRESS)
    now = 1_000_000
    checked = 0
    blocks = []
    while now < 1_000_000 + 24 * 3600:
        wait = _signin(throttle, keys, now, right=False)
        if wait:
            blocks.append(wait)
            now += wait
        else:
            checked += 1
    assert blocks[:6] == [60, 120, 240, 480, 960, 1920] and set(blocks[7:]) == {3600}
    assert checked < 3 + 30  # the limit, then one a block: about 30 in a day, not 1,000


def test_of_two_attempts_at_a_blocks_end_only_the_first_is_checked() -> None:
    throttle = Throttle(FakeThrottle(), LOGIN_LIMITS)
    keys = Throttle.login_keys("ann@example.com", ADDRESS)
    for i in range(3):
        _signin(throttle, keys, 1_000_000 + i, right=False)
    end = 1_000_002 + 60
    first, second = throttle.login_attempt(keys, end), throttle.login_attempt(keys, end)
    assert (first.wait, second.wait) == (0, 120)


def test_people_behind_a_blocked_address_sign_in_as_each_block_ends() -> None:
    """A guesser filled the address's count; each person who signs in at a block's end is
    checked, and the block that attempt set is taken back with it: the next person is not
    held by it."""
    throttle = Throttle(FakeThrottle(), LOGIN_LIMITS)
    now = 1_000_000
    for i in range(5):
        _signin(throttle, Throttle.login_keys(f"guess{i}@example.com", ADDRESS), now, right=False)
    now += 60
    for person in range(10):  # one every two minutes
        keys = Throttle.login_keys(f"user{person}@example.com", ADDRESS)
        assert _signin(throttle, keys, now, right=True) == 0, person
        now += 120

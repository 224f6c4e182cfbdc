"""The SQL repositories keep the ports' contracts, on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ninja_oauth.oauth.domain import (
    AccessGrant,
    App,
    AuthorizationCode,
    NewToken,
    RefreshRecord,
    User,
)
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.ports import (
    AlreadyUsed,
    ClientBlocks,
    Consumed,
    Counted,
    Missing,
    RefreshFamily,
    Repositories,
    Rotated,
)
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.throttle import MAX_BLOCK
from ninja_oauth.store.tables import audit_events, authorization_codes, consents, tokens

NOW = 1_700_000_000
Register = Callable[..., App]


def _digest() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def _code(app: App, user: User, **overrides: object) -> AuthorizationCode:
    values: dict[str, object] = {
        "client_id": app.client_id,
        "user_id": user.id,
        "redirect_uri": "http://127.0.0.1:5123/cb",
        "scope": "monitoring offline_access",
        "grant_id": uuid.uuid4().hex,
        "expires_at": NOW + 60,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    values.update(overrides)
    return AuthorizationCode(**values)  # type: ignore[arg-type]


def _token(app: App, user: User | None, **overrides: object) -> NewToken:
    values: dict[str, object] = {
        "access_digest": _digest(),
        "refresh_digest": _digest(),
        "client_id": app.client_id,
        "user_id": user.id if user else None,
        "scope": "monitoring offline_access",
        "refresh_scope": "monitoring offline_access",
        "grant_id": uuid.uuid4().hex,
        "grant_type": "authorization_code",
        "issued_at": NOW,
        "access_expires_at": NOW + 3600,
        "refresh_expires_at": NOW + 86400,
    }
    values.update(overrides)
    return NewToken(**values)  # type: ignore[arg-type]


def _count(store: Store, table: object, **where: object) -> int:
    with store.reading() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        for column, value in where.items():
            query = query.where(table.c[column] == value)  # type: ignore[attr-defined]
        return int(conn.execute(query).scalar_one())


# -- apps ----------------------------------------------------------------------------------


def test_an_added_app_reads_back_equal_field_for_field(
    repos: Repositories, register: Register
) -> None:
    app = register(Platform.NATIVE, secret_digest=None, grant_types=("authorization_code",))
    assert repos.apps.get(app.client_id) == app


def test_an_unknown_client_id_is_none(repos: Repositories) -> None:
    assert repos.apps.get("no-such-app") is None


def test_get_guarded_reads_the_app_and_the_blocks_on_its_callers(
    repos: Repositories, register: Register
) -> None:
    # Issue 12: the port returns the blocks and the pass (the core decides the wait from them).
    app = register()
    caller, address, pass_key = _key(), _key(), _key()
    assert repos.apps.get_guarded(app.client_id, (caller, address), pass_key) == (
        ClientBlocks(),
        app,
    )
    for i in range(3):
        repos.throttle.record_failure(address, limit=3, window=300, block=60, now=NOW + i)
    repos.throttle.record_failure(caller, limit=1, window=300, block=30, now=NOW)
    repos.throttle.grant_pass(pass_key, NOW, NOW + 600)
    assert repos.apps.get_guarded(app.client_id, (caller, address), pass_key) == (
        ClientBlocks(
            key_until=NOW + 30, address_until=NOW + 62, passed_at=NOW, pass_until=NOW + 600
        ),
        app,
    )


@pytest.mark.parametrize("client_id", [None, "", "no-such-app", "x" * 65, "nul\x00id"])
def test_get_guarded_reads_the_block_when_there_is_no_app(
    repos: Repositories, client_id: str | None
) -> None:
    """A guessed client_id still meets the block on its address (and never a database error)."""
    address = _key()
    repos.throttle.record_failure(address, limit=1, window=300, block=60, now=NOW)
    assert repos.apps.get_guarded(client_id, (_key(), address), _key()) == (
        ClientBlocks(address_until=NOW + 60),
        None,
    )
    assert repos.apps.get_guarded(client_id, (_key(), _key()), _key()) == (ClientBlocks(), None)


def test_a_client_id_is_unique(repos: Repositories, register: Register) -> None:
    app = register()
    with pytest.raises(IntegrityError):
        repos.apps.add(app)


def test_apps_are_listed_in_registration_order(repos: Repositories, register: Register) -> None:
    made = [register(Platform.API_SERVICES, redirect_uris=()) for _ in range(3)]
    ids = [a.client_id for a in repos.apps.list() if a in made]
    assert ids == [a.client_id for a in made]


def test_a_new_secret_digest_replaces_the_old_one(repos: Repositories, register: Register) -> None:
    app = register()
    assert repos.apps.set_secret_digest(app.client_id, "e" * 64) is True
    stored = repos.apps.get(app.client_id)
    assert stored is not None
    assert stored.secret_digest == "e" * 64
    assert repos.apps.set_secret_digest("no-such-app", "e" * 64) is False


def test_deleting_an_app_takes_its_codes_tokens_and_consents_with_it(
    store: Store, repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    kept = register()
    code_digest = _digest()
    repos.codes.save(code_digest, _code(app, user))
    token = _token(app, user)
    repos.tokens.save(token)
    repos.consents.remember(user.id, app.client_id, {"monitoring"}, NOW)
    repos.consents.remember(user.id, kept.client_id, {"control"}, NOW)

    assert repos.apps.delete(app.client_id) is True

    assert repos.apps.get(app.client_id) is None
    assert _count(store, authorization_codes, client_id=app.client_id) == 0
    assert _count(store, tokens, client_id=app.client_id) == 0
    assert _count(store, consents, client_id=app.client_id) == 0
    assert repos.tokens.find_access(token.access_digest) is None
    assert repos.consents.granted(user.id, kept.client_id) == {"control"}
    assert repos.apps.delete(app.client_id) is False


# -- users ---------------------------------------------------------------------------------


def test_users_are_found_by_id_and_by_normalised_email(repos: Repositories) -> None:
    email = f"Mixed.{uuid.uuid4().hex[:8]}@Example.COM"
    added = repos.users.add(email, "hash-1", True)
    assert added.email == email.lower()
    assert repos.users.get(added.id) == User(added.id, email.lower(), True)
    assert repos.users.find_by_email("  " + email.upper() + " ") == (added, "hash-1")
    repos.users.set_password_hash(added.id, "hash-2")
    assert repos.users.find_by_email(email) == (added, "hash-2")
    assert repos.users.find_by_email("nobody@example.com") is None
    assert repos.users.get(10**9) is None


# -- codes ---------------------------------------------------------------------------------


def test_a_code_is_consumed_once_and_comes_back_exactly_as_saved(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    digest = _digest()
    code = _code(app, user)
    repos.codes.save(digest, code)
    assert repos.codes.consume(digest, app.client_id, NOW) == Consumed(code)
    assert repos.codes.consume(digest, app.client_id, NOW + 1) == AlreadyUsed(
        grant_id=code.grant_id, client_id=app.client_id
    )
    assert repos.codes.consume(digest, app.client_id, NOW + 2) == AlreadyUsed(
        grant_id=code.grant_id, client_id=app.client_id
    )


def test_a_code_without_pkce_keeps_its_empty_challenge(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    digest = _digest()
    code = _code(app, user, code_challenge=None, code_challenge_method=None)
    repos.codes.save(digest, code)
    assert repos.codes.consume(digest, app.client_id, NOW) == Consumed(code)


def test_another_app_cannot_consume_a_code_and_does_not_burn_it(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    thief = register()
    digest = _digest()
    code = _code(app, user)
    repos.codes.save(digest, code)
    assert repos.codes.consume(digest, thief.client_id, NOW) == Missing()
    assert repos.codes.consume(digest, app.client_id, NOW) == Consumed(code)
    assert repos.codes.consume(digest, thief.client_id, NOW) == Missing()


def test_an_unknown_code_is_missing(repos: Repositories, register: Register) -> None:
    app = register()
    assert repos.codes.consume(_digest(), app.client_id, NOW) == Missing()


def test_consume_leaves_the_expiry_check_to_the_grant(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    digest = _digest()
    code = _code(app, user, expires_at=NOW - 1)
    repos.codes.save(digest, code)
    assert repos.codes.consume(digest, app.client_id, NOW) == Consumed(code)


def test_a_code_digest_is_unique(repos: Repositories, register: Register, user: User) -> None:
    app = register()
    digest = _digest()
    repos.codes.save(digest, _code(app, user))
    with pytest.raises(IntegrityError):
        repos.codes.save(digest, _code(app, user))


def test_a_saved_code_records_a_creation_time_before_its_expiry(
    store: Store, repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    digest = _digest()
    expires_at = int(time.time()) + 60
    repos.codes.save(digest, _code(app, user, expires_at=expires_at))
    with store.reading() as conn:
        created_at = conn.execute(
            select(authorization_codes.c.created_at).where(
                authorization_codes.c.code_digest == digest
            )
        ).scalar_one()
    assert created_at <= int(time.time())
    assert created_at < expires_at


# -- tokens --------------------------------------------------------------------------------


def test_a_saved_access_token_is_found_by_its_digest(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    token = _token(app, user, scope="monitoring management")
    repos.tokens.save(token)
    grant = repos.tokens.find_access(token.access_digest)
    assert isinstance(grant, AccessGrant)
    assert (grant.client_id, grant.user_id, grant.scopes, grant.expires_at) == (
        app.client_id,
        user.id,
        frozenset({"monitoring", "management"}),
        NOW + 3600,
    )
    assert repos.tokens.find_access(_digest()) is None


def test_a_client_credentials_token_has_no_user_and_no_refresh_token(
    repos: Repositories, register: Register
) -> None:
    app = register(Platform.API_SERVICES, redirect_uris=())
    token = _token(
        app,
        None,
        refresh_digest=None,
        refresh_scope=None,
        refresh_expires_at=None,
        grant_type="client_credentials",
        scope="monitoring",
    )
    repos.tokens.save(token)
    grant = repos.tokens.find_access(token.access_digest)
    assert grant is not None
    assert (grant.user_id, grant.scopes) == (None, frozenset({"monitoring"}))


def test_a_refresh_token_rotates_once_then_reads_as_already_used(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    token = _token(
        app, user, scope="monitoring", refresh_scope="monitoring management offline_access"
    )
    repos.tokens.save(token)
    assert repos.tokens.rotate(token.refresh_digest or "", app.client_id, NOW + 10) == Rotated(
        RefreshRecord(
            app.client_id, user.id, "monitoring management offline_access", token.grant_id
        )
    )
    assert repos.tokens.rotate(token.refresh_digest or "", app.client_id, NOW + 11) == AlreadyUsed(
        grant_id=token.grant_id, client_id=app.client_id
    )


@pytest.mark.parametrize("case", ["other-app", "unknown", "expired", "revoked", "access-digest"])
def test_a_refresh_token_that_cannot_rotate_is_missing(
    repos: Repositories, register: Register, user: User, case: str
) -> None:
    app = register()
    other = register()
    token = _token(app, user)
    repos.tokens.save(token)
    digest, client_id, now = token.refresh_digest or "", app.client_id, NOW + 10
    if case == "other-app":
        client_id = other.client_id
    elif case == "unknown":
        digest = _digest()
    elif case == "expired":
        now = NOW + 86400
    elif case == "revoked":
        repos.tokens.revoke_family(app.client_id, token.grant_id, NOW + 5)
    else:
        digest = token.access_digest
    assert repos.tokens.rotate(digest, client_id, now) == Missing()


def test_the_family_scope_is_read_for_the_owner_only(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    other = register()
    token = _token(app, user, scope="monitoring", refresh_scope="monitoring offline_access")
    repos.tokens.save(token)
    digest = token.refresh_digest or ""
    assert repos.tokens.refresh_family(digest, app.client_id) == RefreshFamily(
        "monitoring offline_access", used=False
    )
    assert repos.tokens.refresh_family(digest, other.client_id) is None
    assert repos.tokens.refresh_family(_digest(), app.client_id) is None
    assert isinstance(repos.tokens.rotate(digest, app.client_id, token.issued_at + 1), Rotated)
    assert repos.tokens.refresh_family(digest, app.client_id) == RefreshFamily(
        "monitoring offline_access", used=True
    )


def test_revoking_a_family_revokes_every_token_of_it_and_counts_them(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    grant_id = uuid.uuid4().hex
    family = [_token(app, user, grant_id=grant_id) for _ in range(3)]
    stranger = _token(app, user)
    for token in [*family, stranger]:
        repos.tokens.save(token)
    # Another app's family of the same id (ids are random: a forged one) is not its to revoke.
    other = register()
    foreign = _token(other, user, grant_id=grant_id)
    repos.tokens.save(foreign)
    assert repos.tokens.revoke_family(app.client_id, grant_id, NOW + 5) == 3
    assert [repos.tokens.find_access(t.access_digest) for t in family] == [None, None, None]
    assert repos.tokens.find_access(stranger.access_digest) is not None
    assert repos.tokens.find_access(foreign.access_digest) is not None
    assert repos.tokens.revoke_family(app.client_id, grant_id, NOW + 6) == 0
    assert repos.tokens.revoke_family(app.client_id, "no-such-grant", NOW) == 0


def test_find_describes_an_access_token_and_a_refresh_token(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    token = _token(app, user, scope="monitoring", refresh_scope="monitoring offline_access")
    repos.tokens.save(token)
    access = repos.tokens.find(token.access_digest, _digest(), NOW + 1, None)
    refresh = repos.tokens.find(_digest(), token.refresh_digest or "", NOW + 1, None)
    assert access is not None
    assert refresh is not None
    assert access.token_id == refresh.token_id
    assert (access.kind, access.scope, access.expires_at, access.active) == (
        "access_token",
        "monitoring",
        NOW + 3600,
        True,
    )
    assert (refresh.kind, refresh.scope, refresh.expires_at, refresh.active) == (
        "refresh_token",
        "monitoring offline_access",
        NOW + 86400,
        True,
    )
    for info in (access, refresh):
        assert (info.client_id, info.user_id, info.grant_id, info.issued_at) == (
            app.client_id,
            user.id,
            token.grant_id,
            NOW,
        )
    assert repos.tokens.find(_digest(), _digest(), NOW, None) is None


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token", "bogus"])
def test_the_hint_orders_the_search_but_does_not_limit_it(
    repos: Repositories, register: Register, user: User, hint: str | None
) -> None:
    app = register()
    token = _token(app, user)
    repos.tokens.save(token)
    by_access = repos.tokens.find(token.access_digest, _digest(), NOW, hint)
    by_refresh = repos.tokens.find(_digest(), token.refresh_digest or "", NOW, hint)
    assert (by_access and by_access.kind, by_refresh and by_refresh.kind) == (
        "access_token",
        "refresh_token",
    )


def test_find_reports_expired_used_and_revoked_tokens_as_inactive(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    token = _token(app, user)
    repos.tokens.save(token)
    access = repos.tokens.find(token.access_digest, _digest(), NOW + 3600, None)
    assert access is not None and access.active is False
    repos.tokens.rotate(token.refresh_digest or "", app.client_id, NOW + 1)
    used = repos.tokens.find(_digest(), token.refresh_digest or "", NOW + 2, None)
    assert used is not None and used.active is False
    other = _token(app, user)
    repos.tokens.save(other)
    repos.tokens.revoke_family(app.client_id, other.grant_id, NOW + 1)
    revoked = repos.tokens.find(other.access_digest, _digest(), NOW + 2, None)
    assert revoked is not None and revoked.active is False


def test_revoking_an_access_token_revokes_that_token_only(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    grant_id = uuid.uuid4().hex
    first, second = _token(app, user, grant_id=grant_id), _token(app, user, grant_id=grant_id)
    repos.tokens.save(first)
    repos.tokens.save(second)
    info = repos.tokens.find(first.access_digest, _digest(), NOW, None)
    assert info is not None
    repos.tokens.revoke(info, NOW + 1)
    assert repos.tokens.find_access(first.access_digest) is None
    assert repos.tokens.find_access(second.access_digest) is not None


def test_revoking_a_refresh_token_revokes_its_family(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    grant_id = uuid.uuid4().hex
    first, second = _token(app, user, grant_id=grant_id), _token(app, user, grant_id=grant_id)
    repos.tokens.save(first)
    repos.tokens.save(second)
    info = repos.tokens.find(_digest(), first.refresh_digest or "", NOW, "refresh_token")
    assert info is not None
    repos.tokens.revoke(info, NOW + 1)
    assert repos.tokens.find_access(first.access_digest) is None
    assert repos.tokens.find_access(second.access_digest) is None


# -- consents ------------------------------------------------------------------------------


def test_remembered_consent_is_the_union_of_every_grant(
    repos: Repositories, register: Register, user: User
) -> None:
    app = register()
    other = register()
    assert repos.consents.granted(user.id, app.client_id) == set()
    repos.consents.remember(user.id, app.client_id, {"monitoring"}, NOW)
    repos.consents.remember(user.id, app.client_id, {"control", "offline_access"}, NOW + 1)
    repos.consents.remember(user.id, app.client_id, {"monitoring"}, NOW + 2)
    assert repos.consents.granted(user.id, app.client_id) == {
        "monitoring",
        "control",
        "offline_access",
    }
    assert repos.consents.granted(user.id, other.client_id) == set()


def test_consent_is_per_user(repos: Repositories, register: Register, user: User) -> None:
    app = register()
    someone = repos.users.add(f"other-{uuid.uuid4().hex[:8]}@example.com", "h", False)
    repos.consents.remember(user.id, app.client_id, {"management"}, NOW)
    assert repos.consents.granted(someone.id, app.client_id) == set()


# -- throttle ------------------------------------------------------------------------------


def _key() -> str:
    return "client:" + uuid.uuid4().hex + "|192.0.2.1"


def test_failures_below_the_limit_do_not_block(repos: Repositories) -> None:
    key = _key()
    for i in range(2):
        repos.throttle.record_failure(key, limit=3, window=300, block=60, now=NOW + i)
    assert repos.throttle.blocked_for([key], NOW + 2) == 0


def test_the_failure_that_reaches_the_limit_blocks_the_key_for_the_block_time(
    repos: Repositories,
) -> None:
    key = _key()
    for i in range(3):
        repos.throttle.record_failure(key, limit=3, window=300, block=60, now=NOW + i)
    assert repos.throttle.blocked_for([key], NOW + 2) == 60
    assert repos.throttle.blocked_for([key], NOW + 32) == 30
    assert repos.throttle.blocked_for([key], NOW + 62) == 0


def test_each_failure_past_the_limit_doubles_the_block_up_to_an_hour(repos: Repositories) -> None:
    key = _key()
    seen = []
    for i in range(10):
        repos.throttle.record_failure(key, limit=3, window=10_000, block=60, now=NOW + i)
        seen.append(repos.throttle.blocked_for([key], NOW + i))
    assert seen == [0, 0, 60, 120, 240, 480, 960, 1920, MAX_BLOCK, MAX_BLOCK]


def test_a_failure_after_the_window_starts_a_new_count(repos: Repositories) -> None:
    key = _key()
    repos.throttle.record_failure(key, limit=2, window=300, block=60, now=NOW)
    repos.throttle.record_failure(key, limit=2, window=300, block=60, now=NOW + 300)
    assert repos.throttle.blocked_for([key], NOW + 300) == 0
    repos.throttle.record_failure(key, limit=2, window=300, block=60, now=NOW + 301)
    assert repos.throttle.blocked_for([key], NOW + 301) == 60


def test_a_block_that_ended_within_the_window_carries_the_count_on(
    store: Store, repos: Repositories
) -> None:
    """The window counts from the last block's end too: a failure right after a 240 s block,
    past the window of the first failure, doubles it; the purge keeps such a counter. A whole
    window quiet after the block starts the count over."""
    from ninja_oauth.store.repositories.maintenance import purge_expired

    key = _key()
    now = NOW
    for _ in range(3):
        repos.throttle.record_failure(key, limit=3, window=300, block=60, now=now)
    for expected in (60, 120, 240):
        assert repos.throttle.blocked_for([key], now) == expected
        now += expected
        purge_expired(store, now + 1, throttle_window=300)
        repos.throttle.record_failure(key, limit=3, window=300, block=60, now=now)
    assert repos.throttle.blocked_for([key], now) == 480  # the first failure: 420 s ago
    later = now + 480 + 299  # the block ended 299 s ago: the purge keeps the count
    purge_expired(store, later, throttle_window=300)
    assert repos.throttle.record_failure(key, 3, 300, 60, later) == 7
    assert repos.throttle.blocked_for([key], later) == 960
    quiet = later + 960 + 301  # a whole window after that block: purged, counted from 1
    purge_expired(store, quiet, throttle_window=300)
    assert repos.throttle.record_failure(key, 3, 300, 60, quiet) == 1


def test_an_attempt_says_the_block_before_it_and_its_own_which_a_success_takes_back(
    repos: Repositories,
) -> None:
    key = _key()
    assert repos.throttle.record_attempt(key, 2, 300, 60, NOW) == Counted(1, 0, 0)
    blocking = repos.throttle.record_attempt(key, 2, 300, 60, NOW + 1)
    assert blocking == Counted(2, 0, NOW + 61)
    overtaken = repos.throttle.record_attempt(key, 2, 300, 60, NOW + 2)
    assert overtaken == Counted(3, NOW + 61, NOW + 122)
    # A success takes its failure back, and its block only if no failure set one since.
    repos.throttle.forgive_one(key, blocking)
    assert repos.throttle.blocked_for([key], NOW + 2) == 120
    repos.throttle.forgive_one(key, overtaken)
    assert repos.throttle.blocked_for([key], NOW + 2) == 59  # back to the block before it
    assert repos.throttle.record_attempt(key, 2, 300, 60, NOW + 3).failures == 2


def test_blocked_for_is_the_longest_block_among_the_keys(repos: Repositories) -> None:
    short, long, clean = _key(), _key(), _key()
    repos.throttle.record_failure(short, limit=1, window=300, block=10, now=NOW)
    repos.throttle.record_failure(long, limit=1, window=300, block=90, now=NOW)
    assert repos.throttle.blocked_for([short, clean], NOW) == 10
    assert repos.throttle.blocked_for([short, long, clean], NOW) == 90
    assert repos.throttle.blocked_for([clean], NOW) == 0
    assert repos.throttle.blocked_for([], NOW) == 0


# -- audit ---------------------------------------------------------------------------------


def test_an_audit_event_is_stored_with_its_detail_as_json(
    store: Store, repos: Repositories
) -> None:
    client_id = "audited-" + uuid.uuid4().hex[:8]
    repos.audit.record("code_replayed", client_id=client_id, user_id=7, revoked_tokens=2)
    with store.reading() as conn:
        row = conn.execute(
            select(audit_events.c.event, audit_events.c.user_id, audit_events.c.detail).where(
                audit_events.c.client_id == client_id
            )
        ).one()
    assert tuple(row) == ("code_replayed", 7, '{"revoked_tokens": 2}')


# -- purging what has expired ---------------------------------------------------------------


def test_purge_removes_only_what_can_no_longer_be_used(
    store: Store, repos: Repositories, register: Register, user: User
) -> None:
    from ninja_oauth.store.repositories.maintenance import CODE_GRACE, purge_expired

    app = register()
    later = NOW + 10 * 86400
    old_code, fresh_code = _digest(), _digest()
    repos.codes.save(old_code, _code(app, user, expires_at=later - CODE_GRACE - 1))
    repos.codes.save(fresh_code, _code(app, user, expires_at=later - 10))  # replay still seen
    gone = _token(app, user, access_expires_at=later - 1, refresh_expires_at=later - 1)
    refreshable = _token(app, user, access_expires_at=later - 1, refresh_expires_at=later + 60)
    no_refresh = _token(
        app,
        None,
        refresh_digest=None,
        refresh_scope=None,
        access_expires_at=later - 1,
        refresh_expires_at=None,
    )
    for token in (gone, refreshable, no_refresh):
        repos.tokens.save(token)

    counts = purge_expired(store, later, throttle_window=300)

    assert counts["authorization_codes"] >= 1 and counts["tokens"] >= 2
    assert _count(store, authorization_codes, code_digest=old_code) == 0
    assert _count(store, authorization_codes, code_digest=fresh_code) == 1
    assert _count(store, tokens, access_digest=gone.access_digest) == 0
    assert _count(store, tokens, access_digest=no_refresh.access_digest) == 0
    assert _count(store, tokens, access_digest=refreshable.access_digest) == 1

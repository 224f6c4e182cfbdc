"""Issue 12 in the store, on SQLite and PostgreSQL: an app's own profile (apps.profile), and the
throttle passes of clients that proved their secret (oauth/throttling.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import update

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.ports import ClientBlocks, Repositories
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories import build_repositories
from ninja_oauth.store.repositories.maintenance import purge_expired
from ninja_oauth.store.tables import apps

NOW = 1_700_000_000
Register = Callable[..., App]


def _key(kind: str = "client") -> str:
    return f"{kind}:" + uuid.uuid4().hex


@pytest.mark.parametrize("profile", [Profile.STRICT, Profile.FAITHFUL, None])
def test_an_apps_own_profile_is_kept(
    repos: Repositories, register: Register, profile: Profile | None
) -> None:
    app = register(profile=profile)
    assert repos.apps.get(app.client_id) == app
    assert repos.apps.get(app.client_id).profile is profile  # type: ignore[union-attr]
    _, guarded = repos.apps.get_guarded(app.client_id, (_key(), _key()), _key("client-pass"))
    assert guarded == app
    assert [a for a in repos.apps.list() if a.client_id == app.client_id] == [app]


def test_a_profile_this_version_does_not_know_is_strict(
    store: Store, repos: Repositories, register: Register
) -> None:
    app = register()
    with store.transaction() as conn:
        conn.execute(update(apps).where(apps.c.client_id == app.client_id).values(profile="lax"))
    assert repos.apps.get(app.client_id).profile is Profile.STRICT  # type: ignore[union-attr]


def test_a_pass_is_read_with_the_blocks_and_renewed_in_place(
    repos: Repositories, register: Register
) -> None:
    app = register()
    caller, address, pass_key = _key(), _key("client-addr"), _key("client-pass")
    repos.throttle.grant_pass(pass_key, NOW, NOW + 600)
    repos.throttle.record_failure(address, limit=1, window=300, block=60, now=NOW)
    expected = ClientBlocks(address_until=NOW + 60, passed_at=NOW, pass_until=NOW + 600)
    assert repos.throttle.client_blocks((caller, address), pass_key) == expected
    assert repos.apps.get_guarded(app.client_id, (caller, address), pass_key) == (expected, app)
    repos.throttle.grant_pass(pass_key, NOW + 100, NOW + 700)
    assert repos.throttle.client_blocks((caller, address), pass_key) == ClientBlocks(
        address_until=NOW + 60, passed_at=NOW + 100, pass_until=NOW + 700
    )
    # A pass is never read as a block of the keys it is not.
    assert repos.throttle.blocked_for([caller], NOW) == 0


def test_the_purge_keeps_a_pass_until_it_ends(store: Store, repos: Repositories) -> None:
    """Until it ends, and a window more, as every row of the table (a counter's ended block
    must outlive its window: the next failure doubles it)."""
    pass_key = _key("client-pass")
    repos.throttle.grant_pass(pass_key, NOW, NOW + 7 * 24 * 3600)
    purge_expired(store, NOW + 3600, throttle_window=300)
    assert repos.throttle.client_blocks((_key(), _key()), pass_key).passed_at == NOW
    purge_expired(store, NOW + 7 * 24 * 3600 + 300 + 1, throttle_window=300)
    assert repos.throttle.client_blocks((_key(), _key()), pass_key) == ClientBlocks()


def test_a_pass_joins_a_requests_appended_rows(file_store: Store) -> None:
    """On a SQLite file a client_credentials request runs as APPENDS on the event loop: its
    pass is collected with its token row for the group commit, with no rerun on the writer
    path (NeedsWriter). Only a SQLite file defers rows to the group commit."""
    store, repos = file_store, build_repositories(file_store)
    pass_key = _key("client-pass")
    with store.deferred() as rows:
        repos.throttle.grant_pass(pass_key, NOW, NOW + 600)
    assert len(rows) == 1
    asyncio.run(store.commit_deferred(rows))
    assert repos.throttle.client_blocks((_key(), _key()), pass_key).pass_until == NOW + 600

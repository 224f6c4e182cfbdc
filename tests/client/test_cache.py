"""The token cache: its place, its permissions, its keys."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import platformdirs
import pytest

from ninja_oauth.client import NinjaOAuth, Token, TokenCache
from ninja_oauth.client.cache import default_cache_dir

from .authlib_server import RunningServer

TOKEN = Token(
    access_token="access-1",
    issued_at=1_000.0,
    expires_at=4_600.0,
    refresh_token="refresh-1",
    scope="monitoring offline_access",
)


def test_the_file_is_readable_only_by_the_user_in_a_private_directory(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path / "cache")

    cache.save("http://127.0.0.1:8080", "client-a", TOKEN)

    assert cache.path == tmp_path / "cache" / "tokens.json"
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700


def test_permissions_stay_0600_when_the_file_was_widened(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    cache.save("https://eu.ninjarmm.com", "client-a", TOKEN)
    os.chmod(cache.path, 0o644)

    cache.save("https://eu.ninjarmm.com", "client-b", TOKEN)

    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600


def test_tokens_are_keyed_by_base_url_and_client_id(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    other = Token(access_token="access-2", issued_at=2_000.0)

    cache.save("https://eu.ninjarmm.com", "client-a", TOKEN)
    cache.save("https://app.ninjarmm.com", "client-a", other)

    assert cache.load("https://eu.ninjarmm.com", "client-a") == TOKEN
    assert cache.load("https://app.ninjarmm.com", "client-a") == other
    assert cache.load("https://eu.ninjarmm.com", "client-b") is None
    assert cache.client_ids("https://eu.ninjarmm.com") == ["client-a"]
    stored = json.loads(cache.path.read_text())
    assert stored["tokens"]["https://eu.ninjarmm.com"]["client-a"] == {
        "access_token": "access-1",
        "token_type": "Bearer",
        "issued_at": 1_000.0,
        "expires_at": 4_600.0,
        "refresh_token": "refresh-1",
        "scope": "monitoring offline_access",
    }


def test_delete_forgets_one_client_only(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)
    cache.save("https://eu.ninjarmm.com", "client-a", TOKEN)
    cache.save("https://eu.ninjarmm.com", "client-b", TOKEN)

    assert cache.delete("https://eu.ninjarmm.com", "client-a") is True
    assert cache.delete("https://eu.ninjarmm.com", "client-a") is False

    assert cache.client_ids("https://eu.ninjarmm.com") == ["client-b"]


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"version": 99, "tokens": {}}',
        '{"version": 1, "tokens": {"https://eu.ninjarmm.com": ["client-a"]}}',
    ],
    ids=["not-json", "list", "other-version", "server-entry-not-a-mapping"],
)
def test_an_unreadable_file_is_an_empty_cache_and_is_replaced_on_save(
    tmp_path: Path, content: str
) -> None:
    cache = TokenCache(tmp_path)
    cache.path.write_text(content)

    assert cache.load("https://eu.ninjarmm.com", "client-a") is None
    cache.save("https://eu.ninjarmm.com", "client-a", TOKEN)
    assert cache.load("https://eu.ninjarmm.com", "client-a") == TOKEN


def test_the_directory_comes_from_the_environment_else_platformdirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NINJA_OAUTH_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert TokenCache().path == tmp_path / "elsewhere" / "tokens.json"

    monkeypatch.delenv("NINJA_OAUTH_CACHE_DIR")
    assert default_cache_dir() == Path(platformdirs.user_cache_dir("ninja-oauth"))


def test_concurrent_saves_from_threads_lose_nothing(tmp_path: Path) -> None:
    cache = TokenCache(tmp_path)

    def save(n: int) -> None:
        cache.save("https://eu.ninjarmm.com", f"client-{n:02}", TOKEN)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert cache.client_ids("https://eu.ninjarmm.com") == [f"client-{n:02}" for n in range(20)]


def test_token_repr_masks_both_tokens() -> None:
    assert "access-1" not in repr(TOKEN) and "refresh-1" not in repr(TOKEN)


def test_programs_of_one_app_asking_for_other_scopes_each_get_their_own(
    authlib_server: RunningServer, token_cache: TokenCache
) -> None:
    # One cache entry per app and server: a service token cached for "management" must not
    # be handed to a program of the same app that asks for "monitoring", nor the reverse.
    client = authlib_server.add_client(grant_types=["client_credentials"])
    assert client.client_secret is not None

    def program(*scopes: str) -> NinjaOAuth:
        return NinjaOAuth.client_credentials(
            base_url=authlib_server.base_url,
            client_id=client.client_id,
            client_secret=client.client_secret or "",
            scopes=list(scopes),
            cache=token_cache,
            **authlib_server.urls,
        )

    management = program("management").get_token()
    monitoring = program("monitoring").get_token()
    both = program("monitoring", "management").get_token()

    assert management.scope == "management"
    assert monitoring.scope == "monitoring"
    assert set((both.scope or "").split()) == {"monitoring", "management"}
    assert client.token_requests["client_credentials"] == 3
    # A token holding more than is asked is taken from the cache: no fourth request.
    assert program("management").get_token() == both
    assert client.token_requests["client_credentials"] == 3
    # Asking for no scope (the server's default, which the SDK cannot know) takes only a
    # token asked for none too.
    default = program().get_token()
    assert client.token_requests["client_credentials"] == 4
    assert program().get_token() == default
    assert client.token_requests["client_credentials"] == 4


def test_an_entry_whose_access_token_holds_a_control_character_is_not_loaded(
    tmp_path: Path,
) -> None:
    """It would go in an Authorization header: httpx would refuse it with the token in its
    message. Such an entry is unreadable, as any other bad one."""
    cache = TokenCache(tmp_path)
    cache.save("https://eu.ninjarmm.com", "client-a", TOKEN)
    stored = json.loads(cache.path.read_text())
    stored["tokens"]["https://eu.ninjarmm.com"]["client-a"]["access_token"] = "a\r\nX-Evil: 1"
    cache.path.write_text(json.dumps(stored))

    assert cache.load("https://eu.ninjarmm.com", "client-a") is None

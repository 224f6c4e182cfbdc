"""App registration rules: redirect URIs, grants per platform, secrets shown once."""

from __future__ import annotations

import dataclasses

import pytest

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.domain import NewApp, web_origin
from ninja_oauth.oauth.platforms import (
    GrantType,
    Platform,
    grant_types_for,
    is_confidential,
    needs_redirect_uri,
)
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.registry import RegistrationError, edit_app, register_app, rotate_secret
from tests.oauth.fakes import FakeApps

HASHER = s.SecretHasher(b"k" * 32)


def _register(platform: Platform, **kwargs: object) -> tuple[FakeApps, object]:
    repo = FakeApps()
    new = register_app(repo, HASHER, name="My app", platform=platform, **kwargs)  # type: ignore[arg-type]
    return repo, new


@pytest.mark.parametrize(
    ("platform", "uri"),
    [
        (Platform.WEB, "https://client.example/callback"),
        (Platform.WEB, "https://client.example:8443/cb?tenant=1"),
        (Platform.WEB, "http://127.0.0.1:8000/callback"),
        (Platform.WEB, "http://[::1]/callback"),
        (Platform.WEB, "http://localhost:3000/callback"),
        (Platform.SPA, "https://spa.example/"),
        (Platform.NATIVE, "http://127.0.0.1/callback"),
        (Platform.NATIVE, "com.example.app:/oauth2redirect"),
        (Platform.NATIVE, "https://app.example/universal-link"),
    ],
    ids=[
        "https",
        "https-port-query",
        "http-loopback-v4",
        "http-loopback-v6",
        "http-localhost",
        "spa-https",
        "native-loopback",
        "native-reverse-domain-scheme",
        "native-https",
    ],
)
def test_an_acceptable_redirect_uri_is_registered_as_given(platform: Platform, uri: str) -> None:
    repo, _ = _register(platform, redirect_uris=[uri])
    (app,) = repo.list()
    assert app.redirect_uris == (uri,)


@pytest.mark.parametrize(
    ("platform", "uri", "message"),
    [
        (
            Platform.WEB,
            "http://client.example/callback",
            "Redirect URI 'http://client.example/callback' must use https (http is allowed only "
            "on 127.0.0.1, [::1] and localhost).",
        ),
        (
            Platform.WEB,
            "https://client.example/callback#section",
            "Redirect URI 'https://client.example/callback#section' must not contain a fragment.",
        ),
        (
            Platform.WEB,
            "https://client.example/callback#",
            "Redirect URI 'https://client.example/callback#' must not contain a fragment.",
        ),
        (
            Platform.WEB,
            "/callback",
            "Redirect URI '/callback' must be absolute (with a scheme).",
        ),
        (
            Platform.WEB,
            "client.example/callback",
            "Redirect URI 'client.example/callback' must be absolute (with a scheme).",
        ),
        (Platform.WEB, "https:///callback", "Redirect URI 'https:///callback' has no host."),
        (
            Platform.WEB,
            "com.example.app:/cb",
            "Redirect URI 'com.example.app:/cb' must use https.",
        ),
        (
            Platform.NATIVE,
            "myapp:/cb",
            "Redirect URI 'myapp:/cb': a native app's custom scheme must be in reverse-domain "
            "form (e.g. com.example.app:/callback, RFC 8252 §7.1).",
        ),
        (
            Platform.SPA,
            "javascript:alert(1)",
            "Redirect URI 'javascript:alert(1)' must use https.",
        ),
    ],
    ids=[
        "http-non-loopback",
        "fragment",
        "empty-fragment",
        "relative-path",
        "no-scheme",
        "https-without-host",
        "custom-scheme-for-web",
        "native-scheme-not-reverse-domain",
        "javascript",
    ],
)
def test_an_unsafe_redirect_uri_is_refused_with_the_rule_it_breaks(
    platform: Platform, uri: str, message: str
) -> None:
    with pytest.raises(RegistrationError) as caught:
        _register(platform, redirect_uris=[uri])
    assert str(caught.value) == message


def test_repeated_redirect_uris_are_stored_once_in_order() -> None:
    repo, _ = _register(
        Platform.WEB,
        redirect_uris=["https://a.example/cb", "https://b.example/cb", "https://a.example/cb"],
    )
    assert repo.list()[0].redirect_uris == ("https://a.example/cb", "https://b.example/cb")


@pytest.mark.parametrize(
    ("platform", "grants"),
    [
        (Platform.API_SERVICES, ("client_credentials", "refresh_token")),
        (Platform.WEB, ("authorization_code", "refresh_token")),
        (Platform.NATIVE, ("authorization_code", "refresh_token")),
        (Platform.SPA, ("authorization_code", "implicit", "refresh_token")),
    ],
    ids=lambda v: v.value if isinstance(v, Platform) else None,
)
def test_each_platform_offers_the_grants_of_the_documents_and_gets_them_by_default(
    platform: Platform, grants: tuple[str, ...]
) -> None:
    assert tuple(g.value for g in grant_types_for(platform)) == grants
    uris = [] if platform is Platform.API_SERVICES else ["https://client.example/cb"]
    repo, _ = _register(platform, redirect_uris=uris)
    assert repo.list()[0].grant_types == grants


@pytest.mark.parametrize(
    ("platform", "grant"),
    [
        (Platform.API_SERVICES, "authorization_code"),
        (Platform.WEB, "client_credentials"),
        (Platform.WEB, "implicit"),
        (Platform.NATIVE, "implicit"),
        (Platform.SPA, "client_credentials"),
        (Platform.WEB, "password"),
    ],
)
def test_a_grant_the_platform_does_not_offer_is_refused(platform: Platform, grant: str) -> None:
    offered = ", ".join(g.value for g in grant_types_for(platform))
    with pytest.raises(RegistrationError) as caught:
        _register(platform, redirect_uris=["https://client.example/cb"], grant_types=[grant])
    assert str(caught.value) == (
        f"The grant {grant!r} is not available to {platform.value} apps; they may use {offered}."
    )


def test_the_refresh_token_grant_alone_is_refused() -> None:
    with pytest.raises(RegistrationError) as caught:
        _register(Platform.API_SERVICES, grant_types=["refresh_token"])
    assert str(caught.value) == "The refresh_token grant needs a grant that issues tokens."


def test_chosen_grants_are_stored_in_the_platform_order() -> None:
    repo, _ = _register(
        Platform.SPA,
        redirect_uris=["https://spa.example/cb"],
        grant_types=["refresh_token", "implicit"],
    )
    assert repo.list()[0].grant_types == ("implicit", "refresh_token")


def test_scopes_default_to_all_three_and_are_stored_in_document_order() -> None:
    repo, _ = _register(Platform.API_SERVICES)
    assert repo.list()[0].scopes == ("monitoring", "management", "control")
    repo, _ = _register(Platform.API_SERVICES, scopes=["control", "monitoring"])
    assert repo.list()[0].scopes == ("monitoring", "control")


@pytest.mark.parametrize("scope", ["offline_access", "admin"])
def test_a_scope_outside_the_three_is_refused(scope: str) -> None:
    with pytest.raises(RegistrationError) as caught:
        _register(Platform.API_SERVICES, scopes=["monitoring", scope])
    assert str(caught.value) == (
        f"Unknown scope {scope!r}: choose among monitoring, management, control "
        "(offline_access is asked for at authorization, not configured)."
    )


@pytest.mark.parametrize("platform", [Platform.WEB, Platform.NATIVE, Platform.SPA])
def test_a_browser_platform_needs_a_redirect_uri(platform: Platform) -> None:
    assert needs_redirect_uri(platform)
    with pytest.raises(RegistrationError) as caught:
        _register(platform)
    assert str(caught.value) == f"A {platform.value} app needs at least one redirect URI."


def test_a_machine_to_machine_app_may_have_no_redirect_uri() -> None:
    assert not needs_redirect_uri(Platform.API_SERVICES)
    repo, _ = _register(Platform.API_SERVICES)
    assert repo.list()[0].redirect_uris == ()


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_name_must_have_1_to_200_characters(name: str) -> None:
    repo = FakeApps()
    with pytest.raises(RegistrationError) as caught:
        register_app(repo, HASHER, name=name, platform=Platform.API_SERVICES)
    assert str(caught.value) == "The app needs a name of 1 to 200 characters."
    assert repo.list() == []


@pytest.mark.parametrize(
    ("platform", "confidential"),
    [
        (Platform.API_SERVICES, True),
        (Platform.WEB, True),
        (Platform.NATIVE, False),
        (Platform.SPA, False),
    ],
)
def test_confidential_apps_get_a_secret_shown_once_and_stored_as_a_digest(
    platform: Platform, confidential: bool
) -> None:
    assert is_confidential(platform) is confidential
    uris = [] if platform is Platform.API_SERVICES else ["https://client.example/cb"]
    repo = FakeApps()
    new = register_app(repo, HASHER, name="  My app ", platform=platform, redirect_uris=uris)
    (stored,) = repo.list()
    assert stored == new.app
    assert stored.name == "My app"
    assert len(stored.client_id) == 32
    if confidential:
        assert new.client_secret is not None
        assert len(new.client_secret) == 43
        assert stored.secret_digest == HASHER.digest(new.client_secret, s.CLIENT_SECRET)
        assert new.client_secret not in repr(stored)
        assert new.client_secret not in repr(new)
        assert stored.secret_digest not in repr(stored)
    else:
        assert (new.client_secret, stored.secret_digest) == (None, None)


def test_every_registration_gets_a_new_client_id_and_secret() -> None:
    repo = FakeApps()
    made = [
        register_app(repo, HASHER, name="m2m", platform=Platform.API_SERVICES) for _ in range(5)
    ]
    assert len({m.app.client_id for m in made}) == 5
    assert len({m.client_secret for m in made}) == 5


def test_rotating_the_secret_returns_the_new_one_once_and_stores_its_digest() -> None:
    repo = FakeApps()
    first = register_app(repo, HASHER, name="m2m", platform=Platform.API_SERVICES)
    rotated = rotate_secret(repo, HASHER, first.app.client_id)
    assert rotated.client_secret is not None
    assert rotated.client_secret != first.client_secret
    stored = repo.get(first.app.client_id)
    assert stored is not None
    assert stored.secret_digest == HASHER.digest(rotated.client_secret, s.CLIENT_SECRET)


def test_a_public_app_has_no_secret_to_rotate() -> None:
    repo = FakeApps()
    spa = register_app(
        repo, HASHER, name="SPA", platform=Platform.SPA, redirect_uris=["https://spa.example/cb"]
    )
    with pytest.raises(RegistrationError) as caught:
        rotate_secret(repo, HASHER, spa.app.client_id)
    assert str(caught.value) == "SPA is a spa app: it has no secret to rotate."


def test_rotating_the_secret_of_an_unknown_app_is_refused() -> None:
    with pytest.raises(RegistrationError) as caught:
        rotate_secret(FakeApps(), HASHER, "nope")
    assert str(caught.value) == "No app has the client_id 'nope'."


def test_offline_access_is_allowed_exactly_to_apps_with_the_refresh_token_grant() -> None:
    repo = FakeApps()
    with_refresh = register_app(repo, HASHER, name="a", platform=Platform.API_SERVICES)
    without = register_app(
        repo, HASHER, name="b", platform=Platform.API_SERVICES, grant_types=["client_credentials"]
    )
    assert with_refresh.app.offline_access_allowed()
    assert not without.app.offline_access_allowed()
    assert GrantType.REFRESH_TOKEN in with_refresh.app.grant_types


# -- admin apps and edits (issue 11) -----------------------------------------------------------


def _with_a_redirect_uri(platform: Platform, name: str) -> tuple[FakeApps, NewApp]:
    """A store holding one app of ``platform`` with one https redirect URI."""
    repo = FakeApps()
    new = register_app(
        repo, HASHER, name=name, platform=platform, redirect_uris=["https://a.example/cb"]
    )
    return repo, new


def test_only_an_api_services_app_may_be_an_admin_app_and_only_it_has_the_admin_scope() -> None:
    repo = FakeApps()
    admin = register_app(repo, HASHER, name="Admin", platform=Platform.API_SERVICES, is_admin=True)
    assert admin.app.is_admin and "admin" in admin.app.scopes
    with pytest.raises(RegistrationError) as refused:
        register_app(
            repo,
            HASHER,
            name="Web admin",
            platform=Platform.WEB,
            redirect_uris=["https://a.example/cb"],
            is_admin=True,
        )
    assert refused.value.field == "platform"
    with pytest.raises(RegistrationError) as refused:
        register_app(
            repo,
            HASHER,
            name="Not admin",
            platform=Platform.API_SERVICES,
            scopes=["monitoring", "admin"],
        )
    assert refused.value.field == "scopes"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "Bad\x1b[31mname"}, "name"),
        ({"redirect_uris": ["http://example.com/cb"]}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"grant_types": []}, "grant_types"),
        ({"grant_types": ["client_credentials"]}, "grant_types"),
    ],
)
def test_an_edit_follows_the_registration_rules_and_names_the_field(
    change: dict[str, object], field: str
) -> None:
    repo, new = _with_a_redirect_uri(Platform.WEB, "Web")
    with pytest.raises(RegistrationError) as refused:
        edit_app(repo, new.app, **change)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert repo.get(new.app.client_id) == new.app  # nothing saved


def test_an_edit_changes_what_it_names_and_keeps_the_rest() -> None:
    repo, new = _with_a_redirect_uri(Platform.WEB, "Web")
    changed = edit_app(repo, new.app, name="Web 2", scopes=["control", "monitoring"])
    assert (changed.name, changed.scopes) == ("Web 2", ("monitoring", "control"))
    assert changed.redirect_uris == new.app.redirect_uris
    assert changed.secret_digest == new.app.secret_digest
    assert repo.get(new.app.client_id) == changed


def test_a_legacy_implicit_app_can_be_renamed_on_a_strict_server_but_not_given_implicit() -> None:
    repo, spa = _with_a_redirect_uri(Platform.SPA, "SPA")
    assert "implicit" in spa.app.grant_types
    renamed = edit_app(repo, spa.app, name="SPA 2", server_profile=Profile.STRICT)
    assert renamed.name == "SPA 2" and "implicit" in renamed.grant_types
    with pytest.raises(RegistrationError) as refused:
        edit_app(
            repo,
            renamed,
            grant_types=["authorization_code", "implicit"],
            server_profile=Profile.STRICT,
        )
    assert refused.value.field == "grant_types"


@pytest.mark.parametrize(
    "uri",
    [
        "https://client.example/cb/€",
        "https://client.example/c b",
        "https://client.example/cb\r\nSet-Cookie: x=1",
        'https://client.example/cb?"quoted"',
        "https://client.example/cb/<tag>",
        "https://client.example/cb?x=%zz",
    ],
    ids=["non-ascii", "space", "crlf", "quote", "angle-brackets", "bad-percent"],
)
def test_a_redirect_uri_that_is_not_a_uri_is_refused(uri: str) -> None:
    # It would be rewritten on its way to the browser, or break the Location header (a 500).
    with pytest.raises(RegistrationError) as caught:
        _register(Platform.WEB, redirect_uris=[uri])
    assert str(caught.value) == (
        f"Redirect URI {uri!r} is not a valid URI: percent-encode any character that is not "
        "allowed in a URI (RFC 3986), such as spaces and non-ASCII letters."
    )
    # Percent-encoded, it is one.
    _register(Platform.WEB, redirect_uris=["https://client.example/cb/%E2%82%AC?q=a%20b"])


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://spa.example/callback", "https://spa.example"),
        ("HTTPS://SPA.Example:443/cb?x=1", "https://spa.example"),
        ("http://127.0.0.1:3000/callback", "http://127.0.0.1:3000"),
        ("http://[::1]:8080/cb", "http://[::1]:8080"),
        ("http://localhost:80/", "http://localhost"),
        ("com.example.app:/cb", None),
        ("null", None),
        ("http://host:99999/", None),
    ],
)
def test_the_web_origin_of_a_url_is_written_as_a_browser_writes_origin(
    url: str, origin: str | None
) -> None:
    assert web_origin(url) == origin


def test_only_a_single_page_app_is_read_from_the_pages_of_its_redirect_uris() -> None:
    spa, web = (
        _register(p, redirect_uris=["https://spa.example/cb"])[1]
        for p in (Platform.SPA, Platform.WEB)
    )
    assert isinstance(spa, NewApp) and isinstance(web, NewApp)
    assert spa.app.reads_from_browser("https://spa.example")
    assert spa.app.reads_from_browser("https://SPA.example:443")
    assert not spa.app.reads_from_browser("https://evil.example")
    assert not spa.app.reads_from_browser("http://spa.example")
    assert not web.app.reads_from_browser("https://spa.example")


def test_an_app_registered_before_the_uri_rule_can_still_be_renamed_not_given_a_new_bad_uri() -> (
    None
):
    repo, _ = _register(Platform.WEB, redirect_uris=["https://client.example/cb"])
    (app,) = repo.list()
    old = dataclasses.replace(app, redirect_uris=("https://client.example/c b",))
    repo.update(old)
    renamed = edit_app(repo, old, name="Renamed")
    assert (renamed.name, renamed.redirect_uris) == ("Renamed", ("https://client.example/c b",))
    with pytest.raises(RegistrationError, match="is not a valid URI"):
        edit_app(repo, renamed, redirect_uris=[*renamed.redirect_uris, "https://client.example/€"])


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1/x/../ws/oauth/cb",
        "https://client.example/a/./cb",
        "https://client.example/x/%2e%2e/admin",
        "https://client.example/x/%2E./cb",
        "com.example.app:/x/../cb",
    ],
)
def test_a_redirect_uri_with_dot_segments_is_refused_and_one_grandfathered_kept(uri: str) -> None:
    # The browser resolves them before it goes there: "/x/../ws/oauth/cb" is "/ws/oauth/cb".
    platform = Platform.NATIVE
    with pytest.raises(RegistrationError) as caught:
        _register(platform, redirect_uris=[uri])
    assert str(caught.value) == (
        f"Redirect URI {uri!r} has a '.' or '..' path segment, which the browser resolves "
        "before going there: register the URI it resolves to."
    )
    assert caught.value.field == "redirect_uris"
    repo, _ = _register(platform, redirect_uris=["http://127.0.0.1/cb"])
    (app,) = repo.list()
    old = dataclasses.replace(app, redirect_uris=(uri,))
    repo.update(old)
    assert edit_app(repo, old, name="Renamed").redirect_uris == (uri,)
    # Dots within a segment are no segment of their own.
    _register(platform, redirect_uris=["http://127.0.0.1/.well-known/cb..x/v1.2"])


def test_a_redirect_uri_with_an_escaped_host_is_refused() -> None:
    # The browser decodes the host, then maps it (UTS #46): fullwidth digits become 127.
    uri = "https://%EF%BC%91%EF%BC%92%EF%BC%97.0.0.1:8443/cb"
    with pytest.raises(RegistrationError) as caught:
        _register(Platform.WEB, redirect_uris=[uri])
    assert str(caught.value) == (
        f"Redirect URI {uri!r}: write its host without %-escapes (the browser decodes them into "
        "another host)."
    )

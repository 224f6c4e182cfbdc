"""What `ninja-oauth check` reports: settings in force, and facts read from the store and the
file system, that depart from RFC 9700 (OAuth 2.0 Security BCP) or from a safe deployment.

``findings(settings, facts)`` is pure: the command (check.py) gathers the facts through the
repositories and prints the result. It lives under ``cli/`` because only the CLI uses it, and a
new top-level part would need its own row in STYLE §3's dependency rule. A finding never
carries a secret's value.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import GrantType, is_confidential
from ninja_oauth.oauth.profiles import Profile, strict_because
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.settings import Settings
from ninja_oauth.store.demo import DEMO_ADMIN_EMAIL

# Thresholds, each with its source.
# RFC 9700 §4.14: refresh tokens let the server "issue access tokens with a short lifetime";
# an hour is also what NinjaOne answers (expires_in 3600).
MAX_ACCESS_TOKEN_TTL = 3600
# RFC 9700 §4.14.2: refresh tokens SHOULD expire when the client has been inactive; each rotated
# refresh token here lives its TTL from its issue, so the TTL is the inactivity limit.
MAX_REFRESH_TOKEN_TTL = 90 * 24 * 3600
# RFC 6749 §4.1.2: codes "MUST expire shortly after" issue (10 minutes at most, which settings
# enforce); a client redeems its code within seconds, so a minute is the default here.
MAX_CODE_TTL = 60
# NIST SP 800-63B §5.2.2: no more than 100 consecutive failed attempts on one account.
MAX_LOGIN_KEY_LIMIT = 100
# A secret key with fewer distinct characters than this is not random (a 32-character random
# key drawn from 64 symbols has about 25).
MIN_KEY_DISTINCT_CHARACTERS = 10
# Placeholders seen in sample configurations; a random key contains none of them (each is six
# or more characters: about one chance in 2^36 per position in a random key).
_PLACEHOLDERS = (
    "changeme",
    "changethis",
    "replaceme",
    "placeholder",
    "insecure",
    "notsecret",
    "yoursecret",
    "secretkey",
    "example",
    "password",
    "123456",
    "qwerty",
)
_SECURE_SSLMODES = ("require", "verify-ca", "verify-full")


@dataclass(frozen=True, slots=True)
class Finding:
    """One departure: what is on, why it matters (with its source), and the fix."""

    id: str
    on: str
    why: str
    fix: str


@dataclass(frozen=True, slots=True)
class ExposedFile:
    """A file holding secrets that the mode bits let group or other users read or write."""

    what: str  # "database", "database WAL", "secret key file"
    path: Path
    mode: int
    who: tuple[str, ...]  # ("group",), ("others",) or both


@dataclass(frozen=True, slots=True)
class Facts:
    apps: tuple[App, ...] = ()
    demo_admin: bool = False
    demo_admin_password_derived: bool = False
    demo_apps: tuple[str, ...] = ()
    exposed_files: tuple[ExposedFile, ...] = ()
    key_file: Path | None = None  # the key in force was read from this file
    pgsslmode: str | None = None  # PGSSLMODE in the environment (libpq and psycopg read it)


def findings(settings: Settings, facts: Facts) -> list[Finding]:
    """Every finding, in a stable order (transport, profile, data, secrets, lifetimes)."""
    found: list[Finding] = []
    found += _transport(settings, facts)
    found += _profiles(settings, facts)
    found += _demo(settings, facts)
    found += _secrets(settings, facts)
    found += _lifetimes_and_limits(settings)
    return found


def _transport(settings: Settings, facts: Facts) -> list[Finding]:
    found: list[Finding] = []
    https = settings.issuer.startswith("https://")
    if not https:
        # Settings refuse plain http off loopback, so this one is on loopback.
        found.append(
            Finding(
                "issuer-http",
                f"NINJA_OAUTH_ISSUER is plain http on loopback ({settings.issuer}).",
                "Fine on one machine, not for a deployment: RFC 6749 §3.1 and §3.2 require TLS "
                "at the authorization and token endpoints, which carry passwords, client "
                "secrets, codes and tokens; and the sign-in cookie is not marked Secure.",
                "Put a TLS-terminating proxy in front and set NINJA_OAUTH_ISSUER to the https "
                "URL clients use (e.g. NINJA_OAUTH_ISSUER=https://auth.example.com), with "
                "NINJA_OAUTH_TRUSTED_PROXIES naming the proxy.",
            )
        )
    if https and not settings.trusted_proxies:
        found.append(
            Finding(
                "no-trusted-proxies",
                "The issuer is https but NINJA_OAUTH_TRUSTED_PROXIES is empty.",
                "`serve` has no TLS of its own, so an https issuer means a TLS-terminating "
                "proxy in front (RFC 9700 §4.13). Unless it is named, every client appears "
                "with the proxy's "
                "address: one guessing client blocks the per-address limits for everyone, "
                "and the per-(account, address) limits no longer tell callers apart "
                "(RFC 6749 §10.10).",
                "NINJA_OAUTH_TRUSTED_PROXIES='[\"10.0.0.5\"]' (a JSON list of the proxy's "
                "addresses as the server sees them); the proxy must overwrite, not append "
                "to, any X-Forwarded-For a client sends (RFC 9700 §4.13). If nothing is in "
                "front, leave it empty.",
            )
        )
    unusable = [p for p in settings.trusted_proxies if not _is_canonical_ip(p)]
    if unusable:
        found.append(
            Finding(
                "trusted-proxy-not-an-address",
                "NINJA_OAUTH_TRUSTED_PROXIES has entries that are not single IP addresses "
                f"in canonical form: {', '.join(repr(p) for p in unusable)}.",
                "Each entry is compared with the peer's address as text, so a network "
                "(10.0.0.0/8), a host name or a non-canonical IPv6 form never matches: those "
                "proxies are not trusted and their clients share one address for throttling.",
                "List each proxy address as the server sees it, e.g. "
                'NINJA_OAUTH_TRUSTED_PROXIES=\'["10.0.0.5", "fd00::5"]\'.',
            )
        )
    found += _database_transport(settings, facts)
    return found


def _is_canonical_ip(text: str) -> bool:
    try:
        return str(ipaddress.ip_address(text)) == text
    except ValueError:
        return False


def _database_transport(settings: Settings, facts: Facts) -> list[Finding]:
    url = make_url(settings.url)
    if url.get_backend_name() != "postgresql":
        return []
    host = url.host or str(url.query.get("host") or "")
    if not host or host.startswith("/") or host in ("localhost", "127.0.0.1", "::1", "[::1]"):
        return []  # a Unix socket or loopback: nothing crosses a network
    sslmode = url.query.get("sslmode") or facts.pgsslmode or "prefer"
    if sslmode in _SECURE_SSLMODES:
        return []
    return [
        Finding(
            "database-without-tls",
            f"NINJA_OAUTH_DATABASE_URL reaches PostgreSQL on {host} with sslmode={sslmode}.",
            "Below sslmode=require the connection may run in clear text: the database "
            "password, password hashes, token digests and every row travel readable and "
            "alterable on the network (RFC 6749 §10.3 and §10.4 want credentials kept "
            "confidential in transit and storage).",
            "Add ?sslmode=verify-full to NINJA_OAUTH_DATABASE_URL (or set PGSSLMODE), with "
            "the server's CA as sslrootcert.",
        )
    ]


def _profiles(settings: Settings, facts: Facts) -> list[Finding]:
    found: list[Finding] = []
    if Profile(settings.profile) is Profile.FAITHFUL:
        loose = sum(1 for a in facts.apps if a.profile is not Profile.STRICT)
        found.append(
            Finding(
                "profile-faithful",
                'NINJA_OAUTH_PROFILE is "faithful" (the default): every flow the NinjaOne '
                "documents describe is on for each app not registered with --profile strict "
                f"({loose} now).",
                "It allows the implicit grant, whose tokens travel in URLs (RFC 9700 §2.1.2: "
                "SHOULD NOT be used); plain PKCE, which exposes the verifier in the "
                "authorization request (RFC 9700 §2.1.1: use S256); codes without PKCE for "
                "confidential apps (RFC 9700 §2.1.1 recommends PKCE against code injection, "
                "§4.5); and client secrets in authorize URLs (RFC 6749 §2.3.1), which end up "
                "in browser history and proxy logs (RFC 9700 §4.3).",
                "NINJA_OAUTH_PROFILE=strict, once every client uses the authorization code "
                "grant with S256 PKCE.",
            )
        )
    for app in facts.apps:
        relaxed = _relaxations(settings, app)
        if not relaxed:
            continue
        found.append(
            Finding(
                "app-faithful",
                f"App {app.client_id} ({app.platform.value}) follows the faithful profile: "
                + "; ".join(what for what, _ in relaxed)
                + ".",
                " ".join(why for _, why in relaxed),
                "NINJA_OAUTH_PROFILE=strict; or, for this app alone: "
                f"ninja-oauth apps set-profile {app.client_id} strict",
            )
        )
    return found


def _relaxations(settings: Settings, app: App) -> list[tuple[str, str]]:
    """What the faithful profile lets this app do that the strict one would not, and why
    that matters. The stricter of the server's and the app's profile applies (profiles.py)."""
    if strict_because(Profile(settings.profile), app.profile) is not None:
        return []
    relaxed: list[tuple[str, str]] = []
    if GrantType.IMPLICIT in app.grant_types:
        relaxed.append(
            (
                "the implicit grant is on",
                "Implicit tokens travel in URLs, where history, Referer and logs leak them "
                "and an attacker can inject one (RFC 9700 §2.1.2: SHOULD NOT be used; "
                "§4.1-§4.3, §4.6).",
            )
        )
    if GrantType.AUTHORIZATION_CODE in app.grant_types and not is_confidential(app.platform):
        relaxed.append(
            (
                "plain PKCE is accepted",
                "Plain PKCE puts the verifier itself in the authorization request, so "
                "whoever reads the request can redeem the code (RFC 9700 §2.1.1: S256).",
            )
        )
    # A confidential app's codes without PKCE and secrets in authorize URLs are
    # profile-faithful's finding: they concern every web app alike.
    return relaxed


def _demo(settings: Settings, facts: Facts) -> list[Finding]:
    found: list[Finding] = []
    if facts.demo_admin:
        password = (
            "its password is the one `serve --demo` prints on every start, derived from the "
            "secret key"
            if facts.demo_admin_password_derived
            else "its password is no longer the one derived from the current key, but the "
            "account name is public"
        )
        found.append(
            Finding(
                "demo-admin",
                f"The demo admin account {DEMO_ADMIN_EMAIL} exists; {password}.",
                "Whoever has it (from a terminal, a service log, or the secret key) can sign "
                "in and approve requests, e.g. the demo native app's to their own loopback "
                "address, and get Public API tokens as this administrator.",
                "Deploy on a database never started with `serve --demo`; no command removes "
                f"a user yet. {_delete_demo_admin(settings)}",
            )
        )
    if facts.demo_apps:
        ids = " ".join(facts.demo_apps)
        found.append(
            Finding(
                "demo-apps",
                f"{len(facts.demo_apps)} demo app(s) are registered: {', '.join(facts.demo_apps)}.",
                "Their client ids and secrets are derived from the secret key and printed on "
                "every `serve --demo` start: with the demo API Services app's secret anyone "
                "who saw that output gets tokens with every scope (client credentials), and "
                "the public demo apps redirect to loopback addresses, anyone's own machine.",
                f"for id in {ids}; do ninja-oauth apps delete $id --yes; done",
            )
        )
    if settings.demo:
        found.append(
            Finding(
                "demo-enabled",
                "NINJA_OAUTH_DEMO is true.",
                "Demo data (an admin with a printed password, apps with printed secrets) is "
                "for trying the server on one machine.",
                "Unset NINJA_OAUTH_DEMO (and do not pass --demo to serve).",
            )
        )
    return found


# The client ids `serve --demo` gives (store/demo.py): "demo-<platform>-" and 10 characters
# derived from the secret key. `apps create` ids are 32 random characters, so none matches;
# demo apps made under an earlier key still do (their secrets were printed then).
_DEMO_CLIENT_ID = re.compile(r"demo-(api-services|web|native|spa)-[A-Za-z0-9_-]{10}")


def is_demo_client_id(client_id: str) -> bool:
    return _DEMO_CLIENT_ID.fullmatch(client_id) is not None


def demo_admin_password(hasher: SecretHasher) -> str:
    """The password `serve --demo` gives its admin: store/demo.py's derivation (a test keeps
    the two in step)."""
    return hasher.derive("demo-admin-password")[:20]


def _delete_demo_admin(settings: Settings) -> str:
    delete = "DELETE FROM users WHERE email = 'admin@ninja-oauth.local';"  # DEMO_ADMIN_EMAIL
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        # The sqlite3 shell leaves foreign keys off, and the user's sessions, consents, codes
        # and tokens go with the user only through ON DELETE CASCADE.
        path = shlex.quote(url.database or "")
        return f'With sqlite3: sqlite3 {path} "PRAGMA foreign_keys=ON; {delete}"'
    return f'With psql: psql <database> -c "{delete}"'


def _secrets(settings: Settings, facts: Facts) -> list[Finding]:
    found: list[Finding] = []
    weakness = key_weakness(settings.key_bytes.decode())
    if weakness:
        where = f"the key file {facts.key_file}" if facts.key_file else "NINJA_OAUTH_SECRET_KEY"
        found.append(
            Finding(
                "weak-secret-key",
                f"The secret key ({where}) {weakness}.",
                "The key signs the sign-in session cookie and derives the demo credentials: "
                "whoever guesses it can forge session cookies (with their CSRF token) and "
                "compute the demo admin's password and the demo apps' secrets (RFC 6749 "
                "§10.10: a generated credential must not be guessable, 2^-128 at most).",
                "NINJA_OAUTH_SECRET_KEY=$(python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))') (or delete the key file to have a new one "
                "made). A new key invalidates every client secret and token: rotate the "
                "secrets (ninja-oauth apps rotate-secret) and let clients sign in again.",
            )
        )
    for exposed in facts.exposed_files:
        found.append(
            Finding(
                "file-permissions",
                f"The {exposed.what} {exposed.path} has mode {stat.filemode(exposed.mode)} "
                f"and can be reached by {' and '.join(exposed.who)}.",
                (
                    "The key signs the session cookie and derives the demo credentials; "
                    if exposed.what == "secret key file"
                    else "It holds password hashes, token and client-secret digests, apps and "
                    "consents; "
                )
                + "other local users may read it, or change it (RFC 6749 §10.3, §10.4: "
                "credentials stay confidential in storage).",
                f"chmod 600 {shlex.quote(str(exposed.path))}"
                + (
                    "* (the database, its -wal and -shm files)"
                    if exposed.what == "database"
                    else ""
                )
                + "; or chmod 700 its directory.",
            )
        )
    return found


def key_weakness(key: str) -> str | None:
    """Why ``key`` is not a random secret, in words that give none of it away; None if it
    looks random. Conservative: a key from ``secrets.token_urlsafe`` never trips it."""
    folded = re.sub(r"[^a-z0-9]", "", key.lower())
    if any(word in folded for word in _PLACEHOLDERS):
        return "contains a well-known placeholder word"
    if len(set(key)) < MIN_KEY_DISTINCT_CHARACTERS:
        return f"has fewer than {MIN_KEY_DISTINCT_CHARACTERS} distinct characters"
    if _repeats_a_short_unit(key):
        return "repeats a short pattern"
    return None


def _repeats_a_short_unit(key: str, longest: int = 16) -> bool:
    return any(
        all(key[i] == key[i - unit] for i in range(unit, len(key)))
        for unit in range(1, min(longest, len(key) - 1) + 1)
    )


def _lifetimes_and_limits(settings: Settings) -> list[Finding]:
    found: list[Finding] = []
    if settings.access_token_ttl > MAX_ACCESS_TOKEN_TTL:
        found.append(
            Finding(
                "access-token-lifetime",
                f"NINJA_OAUTH_ACCESS_TOKEN_TTL is {settings.access_token_ttl} s "
                f"(over {MAX_ACCESS_TOKEN_TTL} s).",
                "Access tokens here are bearer tokens, not sender-constrained (RFC 9700 "
                "§2.2.1): a leaked one works for its whole lifetime. Short-lived access "
                "tokens renewed with refresh tokens are what RFC 9700 §4.14 relies on.",
                f"NINJA_OAUTH_ACCESS_TOKEN_TTL={MAX_ACCESS_TOKEN_TTL} (or less); clients "
                "renew with their refresh token.",
            )
        )
    if settings.refresh_token_ttl > MAX_REFRESH_TOKEN_TTL:
        found.append(
            Finding(
                "refresh-token-lifetime",
                f"NINJA_OAUTH_REFRESH_TOKEN_TTL is {settings.refresh_token_ttl} s "
                f"(over {MAX_REFRESH_TOKEN_TTL // 86400} days).",
                "Each rotated refresh token lives this long from its issue, so a client "
                "inactive that long keeps its grant: RFC 9700 §4.14.2 says refresh tokens "
                "SHOULD expire when the client has been inactive for some time.",
                f"NINJA_OAUTH_REFRESH_TOKEN_TTL={MAX_REFRESH_TOKEN_TTL} (90 days) or less; "
                "the default is 2592000 (30 days).",
            )
        )
    if settings.code_ttl > MAX_CODE_TTL:
        found.append(
            Finding(
                "code-lifetime",
                f"NINJA_OAUTH_CODE_TTL is {settings.code_ttl} s (over {MAX_CODE_TTL} s).",
                "A code leaked through history, Referer or logs (RFC 9700 §4.2, §4.3) is "
                "usable until it expires; RFC 6749 §4.1.2: a code MUST expire shortly after "
                "it is issued. Clients redeem theirs within seconds.",
                f"NINJA_OAUTH_CODE_TTL={MAX_CODE_TTL} (the default).",
            )
        )
    if settings.login_key_limit > MAX_LOGIN_KEY_LIMIT:
        found.append(
            Finding(
                "login-throttle-loose",
                f"NINJA_OAUTH_LOGIN_KEY_LIMIT is {settings.login_key_limit} failed logins "
                f"per account and address every {settings.throttle_window} s.",
                "RFC 6749 §10.10: the server MUST prevent guessing of passwords; NIST SP "
                f"800-63B §5.2.2 allows at most {MAX_LOGIN_KEY_LIMIT} consecutive failures "
                "on one account.",
                f"NINJA_OAUTH_LOGIN_KEY_LIMIT=5 (the default) or at most {MAX_LOGIN_KEY_LIMIT}.",
            )
        )
    return found


def exposed_file(what: str, path: Path) -> ExposedFile | None:
    """``path`` if group or other users may read or write it, as far as the mode bits of the
    file and of every directory above it show (a 0644 file in a 0700 directory is safe)."""
    try:
        resolved = path.resolve(strict=True)
        mode = resolved.stat().st_mode
        dirs = [d.stat().st_mode for d in resolved.parents]
    except OSError:
        return None
    who: list[str] = []
    for name, rw, x in (("group", 0o060, 0o010), ("others", 0o006, 0o001)):
        if mode & rw and all(d & x for d in dirs):
            who.append(name)
    return ExposedFile(what, path, mode, tuple(who)) if who else None

"""`ninja-oauth check`: every setting in force that departs from RFC 9700 or a safe deployment,
with its reason and its fix; `--strict` exits 1 on any (issue 12)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ninja_oauth.cli.commands import app as cli_app
from ninja_oauth.cli.deployment_checks import (
    Facts,
    demo_admin_password,
    exposed_file,
    findings,
    key_weakness,
)
from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.settings import Settings, load_settings
from ninja_oauth.store.db import Store
from ninja_oauth.store.demo import DEMO_ADMIN_EMAIL, ensure_demo
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.repositories import build_repositories
from tests.support.server import CLI

STRONG_KEY = secrets.token_urlsafe(48)
NO_FINDINGS = "No findings: nothing checked departs from RFC 9700 or a safe deployment.\n"

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what each test sets: no NINJA_OAUTH_* or PGSSLMODE from the machine."""
    for name in list(os.environ):
        if name.startswith("NINJA_OAUTH_") or name == "PGSSLMODE":
            monkeypatch.delenv(name)


@pytest.fixture
def safe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A deployment with nothing to report: strict profile, https behind a named proxy, a
    random key, a fresh SQLite file in a directory only its owner may enter. The database."""
    database = tmp_path / "ninja-oauth.db"
    for name, value in {
        "NINJA_OAUTH_DATABASE_URL": f"sqlite:///{database}",
        "NINJA_OAUTH_ISSUER": "https://auth.example.com",
        "NINJA_OAUTH_TRUSTED_PROXIES": '["10.0.0.5"]',
        "NINJA_OAUTH_PROFILE": "strict",
        "NINJA_OAUTH_SECRET_KEY": STRONG_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    return database


@pytest.fixture
def run() -> Run:
    """`ninja-oauth check ...` in-process, with the environment the test has set."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(cli_app, ["check", *args])

    return invoke


def ids(output: str) -> list[str]:
    return re.findall(r"^\[([a-z-]+)\] ", output, flags=re.MULTILINE)


def block(output: str, finding_id: str) -> str:
    """One finding's block: its first line, `why:` and `fix:`."""
    return output.split(f"[{finding_id}] ", 1)[1].split("\n\n", 1)[0]


def flat(text: str) -> str:
    """The text as one line (the command wraps its lines at 92 columns)."""
    return " ".join(text.split())


@pytest.fixture
def opened_store() -> Iterator[Callable[[], Store]]:
    """The migrated store of the environment's settings (factory; closed at the end)."""
    stores: list[Store] = []

    def make() -> Store:
        url = load_settings().url
        migrate(url)
        stores.append(Store(url))
        return stores[-1]

    yield make
    for store in stores:
        store.close()


def add_demo(store: Store) -> str:
    """What `serve --demo` creates; the demo admin's password."""
    hasher = SecretHasher(load_settings().key_bytes)
    with store.transaction():
        creds = ensure_demo(build_repositories(store), hasher)
    return creds.admin_password


def new_app(
    platform: Platform, grants: tuple[str, ...], profile: Profile | None, client_id: str = ""
) -> App:
    return App(
        client_id=client_id or "app-" + secrets.token_hex(8),
        name="Check test app",
        platform=platform,
        redirect_uris=("https://client.example/cb",),
        scopes=("monitoring",),
        grant_types=grants,
        secret_digest="d" * 64 if platform in (Platform.WEB, Platform.API_SERVICES) else None,
        created_at=1_700_000_000,
        profile=profile,
    )


def add_app(
    store: Store, platform: Platform, grants: tuple[str, ...], profile: Profile | None
) -> str:
    app = new_app(platform, grants, profile)
    build_repositories(store).apps.add(app)
    return app.client_id


# --- The command as an operator runs it -------------------------------------------------------


def test_a_default_setup_reports_the_faithful_profile_and_the_demo_and_exits_0(
    tmp_path: Path, opened_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `make run` leaves: default settings, the key file beside the database, demo data.
    Run as a user runs it: the installed command, in its own process."""
    monkeypatch.setenv("NINJA_OAUTH_DATABASE_URL", f"sqlite:///{tmp_path / 'ninja-oauth.db'}")
    password = add_demo(opened_store())
    key = (tmp_path / "secret-key").read_text().strip()

    result = subprocess.run(
        [*CLI, "check"], env=dict(os.environ), capture_output=True, text=True, timeout=60
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert ids(result.stdout) == [
        "issuer-http",
        "profile-faithful",
        "app-faithful",  # the demo native app: plain PKCE
        "app-faithful",  # the demo SPA: implicit and plain PKCE
        "demo-admin",
        "demo-apps",
    ]
    faithful = flat(block(result.stdout, "profile-faithful"))
    assert 'NINJA_OAUTH_PROFILE is "faithful"' in faithful
    assert "RFC 9700 §2.1.2" in faithful
    assert "\n  fix: NINJA_OAUTH_PROFILE=strict" in block(result.stdout, "profile-faithful")
    assert "prints on every start" in flat(block(result.stdout, "demo-admin"))
    assert result.stdout.endswith("\n6 findings (with --strict, check exits 1 on any).\n")
    assert password not in result.stdout
    assert key not in result.stdout


def test_strict_exits_1_on_a_default_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    monkeypatch.setenv("NINJA_OAUTH_DATABASE_URL", f"sqlite:///{tmp_path / 'ninja-oauth.db'}")
    result = run("--strict")
    assert result.exit_code == 1
    assert ids(result.stdout) == ["issuer-http", "profile-faithful"]
    assert result.stdout.endswith("\n2 findings.\n")


def test_a_safe_setup_reports_nothing_and_passes_strict(
    safe: Path, opened_store: Callable[[], Store], run: Run
) -> None:
    # An SPA with the implicit grant that follows the strict server profile: nothing is on.
    add_app(opened_store(), Platform.SPA, ("authorization_code", "implicit"), None)
    result = run("--strict")
    assert (result.exit_code, result.stdout) == (0, NO_FINDINGS)
    assert run().stdout == NO_FINDINGS


SETTING_CASES = [
    ("ISSUER", "http://127.0.0.1:8080", "issuer-http", "RFC 6749 §3.1"),
    ("TRUSTED_PROXIES", "[]", "no-trusted-proxies", "NINJA_OAUTH_TRUSTED_PROXIES="),
    ("TRUSTED_PROXIES", '["10.0.0.0/8"]', "trusted-proxy-not-an-address", "'10.0.0.0/8'"),
    ("PROFILE", "faithful", "profile-faithful", "NINJA_OAUTH_PROFILE=strict"),
    ("DEMO", "true", "demo-enabled", "NINJA_OAUTH_DEMO is true"),
    ("ACCESS_TOKEN_TTL", "3601", "access-token-lifetime", "NINJA_OAUTH_ACCESS_TOKEN_TTL=3600"),
    ("REFRESH_TOKEN_TTL", str(91 * 86400), "refresh-token-lifetime", "RFC 9700 §4.14.2"),
    ("CODE_TTL", "61", "code-lifetime", "NINJA_OAUTH_CODE_TTL=60"),
    ("LOGIN_KEY_LIMIT", "101", "login-throttle-loose", "NIST SP 800-63B §5.2.2"),
]


@pytest.mark.parametrize(
    ("setting", "value", "finding", "shown"), SETTING_CASES, ids=[c[2] for c in SETTING_CASES]
)
def test_each_setting_finding_alone(
    safe: Path,
    monkeypatch: pytest.MonkeyPatch,
    run: Run,
    setting: str,
    value: str,
    finding: str,
    shown: str,
) -> None:
    monkeypatch.setenv(f"NINJA_OAUTH_{setting}", value)
    result = run()
    assert result.exit_code == 0
    assert ids(result.stdout) == [finding]
    assert shown in flat(block(result.stdout, finding))
    assert re.search(r"^  why: .+\n(?:.*\n)*  fix: .+", block(result.stdout, finding), re.M)
    assert run("--strict").exit_code == 1


def test_the_limits_themselves_are_not_findings(
    safe: Path, monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    """An hour of access token, 90 days of refresh token, 60 s of code, 100 failed logins."""
    monkeypatch.setenv("NINJA_OAUTH_ACCESS_TOKEN_TTL", "3600")
    monkeypatch.setenv("NINJA_OAUTH_REFRESH_TOKEN_TTL", str(90 * 86400))
    monkeypatch.setenv("NINJA_OAUTH_CODE_TTL", "60")
    monkeypatch.setenv("NINJA_OAUTH_LOGIN_KEY_LIMIT", "100")
    assert run().stdout == NO_FINDINGS


@pytest.mark.parametrize(
    "key",
    [
        "changeme-changeme-changeme-changeme",
        "a" * 40,
        "abcdefghijkl" * 4,
        "my-django-insecure-key-for-production-0000",
    ],
    ids=["placeholder", "one-character", "repeated-pattern", "insecure"],
)
def test_a_weak_secret_key_is_reported_without_its_value(
    safe: Path, monkeypatch: pytest.MonkeyPatch, run: Run, key: str
) -> None:
    monkeypatch.setenv("NINJA_OAUTH_SECRET_KEY", key)
    result = run()
    assert ids(result.stdout) == ["weak-secret-key"]
    assert "The secret key (NINJA_OAUTH_SECRET_KEY) " in flat(result.stdout)
    assert key not in result.stdout
    assert key[:12] not in result.stdout


def test_the_demo_admin_and_apps_are_reported(
    safe: Path, opened_store: Callable[[], Store], run: Run
) -> None:
    password = add_demo(opened_store())
    result = run()
    assert ids(result.stdout) == ["demo-admin", "demo-apps"]
    admin = flat(block(result.stdout, "demo-admin"))
    assert f"The demo admin account {DEMO_ADMIN_EMAIL} exists" in admin
    assert "the one `serve --demo` prints on every start" in admin
    assert f"sqlite3 {safe} " in admin
    demo_ids = re.findall(
        r"demo-(?:api-services|web|native|spa)-[\w-]{10}(?![\w-])",
        block(result.stdout, "demo-apps"),
    )
    assert len(set(demo_ids)) == 4
    assert password not in result.stdout


def test_the_demo_derivation_is_the_one_ensure_demo_uses(
    safe: Path, opened_store: Callable[[], Store]
) -> None:
    """The check recomputes the demo admin's password; it must be the printed one."""
    assert demo_admin_password(SecretHasher(STRONG_KEY.encode())) == add_demo(opened_store())


def test_an_app_marked_faithful_under_a_strict_server_is_strict_and_not_reported(
    safe: Path, opened_store: Callable[[], Store], run: Run
) -> None:
    """The stricter of the two profiles applies (oauth/profiles.py): an app cannot loosen."""
    add_app(opened_store(), Platform.SPA, ("authorization_code", "implicit"), Profile.FAITHFUL)
    assert run().stdout == NO_FINDINGS


def test_under_a_faithful_server_only_apps_not_marked_strict_are_listed(
    safe: Path, opened_store: Callable[[], Store], monkeypatch: pytest.MonkeyPatch, run: Run
) -> None:
    store = opened_store()
    add_app(store, Platform.SPA, ("authorization_code", "implicit"), Profile.STRICT)
    spa = add_app(store, Platform.SPA, ("authorization_code", "implicit", "refresh_token"), None)
    native = add_app(store, Platform.NATIVE, ("authorization_code",), Profile.FAITHFUL)
    add_app(store, Platform.WEB, ("authorization_code",), None)  # profile-faithful's concern
    monkeypatch.setenv("NINJA_OAUTH_PROFILE", "faithful")
    result = run()
    assert ids(result.stdout) == ["profile-faithful", "app-faithful", "app-faithful"]
    assert "not registered with --profile strict (3 now)" in flat(result.stdout)
    first, second = (flat(b) for b in result.stdout.split("[app-faithful] ")[1:])
    assert first.startswith(
        f"App {spa} (spa) follows the faithful profile: the implicit grant is on; "
        "plain PKCE is accepted."
    )
    assert (
        "fix: NINJA_OAUTH_PROFILE=strict; or, for this app alone: "
        f"ninja-oauth apps set-profile {spa} strict"
    ) in first
    assert second.startswith(
        f"App {native} (native) follows the faithful profile: plain PKCE is accepted."
    )


@pytest.fixture
def open_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A directory every user may enter (pytest's own tmp directories are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="ninja-oauth-check-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_a_database_others_may_read_is_reported(
    safe: Path,
    open_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    opened_store: Callable[[], Store],
    run: Run,
) -> None:
    database = open_dir / "ninja-oauth.db"
    monkeypatch.setenv("NINJA_OAUTH_DATABASE_URL", f"sqlite:///{database}")
    opened_store().close()
    database.chmod(0o644)
    result = run()
    assert ids(result.stdout) == ["file-permissions"]
    assert f"The database {database} has mode -rw-r--r--" in flat(result.stdout)
    assert f"fix: chmod 600 {database}* (the database, its -wal and -shm files)" in result.stdout

    database.chmod(0o600)
    assert run().stdout == NO_FINDINGS


def test_a_wal_others_may_read_is_reported_when_the_database_is_not(
    safe: Path,
    open_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    opened_store: Callable[[], Store],
    run: Run,
) -> None:
    """A WAL takes its database's mode when made, and keeps it if the database is chmod-ed
    later while a server holds the WAL open."""
    database = open_dir / "ninja-oauth.db"
    monkeypatch.setenv("NINJA_OAUTH_DATABASE_URL", f"sqlite:///{database}")
    opened_store().close()
    with sqlite3.connect(database) as holder:  # a server process, keeping the WAL
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
        holder.execute("INSERT INTO t VALUES (1)")
        holder.commit()
        wal = open_dir / "ninja-oauth.db-wal"
        wal.chmod(0o644)
        database.chmod(0o600)
        result = run()
    holder.close()
    assert ids(result.stdout) == ["file-permissions"]
    assert f"The database WAL {wal} has mode -rw-r--r--" in flat(result.stdout)


def test_a_key_file_the_group_may_read_is_reported(
    safe: Path,
    open_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    opened_store: Callable[[], Store],
    run: Run,
) -> None:
    database = open_dir / "ninja-oauth.db"
    monkeypatch.setenv("NINJA_OAUTH_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.delenv("NINJA_OAUTH_SECRET_KEY")  # the key file beside the database
    opened_store().close()
    database.chmod(0o600)
    key_file = open_dir / "secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run().stdout == NO_FINDINGS

    key_file.chmod(0o640)
    result = run()
    assert ids(result.stdout) == ["file-permissions"]
    assert (
        f"The secret key file {key_file} has mode -rw-r----- and can be reached by group."
        in flat(result.stdout)
    )
    assert key_file.read_text().strip() not in result.stdout


def test_an_unreachable_database_is_one_line_on_stderr() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_OAUTH_")}
    env["NINJA_OAUTH_DATABASE_URL"] = "postgresql+psycopg://ops:hunter2-pw@127.0.0.1:1/auth"
    env["NINJA_OAUTH_SECRET_KEY"] = STRONG_KEY
    result = subprocess.run([*CLI, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "ninja-oauth: cannot open the database (OperationalError): check NINJA_OAUTH_DATABASE_URL\n"
    )


# --- The rules themselves (no store) ---------------------------------------------------------


def settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "database_url": "sqlite:///unused.db",
        "issuer": "https://auth.example.com",
        "trusted_proxies": ["10.0.0.5"],
        "profile": "strict",
        "secret_key": STRONG_KEY,
    }
    return Settings(**{**base, **values})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "pgsslmode", "reported"),
    [
        ("postgresql+psycopg://ops:hunter2-pw@db.internal/auth", None, True),
        ("postgresql+psycopg://ops:hunter2-pw@db.internal/auth?sslmode=prefer", None, True),
        ("postgresql+psycopg://ops:hunter2-pw@db.internal/auth?sslmode=verify-full", None, False),
        ("postgresql+psycopg://ops:hunter2-pw@db.internal/auth", "require", False),
        ("postgresql+psycopg://ops:hunter2-pw@127.0.0.1/auth", None, False),
        ("postgresql+psycopg://ops@/auth?host=/run/postgresql", None, False),
    ],
    ids=["no-sslmode", "prefer", "verify-full", "pgsslmode", "loopback", "socket"],
)
def test_postgresql_off_the_machine_needs_tls(
    url: str, pgsslmode: str | None, reported: bool
) -> None:
    found = findings(settings(database_url=url), Facts(pgsslmode=pgsslmode))
    assert [f.id for f in found] == (["database-without-tls"] if reported else [])
    for f in found:
        assert "on db.internal with sslmode=" in f.on
        assert "sslmode=verify-full" in f.fix
        assert "hunter2" not in f.on + f.why + f.fix


def test_a_demo_admin_whose_password_changed_is_still_reported() -> None:
    found = findings(settings(), Facts(demo_admin=True, demo_admin_password_derived=False))
    assert [f.id for f in found] == ["demo-admin"]
    assert "no longer the one derived from the current key" in found[0].on


def test_apps_that_gain_nothing_from_faithful_are_not_listed() -> None:
    m2m = new_app(Platform.API_SERVICES, ("client_credentials",), None, "m2m")
    web = new_app(Platform.WEB, ("authorization_code", "refresh_token"), None, "web")
    spa = new_app(Platform.SPA, ("authorization_code", "implicit"), None, "spa")
    found = findings(settings(profile="faithful"), Facts(apps=(m2m, web, spa)))
    assert [(f.id, f.on.split()[1]) for f in found] == [
        ("profile-faithful", "is"),
        ("app-faithful", "spa"),
    ]


@pytest.mark.parametrize(
    "key",
    [
        secrets.token_urlsafe(24),
        secrets.token_urlsafe(48),
        secrets.token_hex(16),
        "correct horse battery staple, purple monkey dishwasher",
    ],
    ids=["urlsafe-32", "urlsafe-64", "hex-32", "passphrase"],
)
def test_random_keys_and_passphrases_are_not_weak(key: str) -> None:
    assert key_weakness(key) is None


def test_a_file_in_a_private_directory_is_not_exposed_whatever_its_mode(open_dir: Path) -> None:
    private = open_dir / "private"
    private.mkdir(mode=0o700)
    database = private / "ninja-oauth.db"
    database.write_text("")
    database.chmod(0o666)
    assert exposed_file("database", database) is None
    private.chmod(0o711)  # others may enter, not list: the file is still reachable by name
    exposed = exposed_file("database", database)
    assert exposed is not None
    assert exposed.who == ("group", "others")

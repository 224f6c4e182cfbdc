"""One frozen Settings object, read from ``NINJA_OAUTH_*`` variables (or CLI flags) at the edge."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from authlib.common.security import is_secure_transport
from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ninja_oauth.limits import PendingLimits
from ninja_oauth.oauth.config import Issuer, Lifetimes, Policy, ThrottleLimits
from ninja_oauth.oauth.profiles import Profile

DEFAULT_ISSUER = "http://127.0.0.1:8080"

# Upper bounds of the number settings: past any sensible value and far inside the 64-bit time
# columns and the `now + lifetime` arithmetic, so that a typo stops the server at start, naming
# the setting, instead of failing every request it touches.
TEN_YEARS = 10 * 365 * 24 * 3600
MAX_COUNT = 1_000_000
MAX_HASH_CONCURRENCY = 1024

# A JSON list of strings. NoDecode: we decode it ourselves (`_a_json_list`), so that a value that
# is not JSON is refused naming the setting, as any other bad value is.
JsonList = Annotated[list[str], NoDecode]


class SettingsError(Exception):
    """A setting is missing or unsafe; the message names it (and never its value)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NINJA_OAUTH_", frozen=True, extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; default: SQLite in the user's data directory.",
    )
    issuer: str = Field(default=DEFAULT_ISSUER, description="Public base URL of this server.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs sessions and keys every secret digest; required with PostgreSQL.",
    )
    access_token_ttl: int = Field(
        default=3600, ge=1, le=TEN_YEARS, description="Access token lifetime (s)."
    )
    code_ttl: int = Field(default=60, ge=1, le=600, description="Authorization code lifetime (s).")
    refresh_token_ttl: int = Field(
        default=30 * 24 * 3600, ge=60, le=TEN_YEARS, description="Refresh token lifetime (s)."
    )
    trusted_proxies: JsonList = Field(
        default_factory=list,
        description="Peer addresses whose X-Forwarded-For is believed (default: none).",
    )
    client_auth_key_limit: int = Field(
        default=10,
        ge=1,
        le=MAX_COUNT,
        description="Failed client authentications per (client, address).",
    )
    client_auth_address_limit: int = Field(
        default=50, ge=1, le=MAX_COUNT, description="Failed client authentications per address."
    )
    login_key_limit: int = Field(
        default=5, ge=1, le=MAX_COUNT, description="Failed logins per (account, address)."
    )
    login_address_limit: int = Field(
        default=30, ge=1, le=MAX_COUNT, description="Failed logins per address."
    )
    throttle_window: int = Field(
        default=300, ge=1, le=7 * 24 * 3600, description="Failure counting window (s)."
    )
    # At most the longest block there is (store/repositories/throttle.py MAX_BLOCK): the block
    # doubles from this one up to an hour.
    throttle_block: int = Field(default=60, ge=1, le=3600, description="First block length (s).")
    pending_per_browser: int = Field(
        default=10,
        ge=1,
        le=MAX_COUNT,
        description="Sign-in requests kept per browser (older ones dropped).",
    )
    pending_per_address: int = Field(
        default=100,
        ge=1,
        le=MAX_COUNT,
        description="Sign-in requests kept per address (IPv6: per /64).",
    )
    # At most what a form may carry (web/authlib_adapter.py MAX_FORM_BYTES): no authorize
    # request is larger.
    pending_max_bytes: int = Field(
        default=8192,
        ge=1024,
        le=64 * 1024,
        description="Largest authorize request kept for sign-in (bytes).",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,  # a body is read whole into memory
        description="Largest request body of a /v2 write (bytes); forms take at most 64 KiB.",
    )
    body_timeout: float = Field(
        default=10.0, gt=0, le=3600, description="Seconds a request body may take to arrive."
    )
    usage_flush_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How often each worker writes its token counts to the audit log (s).",
    )
    password_hash_concurrency: int = Field(
        default_factory=lambda: min(len(os.sched_getaffinity(0)) or 1, MAX_HASH_CONCURRENCY),
        ge=1,
        le=MAX_HASH_CONCURRENCY,
        description="Password checks run at once per worker (19 MiB each; default: usable cores).",
    )
    profile: Literal["faithful", "strict"] = Field(
        default="faithful",
        description="faithful: every flow the documents describe; strict: what RFC 9700 advises "
        "against is off (an app's own profile can only make it stricter).",
    )
    introspection_resource_servers: JsonList = Field(
        default_factory=list,
        description="Client ids of the resource servers: they may introspect other apps' access "
        "tokens (never their refresh tokens); any other app only its own tokens.",
    )
    webhook_allowed_hosts: JsonList = Field(
        default_factory=list,
        description="Hosts (JSON list of names or addresses) webhooks may point to besides "
        "loopback; link-local and cloud metadata addresses are refused even if listed.",
    )
    webhook_allow_loopback: bool = Field(
        default=True,
        description="Whether webhooks may target loopback (127.0.0.1, ::1, localhost): for local "
        "development; turn it off where other services listen on the server's loopback.",
    )
    demo: bool = Field(default=False, description="Create the demo admin, apps and data.")
    access_log: bool = Field(
        default=False,
        description="Log one line per request (method, path without query, status, time).",
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_is_a_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or "?" in value or "#" in value:
            raise ValueError("must be an http(s) URL with no query or fragment")
        if not is_secure_transport(value):
            # Authlib's own check, which the protocol endpoints make on every request (RFC 6749
            # §3.1 requires TLS off loopback): say so now rather than answer every token
            # request with a 500. `serve --host 0.0.0.0` alone comes here.
            raise ValueError(
                "plain http on a host that is not loopback; set it to the https URL "
                "clients reach this server at (or http://127.0.0.1, http://localhost or "
                "http://[::1] with the port, for local use)"
            )
        return value.rstrip("/")

    @field_validator(
        "trusted_proxies", "introspection_resource_servers", "webhook_allowed_hosts", mode="before"
    )
    @classmethod
    def _a_json_list(cls, value: object) -> object:
        if not isinstance(value, str):  # a list given in code (tests, CLI overrides)
            return value
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if not isinstance(decoded, list):
            raise ValueError('must be a JSON list of strings, such as ["one", "two"]')
        return decoded  # its items are then checked as strings

    @field_validator("secret_key")
    @classmethod
    def _secret_key_is_long(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    # The core's slices of the settings (STYLE §10: components get values, not the whole object).
    @property
    def lifetimes(self) -> Lifetimes:
        return Lifetimes(
            access_token=self.access_token_ttl,
            code=self.code_ttl,
            refresh_token=self.refresh_token_ttl,
        )

    @property
    def issuer_value(self) -> Issuer:
        return Issuer(self.issuer)

    @property
    def throttle_limits(self) -> ThrottleLimits:
        return ThrottleLimits(
            client_auth_key=self.client_auth_key_limit,
            client_auth_address=self.client_auth_address_limit,
            login_key=self.login_key_limit,
            login_address=self.login_address_limit,
            window=self.throttle_window,
            block=self.throttle_block,
        )

    @property
    def pending_limits(self) -> PendingLimits:
        return PendingLimits(
            per_browser=self.pending_per_browser,
            per_address=self.pending_per_address,
            max_bytes=self.pending_max_bytes,
        )

    @property
    def policy(self) -> Policy:
        return Policy(
            profile=Profile(self.profile),
            introspection_resource_servers=frozenset(self.introspection_resource_servers),
        )

    @property
    def key_bytes(self) -> bytes:
        if self.secret_key is None:
            raise SettingsError("NINJA_OAUTH_SECRET_KEY is not set")
        return self.secret_key.get_secret_value().encode()

    @property
    def url(self) -> str:
        if self.database_url is None:
            raise SettingsError("NINJA_OAUTH_DATABASE_URL is not set")
        return self.database_url


def data_dir() -> Path:
    return Path(user_data_dir("ninja-oauth"))


def _sqlite_path(url: str) -> Path | None:
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            rest = url[len(prefix) :].split("?", 1)[0]
            return Path(rest) if rest and rest != ":memory:" else None
    return None


def _read_or_create_key(path: Path) -> str:
    """The secret key beside the SQLite file: created once, atomically, mode 0600.

    Written to a temporary file, synced, then linked into place, so no process can ever read a
    partly written key; a key file that is too short or cannot be read is refused, never used
    (nor replaced: a new key would invalidate every secret and token).
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            _create_key(path)
    except OSError as exc:
        # mkdir(exist_ok=True) says FileExistsError when the directory's name is a file.
        why = f"{path.parent} is not a directory" if isinstance(exc, FileExistsError) else _why(exc)
        raise SettingsError(f"cannot create the secret key file {path}: {why}") from None
    try:
        key = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        raise SettingsError(f"the secret key file {path} is not UTF-8 text") from None
    except OSError as exc:
        # A dangling link: exists() said no key, the new one could not take the name, and the
        # read follows the link to nothing.
        why = "a symbolic link to a missing file" if path.is_symlink() else _why(exc)
        raise SettingsError(f"cannot read the secret key file {path}: {why}") from None
    if len(key) < 32:
        raise SettingsError(f"the secret key file {path} is shorter than 32 characters")
    return key


def _create_key(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _why(exc: OSError) -> str:
    """The system's words for an OSError ("Permission denied", "Is a directory")."""
    return exc.strerror or type(exc).__name__


def load_settings(**overrides: Any) -> Settings:
    """Read the environment, apply CLI overrides, and fill in the database URL and secret key.

    A bad setting raises SettingsError with one line naming it.
    """
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "NINJA_OAUTH_" + str(first["loc"][0]).upper() if first["loc"] else "a setting"
        raise SettingsError(f"{name}: {first['msg']}") from None
    url = settings.database_url
    if url is None:
        path = data_dir() / "ninja-oauth.db"
        # Only its owner may read the database and the key beside it.
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            why = "a file has its name" if isinstance(exc, FileExistsError) else _why(exc)
            raise SettingsError(
                f"cannot create the data directory {path.parent}: {why} "
                "(or set NINJA_OAUTH_DATABASE_URL)"
            ) from None
        url = f"sqlite:///{path}"
    key = settings.secret_key
    if key is None:
        sqlite_file = _sqlite_path(url)
        if sqlite_file is None:
            raise SettingsError(
                "NINJA_OAUTH_SECRET_KEY is required when the database is not a SQLite file"
            )
        key = SecretStr(_read_or_create_key(sqlite_file.parent / "secret-key"))
    return settings.model_copy(update={"database_url": url, "secret_key": key})

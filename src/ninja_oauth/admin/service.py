"""The administration's operations, one service for the CLI, the console and the admin API, so
the three never disagree (issue 11): apps, users, consents, revocations and the audit log.

Each method is synchronous and runs inside one unit of work (``Store.run(..., Writes.CHANGES)``
on the server, the CLI's own transaction): what it changes and its audit event commit together.
Password hashing is the caller's, outside that unit (``new_password``): argon2 takes tens of
milliseconds and must not hold the writer.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.registry import (
    RegistrationError,
    edit_app,
    register_app,
    rotate_secret,
)
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.oauth.usage import Usage
from ninja_oauth.passwords import MIN_PASSWORD_LENGTH, hash_password
from ninja_oauth.store.repositories.administration import (
    AuditFilter,
    AuditRow,
    ConsentRow,
    SqlAdministration,
    UserRow,
)

PAGE_SIZE = 50
T = TypeVar("T")
MAX_PAGE_SIZE = 500


# Users, consents and audit events are numbered in INTEGER columns (store/tables.py): an id
# beyond them names no row (the console's paths take any number; the admin API's schema bounds
# its own with this). Times are Unix seconds in BIGINT columns: the latest one accepted stays
# far inside them (the admin API and the audit command).
ROW_ID_MAX = 2**31 - 1
TIME_MAX = 2**62


def _row_id(value: int) -> bool:
    return 1 <= value <= ROW_ID_MAX


class AdminError(Exception):
    """A refused operation: ``status`` is its HTTP status, ``field`` the input at fault."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(AdminError):
    status = 400


class NotFound(AdminError):
    status = 404


class Conflict(AdminError):
    status = 409


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: an admin's email, ``cli``, or ``client:<client_id>``; and from where."""

    name: str
    address: str | None = None


CLI = Actor("cli")


@dataclass(frozen=True, slots=True)
class NewPassword:
    """A password that passed the rules, already hashed (``new_password``)."""

    hash: str


def new_password(password: str, field: str = "password") -> NewPassword:
    """Check and hash a new password (slow: call it outside the store's writer)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.", field)
    if len(password) > 1024:
        raise Invalid("The password may have at most 1024 characters.", field)
    return NewPassword(hash_password(password))


def checked_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if (
        not at
        or not local
        or not domain
        or len(email) > 320
        or any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in email)
    ):
        raise Invalid(f"{email!r} is not an email address.", "email")
    return email


def _platform(value: str) -> Platform:
    try:
        return Platform(value)
    except ValueError:
        raise Invalid(
            f"Unknown platform {value!r}: choose api_services, web, native or spa.", "platform"
        ) from None


@dataclass(frozen=True, slots=True)
class AppView:
    app: App
    last_used_at: int | None

    def as_json(self) -> dict[str, Any]:
        app = self.app
        return {
            "client_id": app.client_id,
            "name": app.name,
            "platform": app.platform.value,
            "redirect_uris": list(app.redirect_uris),
            "scopes": list(app.scopes),
            "grant_types": list(app.grant_types),
            "created_at": app.created_at,
            "last_used_at": self.last_used_at,
            "admin": app.is_admin,
            "confidential": app.confidential,
        }


@dataclass(frozen=True, slots=True)
class UserView:
    row: UserRow

    @property
    def disabled(self) -> bool:
        return self.row.disabled_at is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.row.id,
            "email": self.row.email,
            "admin": self.row.is_admin,
            "disabled": self.disabled,
            "created_at": self.row.created_at,
        }


def consent_json(row: ConsentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "user": row.email,
        "user_id": row.user_id,
        "client_id": row.client_id,
        "app_name": row.app_name,
        "scopes": row.scope.split(),
        "granted_at": row.granted_at,
    }


def audit_json(row: AuditRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at,
        "kind": row.event,
        "client_id": row.client_id,
        "user": row.email,
        "user_id": row.user_id,
        "actor": row.actor,
        "address": row.address,
        "detail": row.detail,
    }


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


def page_bounds(offset: int, limit: int) -> tuple[int, int]:
    if offset < 0:
        raise Invalid("offset must be 0 or more.", "offset")
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE_SIZE}.", "limit")
    return offset, limit


class Administration:
    def __init__(
        self,
        repos: Repositories,
        admin: SqlAdministration,
        hasher: SecretHasher,
        server_profile: Profile = Profile.FAITHFUL,
        clock: Any = time.time,
    ) -> None:
        self.repos = repos
        self.admin = admin
        self.hasher = hasher
        self.server_profile = server_profile
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    def _audit(
        self,
        actor: Actor,
        event: str,
        *,
        client_id: str | None = None,
        user_id: int | None = None,
        **detail: object,
    ) -> None:
        self.repos.audit.record(
            event,
            client_id=client_id,
            user_id=user_id,
            actor=actor.name,
            address=actor.address,
            **detail,
        )

    # -- apps ----------------------------------------------------------------------------

    def apps(self, search: str = "", offset: int = 0, limit: int = PAGE_SIZE) -> Page[AppView]:
        offset, limit = page_bounds(offset, limit)
        found, total = self.admin.app_page(search.strip()[:200], offset, limit)
        return Page([AppView(app, used) for app, used in found], total, offset, limit)

    def _app(self, client_id: str) -> App:
        app = self.repos.apps.get(client_id)
        if app is None:
            raise NotFound(f"No app has the client_id {client_id!r}.", "client_id")
        return app

    def app(self, client_id: str) -> AppView:
        app = self._app(client_id)
        return AppView(app, self.admin.last_used([client_id]).get(client_id))

    def create_app(
        self,
        actor: Actor,
        *,
        name: str,
        platform: str,
        redirect_uris: Sequence[str] = (),
        scopes: Sequence[str] = (),
        grant_types: Sequence[str] = (),
        is_admin: bool = False,
        profile: Profile | None = None,
    ) -> tuple[AppView, str | None]:
        """Register an app; its secret (confidential apps) is returned this once."""
        try:
            new = register_app(
                self.repos.apps,
                self.hasher,
                name=name,
                platform=_platform(platform),
                redirect_uris=redirect_uris,
                scopes=scopes,
                grant_types=grant_types,
                profile=profile,
                server_profile=self.server_profile,
                is_admin=is_admin,
            )
        except RegistrationError as exc:
            raise Invalid(str(exc), exc.field) from None
        app = new.app
        self._audit(
            actor,
            "app_created",
            client_id=app.client_id,
            name=app.name,
            platform=app.platform.value,
            admin=app.is_admin,
        )
        return AppView(app, None), new.client_secret

    def edit_app(
        self,
        actor: Actor,
        client_id: str,
        *,
        name: str | None = None,
        redirect_uris: Sequence[str] | None = None,
        scopes: Sequence[str] | None = None,
        grant_types: Sequence[str] | None = None,
    ) -> AppView:
        app = self._app(client_id)
        try:
            changed = edit_app(
                self.repos.apps,
                app,
                name=name,
                redirect_uris=redirect_uris,
                scopes=scopes,
                grant_types=grant_types,
                server_profile=self.server_profile,
            )
        except RegistrationError as exc:
            raise Invalid(str(exc), exc.field) from None
        fields = [
            f
            for f, before, after in (
                ("name", app.name, changed.name),
                ("redirect_uris", app.redirect_uris, changed.redirect_uris),
                ("scopes", app.scopes, changed.scopes),
                ("grant_types", app.grant_types, changed.grant_types),
            )
            if before != after
        ]
        if fields:
            self._audit(actor, "app_changed", client_id=client_id, fields=fields)
        return self.app(client_id)

    def set_profile(self, actor: Actor, client_id: str, profile: Profile | None) -> AppView:
        """The app's own profile (None: the server's); the stricter of the two applies."""
        self._app(client_id)
        self.repos.apps.set_profile(client_id, profile)
        self._audit(
            actor,
            "app_changed",
            client_id=client_id,
            fields=["profile"],
            profile=profile.value if profile else "default",
        )
        return self.app(client_id)

    def rotate_secret(self, actor: Actor, client_id: str) -> str:
        """A new secret, returned this once; the old one stops working at once."""
        self._app(client_id)
        try:
            new = rotate_secret(self.repos.apps, self.hasher, client_id)
        except RegistrationError as exc:
            raise Conflict(str(exc), exc.field) from None
        assert new.client_secret is not None
        self._audit(actor, "secret_rotated", client_id=client_id)
        return new.client_secret

    def delete_app(self, actor: Actor, client_id: str) -> None:
        """The app goes, and its codes, tokens and consents with it."""
        app = self._app(client_id)
        self.repos.apps.delete(client_id)
        self._audit(actor, "app_deleted", client_id=client_id, name=app.name)

    def revoke_app_tokens(self, actor: Actor, client_id: str) -> int:
        self._app(client_id)
        count = self.admin.revoke_tokens(self._now(), client_id=client_id)
        self._audit(actor, "tokens_revoked", client_id=client_id, count=count, of="app")
        return count

    # -- users ---------------------------------------------------------------------------

    def users(self, search: str = "", offset: int = 0, limit: int = PAGE_SIZE) -> Page[UserView]:
        offset, limit = page_bounds(offset, limit)
        rows, total = self.admin.user_page(search.strip()[:320], offset, limit)
        return Page([UserView(r) for r in rows], total, offset, limit)

    def user(self, user_id: int) -> UserView:
        row = self.admin.user(user_id) if _row_id(user_id) else None
        if row is None:
            raise NotFound(f"No user has the id {user_id}.", "id")
        return UserView(row)

    def user_by_email(self, email: str) -> UserView:
        user_id = self.admin.user_id_of(email)
        if user_id is None:
            raise NotFound(f"No user has the email {email.strip().lower()!r}.", "user")
        return self.user(user_id)

    def create_user(
        self, actor: Actor, email: str, password: NewPassword, admin: bool = False
    ) -> UserView:
        email = checked_email(email)
        if self.admin.user_id_of(email) is not None:
            raise Conflict(f"A user with the email {email!r} already exists.", "email")
        try:
            user = self.repos.users.add(email, password.hash, admin)
        except IntegrityError:  # the same email, added at the same moment
            raise Conflict(f"A user with the email {email!r} already exists.", "email") from None
        self._audit(actor, "user_created", user_id=user.id, admin=admin)
        return self.user(user.id)

    def change_user(
        self,
        actor: Actor,
        user_id: int,
        *,
        disabled: bool | None = None,
        admin: bool | None = None,
        password: NewPassword | None = None,
    ) -> UserView:
        """Disable or enable, grant or remove admin, reset the password. Disabling revokes the
        user's tokens and ends their sessions at once; the last enabled admin stays one."""
        user = self.user(user_id)
        changes: dict[str, Any] = {}
        said: list[str] = []
        if disabled is not None and disabled != user.disabled:
            changes["disabled_at"] = self._now() if disabled else None
            said.append("disabled" if disabled else "enabled")
        if admin is not None and admin != user.row.is_admin:
            changes["is_admin"] = admin
            said.append("admin_granted" if admin else "admin_removed")
        if password is not None:
            changes["password_hash"] = password.hash
            said.append("password_reset")
        losing_admin = (
            user.row.is_admin
            and not user.disabled
            and (changes.get("is_admin") is False or ("disabled_at" in changes and bool(disabled)))
        )
        if losing_admin and self.admin.admins_enabled_locked() <= 1:
            raise Conflict(
                "This is the last enabled administrator: make another admin first.",
                "admin" if changes.get("is_admin") is False else "disabled",
            )
        if changes:
            self.admin.set_user(user_id, **changes)
        if disabled or password is not None:
            # A reset password ends the sessions signed in with the old one too.
            self.admin.end_sessions(user_id)
        if disabled and "disabled_at" in changes:
            self.admin.revoke_tokens(self._now(), user_id=user_id)
        if said:
            self._audit(actor, "user_changed", user_id=user_id, changes=said)
        return self.user(user_id)

    def revoke_user_tokens(self, actor: Actor, user_id: int) -> int:
        self.user(user_id)
        count = self.admin.revoke_tokens(self._now(), user_id=user_id)
        self._audit(actor, "tokens_revoked", user_id=user_id, count=count, of="user")
        return count

    # -- consents ------------------------------------------------------------------------

    def consents(
        self, *, client_id: str | None = None, user_id: int | None = None
    ) -> list[ConsentRow]:
        return self.admin.consents(client_id=client_id or None, user_id=user_id)

    def revoke_consent(self, actor: Actor, consent_id: int, *, owner: int | None = None) -> None:
        """The consent goes, and the tokens and codes it bought stop working at once. With
        ``owner``, only that user's own consent may go (``/account/apps``)."""
        row = self.admin.consent(consent_id) if _row_id(consent_id) else None
        if row is None or (owner is not None and row.user_id != owner):
            raise NotFound(f"No consent has the id {consent_id}.", "id")
        if not self.admin.delete_consent(consent_id):
            raise NotFound(f"No consent has the id {consent_id}.", "id")  # revoked meanwhile
        count = self.admin.revoke_tokens(self._now(), client_id=row.client_id, user_id=row.user_id)
        self._audit(
            actor,
            "consent_revoked",
            client_id=row.client_id,
            user_id=row.user_id,
            scope=row.scope,
            tokens=count,
        )

    # -- the audit log -------------------------------------------------------------------

    def record_usage(self, usage: Usage) -> None:
        """Write what a process counted (``oauth/usage.py``): one ``tokens_issued`` event per
        app and grant, with the count (never a token), and each app's last use."""
        for client_id, at in usage.last_used.items():
            self.admin.mark_used(client_id, at)
        for (client_id, grant_type), count in sorted(usage.counts.items()):
            self.repos.audit.record(
                "tokens_issued",
                client_id=client_id,
                actor=f"client:{client_id}",
                grant_type=grant_type,
                count=count,
            )

    def audit(self, where: AuditFilter, limit: int = 100) -> list[AuditRow]:
        if not 1 <= limit <= 10_000:
            raise Invalid("limit must be between 1 and 10000.", "limit")
        return self.admin.audit(where, limit)

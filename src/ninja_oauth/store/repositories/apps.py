"""AppRepository: rows of ``apps`` as ``oauth.domain.App``."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from sqlalchemy import delete, insert, select, update

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.ports import ClientBlocks
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.throttle import BLOCKS_SELECT, client_blocks
from ninja_oauth.store.statements import Sql
from ninja_oauth.store.tables import apps


def _profile(value: str | None) -> Profile | None:
    """The app's own profile; a value this version does not know (written by hand, or by a
    later version) fails closed, as strict."""
    if value is None:
        return None
    try:
        return Profile(value)
    except ValueError:
        return Profile.STRICT


def to_app(row: Any) -> App:
    """An ``apps`` row (any object with its columns as attributes) as an App."""
    return App(
        client_id=row.client_id,
        name=row.name,
        platform=Platform(row.platform),
        redirect_uris=tuple(json.loads(row.redirect_uris)),
        scopes=tuple(row.scopes.split()),
        grant_types=tuple(row.grant_types.split()),
        secret_digest=row.secret_digest,
        created_at=row.created_at,
        profile=_profile(row.profile),
        is_admin=bool(row.is_admin),
    )


_GET = Sql(
    "SELECT client_id, name, platform, redirect_uris, scopes, grant_types, secret_digest, "
    "created_at, profile, is_admin FROM apps WHERE client_id = :client_id"
)
# The blocks and pass of the caller (throttle.BLOCKS_SELECT) and the app: one row, whether the
# app exists or not. (What is interpolated is that constant, never a value.)
_GET_GUARDED = Sql(
    "SELECT blocks.*, "  # noqa: S608
    "apps.client_id, apps.name, apps.platform, apps.redirect_uris, apps.scopes, "
    "apps.grant_types, apps.secret_digest, apps.created_at, apps.profile, apps.is_admin "
    f"FROM ({BLOCKS_SELECT}) AS blocks LEFT JOIN apps ON apps.client_id = :client_id",
    keyed=True,  # PostgreSQL: the loop's concurrent token requests read in one statement
    # and a worker keeps the row of an app that exists until the app or its caller's blocks
    # change (store/pg_changes.py); on SQLite, until migration 0012's counter moves
    # (store/sqlite_kept.py). An unknown client_id is read every time: guesses fill no
    # memory, and a new app needs no notification.
    changes=("apps", "throttle"),
    versioned_by="client_checks",
    kept_if=lambda row: row[4] is not None,
)


class _Row(NamedTuple):
    client_id: str
    name: str
    platform: str
    redirect_uris: str
    scopes: str
    grant_types: str
    secret_digest: str | None
    created_at: int
    profile: str | None
    is_admin: bool


# Apps parsed from their rows, by client_id; an entry is used only while its row is unchanged
# (the row, or the version that keeps it, is read on every request: rotations and deletions
# take effect at once).
_PARSED_MAX = 1024


def _possible(client_id: str) -> bool:
    """PostgreSQL refuses NUL characters in text and values beyond the column; no app has
    such an id, so it is simply unknown (an invalid_client, never a 500)."""
    return bool(client_id) and len(client_id) <= 64 and "\x00" not in client_id


class SqlApps:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._parsed: dict[str, tuple[tuple[Any, ...], App]] = {}

    def get(self, client_id: str) -> App | None:
        if not _possible(client_id):
            return None
        row = self._store.fetchone(_GET, {"client_id": client_id})
        return None if row is None else self._app(tuple(row))

    def get_guarded(
        self, client_id: str | None, block_keys: tuple[str, str], pass_key: str
    ) -> tuple[ClientBlocks, App | None]:
        # On every token request: the driver's cursor, not Core (see store.statements.Sql).
        first, second = block_keys
        wanted = client_id if client_id and _possible(client_id) else None
        row = self._store.fetchone(
            _GET_GUARDED, {"a": first, "b": second, "p": pass_key, "client_id": wanted}
        )
        blocks, values = row[:4], row[4:]
        return client_blocks(blocks), None if values[0] is None else self._app(tuple(values))

    def _app(self, values: tuple[Any, ...]) -> App:
        """The App of a row's values, parsed once while the row is unchanged."""
        client_id = values[0]
        parsed = self._parsed.get(client_id)
        if parsed is not None and parsed[0] == values:
            return parsed[1]
        app = to_app(_Row(*values))
        if len(self._parsed) >= _PARSED_MAX:
            self._parsed.clear()
        self._parsed[client_id] = (values, app)
        return app

    def add(self, app: App) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                insert(apps).values(
                    client_id=app.client_id,
                    name=app.name,
                    platform=app.platform.value,
                    secret_digest=app.secret_digest,
                    redirect_uris=app.redirect_uris_json(),
                    scopes=" ".join(app.scopes),
                    grant_types=" ".join(app.grant_types),
                    created_at=app.created_at,
                    profile=app.profile.value if app.profile else None,
                    is_admin=app.is_admin,
                )
            )

    def set_secret_digest(self, client_id: str, digest: str) -> bool:
        with self._store.transaction() as conn:
            result = conn.execute(
                update(apps).where(apps.c.client_id == client_id).values(secret_digest=digest)
            )
        return bool(result.rowcount)

    def set_profile(self, client_id: str, profile: Profile | None) -> bool:
        with self._store.transaction() as conn:
            result = conn.execute(
                update(apps)
                .where(apps.c.client_id == client_id)
                .values(profile=profile.value if profile else None)
            )
        return bool(result.rowcount)

    def update(self, app: App) -> bool:
        """Write what an administrator may change: name, redirect URIs, scopes, grants."""
        with self._store.transaction() as conn:
            result = conn.execute(
                update(apps)
                .where(apps.c.client_id == app.client_id)
                .values(
                    name=app.name,
                    redirect_uris=app.redirect_uris_json(),
                    scopes=" ".join(app.scopes),
                    grant_types=" ".join(app.grant_types),
                )
            )
        return bool(result.rowcount)

    def delete(self, client_id: str) -> bool:
        # Codes, tokens and consents go with the app (ON DELETE CASCADE).
        with self._store.transaction() as conn:
            result = conn.execute(delete(apps).where(apps.c.client_id == client_id))
        return bool(result.rowcount)

    def list(self) -> list[App]:
        with self._store.reading() as conn:
            rows = conn.execute(select(apps).order_by(apps.c.id)).all()
        return [to_app(r) for r in rows]

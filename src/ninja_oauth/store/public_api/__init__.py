"""What the Public API's SQL shares: paging, fetching rows as mappings, new ids.

One module per resource beside this one (organizations, devices, catalog, activities), as
``api/routes`` has. Reads take a ``Connection`` (``store.read``); writes take the connection of
the caller's transaction, so one API request is one transaction and nothing is half-written.
Rows come back as ``RowMapping``; the API shapes them into the spec's JSON (``api/mappers.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Select, select
from sqlalchemy.engine import CursorResult, RowMapping


def page(stmt: Select[Any], id_column: Any, after: int | None, limit: int | None) -> Select[Any]:
    if after is not None:
        stmt = stmt.where(id_column > after)
    stmt = stmt.order_by(id_column)
    return stmt if limit is None else stmt.limit(limit)


def new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def all_rows(conn: Connection, stmt: Select[Any]) -> list[RowMapping]:
    return list(conn.execute(stmt).mappings().all())


def one_row(conn: Connection, stmt: Select[Any]) -> RowMapping | None:
    return conn.execute(stmt).mappings().first()


def by_id(conn: Connection, table: Any, ids: Iterable[int]) -> dict[int, RowMapping]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {r["id"]: r for r in all_rows(conn, select(table).where(table.c.id.in_(wanted)))}

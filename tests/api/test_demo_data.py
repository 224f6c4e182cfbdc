"""The demo data: loaded once, the same rows on every load, and enough of them to page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ninja_oauth.store import api_tables as t
from ninja_oauth.store.db import Store
from ninja_oauth.store.demo_api import load_demo_api_data
from ninja_oauth.store.migrate import migrate

from .conftest import NOW

TABLES = [
    t.organizations,
    t.locations,
    t.node_roles,
    t.policies,
    t.organization_policies,
    t.devices,
    t.scripts,
    t.activities,
]


def fresh_store(path: Path) -> Store:
    url = f"sqlite:///{path}"
    migrate(url)
    return Store(url)


def dump(store: Store) -> dict[str, list[Any]]:
    with store.reading() as conn:
        return {
            table.name: [tuple(r) for r in conn.execute(select(table).order_by(*table.primary_key))]
            for table in TABLES
        }


def test_the_demo_data_is_loaded_once(tmp_path: Path) -> None:
    store = fresh_store(tmp_path / "once.db")
    try:
        assert load_demo_api_data(store, now=NOW) is True
        assert load_demo_api_data(store, now=NOW + 60) is False
        with store.reading() as conn:
            counts = {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar()
                for table in TABLES
            }
    finally:
        store.close()
    assert counts == {
        "organizations": 12,
        "locations": 28,
        "node_roles": 17,
        "policies": 17,
        "organization_policies": 204,
        "devices": 360,
        "scripts": 10,
        "activities": 873,
    }


def test_the_demo_data_is_the_same_on_every_load(tmp_path: Path) -> None:
    first, second = fresh_store(tmp_path / "a.db"), fresh_store(tmp_path / "b.db")
    try:
        load_demo_api_data(first, now=NOW)
        load_demo_api_data(second, now=NOW)
        assert dump(first) == dump(second)
    finally:
        first.close()
        second.close()


def test_the_demo_fleet_mixes_classes_and_states(store: Store) -> None:
    with store.reading() as conn:
        classes = conn.execute(select(func.count(func.distinct(t.devices.c.node_class)))).scalar()
        states = set(
            conn.execute(select(t.devices.c.approval_status, t.devices.c.offline).distinct())
        )
    assert classes == 14
    assert states == {
        ("APPROVED", False),
        ("APPROVED", True),
        ("PENDING", False),
        ("PENDING", True),
    }

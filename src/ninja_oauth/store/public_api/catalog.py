"""The SQL of the catalogs: /v2/policies, /v2/roles, /v2/automation/scripts, /v2/users."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import node_roles, policies, scripts
from ninja_oauth.store.public_api import all_rows, one_row
from ninja_oauth.store.tables import users


def list_policies(conn: Connection) -> list[RowMapping]:
    return all_rows(conn, select(policies).order_by(policies.c.id))


def get_policy(conn: Connection, policy_id: int) -> RowMapping | None:
    return one_row(conn, select(policies).where(policies.c.id == policy_id))


def list_roles(conn: Connection) -> list[RowMapping]:
    return all_rows(conn, select(node_roles).order_by(node_roles.c.id))


def get_role(conn: Connection, role_id: int) -> RowMapping | None:
    return one_row(conn, select(node_roles).where(node_roles.c.id == role_id))


def list_scripts(conn: Connection) -> list[RowMapping]:
    return all_rows(conn, select(scripts).order_by(scripts.c.id))


def get_script(conn: Connection, script_id: int) -> RowMapping | None:
    return one_row(conn, select(scripts).where(scripts.c.id == script_id))


def list_users(conn: Connection) -> list[RowMapping]:
    # Never the password hash: only the columns the API shows are selected.
    return all_rows(conn, select(users.c.id, users.c.email, users.c.is_admin).order_by(users.c.id))

"""Alembic environment: runs on the connection that ``store.migrate`` hands it."""

from __future__ import annotations

from alembic import context

import ninja_oauth.store.api_tables  # noqa: F401  (registers the Public API tables)
from ninja_oauth.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # `alembic` command line (development only)
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()

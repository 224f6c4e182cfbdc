"""Let time pass for a live server without waiting: move what it stored for one app into the past.

The server compares the times it stored (a code's expiry, a token's) with its own clock, so
moving them back by N seconds is, to the server, N seconds passing for that app alone.
"""

from __future__ import annotations

from sqlalchemy import create_engine, update

from ninja_oauth.store.tables import authorization_codes, tokens
from tests.support.server import LiveServer


def move_back(live: LiveServer, client_id: str, seconds: int) -> None:
    """The issue and expiry times of every code and token of ``client_id`` move ``seconds``
    back."""
    codes = authorization_codes.c
    rows = tokens.c
    engine = create_engine(live.env["NINJA_OAUTH_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(
                update(authorization_codes)
                .where(codes.client_id == client_id)
                .values(
                    {column: column - seconds for column in (codes.created_at, codes.expires_at)}
                )
            )
            conn.execute(
                update(tokens)
                .where(rows.client_id == client_id)
                .values(
                    {
                        column: column - seconds
                        for column in (
                            rows.issued_at,
                            rows.access_expires_at,
                            rows.refresh_expires_at,
                        )
                    }
                )
            )
    finally:
        engine.dispose()

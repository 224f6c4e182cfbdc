"""Removing what can no longer be used: expired codes, tokens, pending requests, counters."""

from __future__ import annotations

from sqlalchemy import and_, delete, or_

from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.pending import delete_expired as delete_expired_pending
from ninja_oauth.store.tables import authorization_codes, browser_sessions, throttle, tokens

# Codes are kept a day past their expiry, so a late replay is still recognised as one.
CODE_GRACE = 24 * 3600
PENDING_BATCH = 500


def purge_expired(store: Store, now: int, throttle_window: int) -> dict[str, int]:
    """Delete expired rows; the counts per table. A token row stays while either of its
    tokens could still be presented (a used refresh token must stay to detect its reuse)."""
    statements = {
        "authorization_codes": delete(authorization_codes).where(
            authorization_codes.c.expires_at < now - CODE_GRACE
        ),
        "tokens": delete(tokens).where(
            and_(
                tokens.c.access_expires_at < now,
                or_(tokens.c.refresh_expires_at.is_(None), tokens.c.refresh_expires_at < now),
            )
        ),
        "browser_sessions": delete(browser_sessions).where(browser_sessions.c.expires_at <= now),
        # A counter stays a window past its block, which the next failure would double.
        "throttle": delete(throttle).where(
            and_(
                throttle.c.window_start < now - throttle_window,
                throttle.c.blocked_until < now - throttle_window,
            )
        ),
    }
    counts: dict[str, int] = {}
    for table, statement in statements.items():
        # One short transaction per table: the write lock is never held for long.
        with store.transaction() as conn:
            counts[table] = int(conn.execute(statement).rowcount)
    # Anyone can add pending requests: their expired rows go in short batches (issue 12).
    counts["pending_authorizations"] = 0
    while True:
        with store.transaction() as conn:
            deleted = delete_expired_pending(conn, now, PENDING_BATCH)
        counts["pending_authorizations"] += deleted
        if deleted < PENDING_BATCH:
            return counts

"""The store's tables, as SQLAlchemy Core ``Table`` objects on one ``MetaData``.

Core rather than ORM classes: the token and bearer paths run one statement each and must not pay
for unit-of-work bookkeeping (issue 3, benchmark notes). Times are integer Unix seconds so
SQLite and PostgreSQL compare them the same way. Every secret column holds a keyed digest.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("created_at", BigInteger, nullable=False),
    # Set when an administrator disables the user: no sign-in, no token (0006).
    Column("disabled_at", BigInteger, nullable=True),
)

apps = Table(
    "apps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("platform", String(20), nullable=False),
    # HMAC-SHA256 of the secret under the server key; NULL for public apps.
    Column("secret_digest", String(64), nullable=True),
    Column("redirect_uris", Text, nullable=False, default="[]"),  # JSON list
    Column("scopes", String(200), nullable=False),  # space-delimited
    Column("grant_types", String(200), nullable=False),  # space-delimited
    Column("created_at", BigInteger, nullable=False),
    # "strict" or "faithful"; NULL follows the server's NINJA_OAUTH_PROFILE (0005).
    Column("profile", String(10), nullable=True),
    # An admin app may be granted the admin scope, by client_credentials only (0006).
    Column("is_admin", Boolean, nullable=False, default=False, server_default=text("false")),
    # When a token was last issued to it, written at most once a minute (0006).
    Column("last_used_at", BigInteger, nullable=True),
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code_digest", String(64), nullable=False, unique=True),
    Column(
        "client_id", String(64), ForeignKey("apps.client_id", ondelete="CASCADE"), nullable=False
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", String(200), nullable=False),
    Column("code_challenge", String(128), nullable=True),
    Column("code_challenge_method", String(10), nullable=True),
    # The token family that this code starts; a replay revokes it (RFC 6749 §4.1.2).
    Column("grant_id", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("consumed_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

# One row per issued access token, with the refresh token issued beside it (if any). Rows that
# share a grant_id form a refresh-token family: rotation marks the old row's refresh token used,
# reuse of a used one revokes every row of the family.
tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("access_digest", String(64), nullable=False, unique=True),
    Column("refresh_digest", String(64), nullable=True),
    Column(
        "client_id", String(64), ForeignKey("apps.client_id", ondelete="CASCADE"), nullable=False
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("scope", String(200), nullable=False),
    # Scope of the family's refresh token: a narrowed refresh keeps the original (RFC 6749 §6).
    Column("refresh_scope", String(200), nullable=True),
    Column("grant_id", String(64), nullable=False),
    Column("grant_type", String(40), nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("access_expires_at", BigInteger, nullable=False),
    Column("refresh_expires_at", BigInteger, nullable=True),
    Column("refresh_used_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    # An app's tokens (revoked together by an administrator, 0006) and a family of them
    # (always revoked for its own app) in one index; a user's, without the NULLs of client
    # credentials (0013: each index is one more page written per token insert on SQLite).
    Index("ix_tokens_client_grant", "client_id", "grant_id"),
    Index(
        "ix_tokens_user",
        "user_id",
        sqlite_where=text("user_id IS NOT NULL"),
        postgresql_where=text("user_id IS NOT NULL"),
    ),
    # Partial: most tokens have no refresh token, and indexing their NULLs is costly (0003).
    Index(
        "ix_tokens_refresh_digest",
        "refresh_digest",
        unique=True,
        sqlite_where=text("refresh_digest IS NOT NULL"),
        postgresql_where=text("refresh_digest IS NOT NULL"),
    ),
)

consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "client_id", String(64), ForeignKey("apps.client_id", ondelete="CASCADE"), nullable=False
    ),
    Column("scope", String(200), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("user_id", "client_id", name="uq_consents_user_client"),
)

# A validated authorize request waiting for login or consent (DESIGN §6): kept on the server,
# bound to one browser session, so no parameter is ever rebuilt into a URL.
pending_authorizations = Table(
    "pending_authorizations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_binding", String(64), nullable=False),
    Column("params", Text, nullable=False),  # JSON of the authorize query, client_secret removed
    Column("decision", String(10), nullable=True),  # NULL, "allow" or "deny"
    Column("user_id", Integer, nullable=True),
    Column("expires_at", BigInteger, nullable=False),
    # The address it came from, for the per-address cap (0005); NULL on older rows.
    Column("address", String(64), nullable=True),
    # When it was made, in milliseconds: the caps drop the oldest first (0005).
    Column("created_ms", BigInteger, nullable=True),
    Index("ix_pending_authorizations_expires_at", "expires_at"),
    Index("ix_pending_authorizations_session_binding", "session_binding"),
    Index("ix_pending_authorizations_address", "address"),
)

# A signed-in browser (0005): the cookie holds a random id, the row holds who it is. Deleting the
# row ends the session at once (sign-out, a disabled user); the id changes at sign-in and out.
browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id_digest", String(64), primary_key=True),  # keyed digest of the cookie's id
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_browser_sessions_user_id", "user_id"),
    Index("ix_browser_sessions_expires_at", "expires_at"),
)

# Failed client authentications and logins per key (DESIGN §6). On success only a client's pass
# for its address is written, at most once a day (oauth/throttling.py).
throttle = Table(
    "throttle",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", BigInteger, nullable=False),
    Column("blocked_until", BigInteger, nullable=False, default=0),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", BigInteger, nullable=False),
    Column("event", String(60), nullable=False),
    Column("client_id", String(64), nullable=True),
    Column("user_id", Integer, nullable=True),
    Column("detail", Text, nullable=False, default="{}"),  # JSON, never a secret
    # Who did it (an email, "cli", "client:<client_id>") and from which address (0006).
    Column("actor", String(320), nullable=True),
    Column("address", String(64), nullable=True),
    Index("ix_audit_events_at", "at"),
    Index("ix_audit_events_event", "event"),
    Index("ix_audit_events_client_id", "client_id"),
    Index("ix_audit_events_user_id", "user_id"),
)

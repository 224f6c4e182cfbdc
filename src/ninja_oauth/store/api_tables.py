"""Tables of the Public API v2 slice, on the store's one MetaData.

Column names are the spec's fields in snake case. Free-form objects of the spec (userData, tags,
custom fields, addresses) are JSON columns: the API stores and returns them whole, never queries
inside them. Times are integer Unix seconds, as in ``tables.py``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from ninja_oauth.store.tables import metadata

organizations = Table(
    "organizations",
    metadata,
    Column("id", Integer, primary_key=True),
    # NinjaOne refuses a second organization with the same name (409).
    Column("name", String(200), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("node_approval_mode", String(10), nullable=False),  # AUTOMATIC, MANUAL, REJECT
    Column("user_data", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("fields", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# A counter per table, bumped by triggers on every change (migration 0004): what readers
# derive from a table stays valid while its version does.
data_versions = Table(
    "data_versions",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

locations = Table(
    "locations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "organization_id",
        Integer,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(200), nullable=False),
    Column("address", Text, nullable=True),
    Column("description", Text, nullable=True),
    Column("user_data", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("fields", JSON, nullable=False),
)

# Device roles (the spec's NodeRole): each belongs to one node class.
node_roles = Table(
    "node_roles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("node_class", String(40), nullable=False),
    Column("custom", Boolean, nullable=False),
    Column("chassis_type", String(10), nullable=False),  # UNKNOWN, DESKTOP, LAPTOP, MOBILE
    Column("parent_id", Integer, nullable=True),
    Column("icon", String(60), nullable=True),
    Column("created", BigInteger, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_policy_id", Integer, nullable=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("node_class", String(40), nullable=False),
    Column("node_class_default", Boolean, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("updated", BigInteger, nullable=False),
)

# An organization's policy per device role (the spec's NodeRolePolicyAssignment).
organization_policies = Table(
    "organization_policies",
    metadata,
    Column(
        "organization_id",
        Integer,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("node_role_id", Integer, ForeignKey("node_roles.id"), primary_key=True),
    Column("policy_id", Integer, ForeignKey("policies.id"), nullable=False),
)

devices = Table(
    "devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(36), nullable=False, unique=True),
    Column("organization_id", Integer, ForeignKey("organizations.id"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("node_class", String(40), nullable=False),
    Column("node_role_id", Integer, ForeignKey("node_roles.id"), nullable=False),
    Column("policy_id", Integer, ForeignKey("policies.id"), nullable=True),  # an override
    # PENDING, APPROVED, or REJECTED: a rejected device leaves every listing, as in NinjaOne.
    Column("approval_status", String(10), nullable=False),
    Column("offline", Boolean, nullable=False),
    Column("display_name", String(200), nullable=True),
    Column("system_name", String(200), nullable=False),
    Column("dns_name", String(255), nullable=True),
    Column("netbios_name", String(64), nullable=True),
    Column("created", BigInteger, nullable=False),
    Column("last_contact", BigInteger, nullable=False),
    Column("last_update", BigInteger, nullable=False),
    Column("user_data", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("custom_fields", JSON, nullable=False),
    Column("ip_addresses", JSON, nullable=False),
    Column("mac_addresses", JSON, nullable=False),
    Column("public_ip", String(45), nullable=True),
    Column("warranty", JSON, nullable=True),
    Index("ix_devices_organization_id", "organization_id"),
    Index("ix_devices_location_id", "location_id"),
)

scripts = Table(
    "scripts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("language", String(30), nullable=False),
    Column("architecture", JSON, nullable=False),
    Column("operating_systems", JSON, nullable=False),
    Column("script_parameters", JSON, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_on", BigInteger, nullable=False),
    Column("updated_on", BigInteger, nullable=False),
)

# The activity log. client_id and user_id say which app and user made an API write; they are
# not foreign keys, so the history outlives a deleted app or user.
activities = Table(
    "activities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("activity_time", BigInteger, nullable=False),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=True),
    Column("activity_type", String(40), nullable=False),
    Column("status_code", String(80), nullable=False),
    Column("status", String(200), nullable=False),
    Column("activity_result", String(20), nullable=True),
    Column("severity", String(10), nullable=False),
    Column("priority", String(10), nullable=False),
    Column("source_name", String(200), nullable=True),
    Column("subject", String(200), nullable=True),
    Column("message", Text, nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("client_id", String(64), nullable=True),
    Column("data", JSON, nullable=False),
    Index("ix_activities_device_id", "device_id", "id"),
)

# Remote-access sessions started through the Control scope (ninja-oauth's own endpoint).
remote_sessions = Table(
    "remote_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uid", String(36), nullable=False, unique=True),
    Column("device_id", Integer, ForeignKey("devices.id"), nullable=False, index=True),
    Column("client_id", String(64), nullable=False),
    Column("user_id", Integer, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

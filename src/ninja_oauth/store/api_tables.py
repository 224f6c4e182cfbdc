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

# -- issue 14: where integrations live --------------------------------------------------------
# Times the spec gives as epoch seconds with a fraction ("double") are kept in milliseconds.

# Open alerts (triggered conditions). Resetting or deleting one removes its row (and records an
# activity); what the spec says beyond these columns is in ``data``.
alerts = Table(
    "alerts",
    metadata,
    Column("uid", String(36), primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("source_type", String(60), nullable=False),
    Column("source_config_uid", String(36), nullable=True),
    Column("source_name", String(200), nullable=True),
    Column("subject", String(500), nullable=True),
    Column("message", Text, nullable=False),
    Column("severity", String(20), nullable=True),
    Column("priority", String(20), nullable=True),
    Column("create_ms", BigInteger, nullable=False),
    Column("update_ms", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_alerts_device_id", "device_id"),
    Index("ix_alerts_source_type", "source_type"),
)

# What a device reports about itself, one row per item, one ``kind`` per spec list: software,
# windows_service, processor, disk, volume, network_interface, os_patch, os_patch_install,
# software_patch, software_patch_install, logged_on_user, job, policy_override,
# antivirus_status, antivirus_threat, ... ``data`` is the item as the spec shapes it;
# ``item_key`` identifies it within its device and kind (a service's name, a patch's id);
# ``at_ms`` is the time the reports filter on (installed, detected, started). The per-device
# endpoints and the /v2/queries reports read the same rows, so they always agree.
device_inventory = Table(
    "device_inventory",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("item_key", String(200), nullable=True),
    Column("at_ms", BigInteger, nullable=True),
    Column("data", JSON, nullable=False),
    # A device's items of one kind; a report's page of one kind across devices, by id.
    Index("ix_device_inventory_device_kind", "device_id", "kind", "item_key"),
    Index("ix_device_inventory_kind_id", "kind", "id"),
)

# PUT /v2/device/{id}/maintenance: one maintenance window per device.
device_maintenance = Table(
    "device_maintenance",
    metadata,
    Column("device_id", Integer, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("start_ms", BigInteger, nullable=True),
    Column("end_ms", BigInteger, nullable=False),
    Column("disabled_features", JSON, nullable=False),
    Column("reason_message", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

# Catalog lists with no behaviour of their own (/v2/groups, /v2/tasks, /v2/software-products,
# /v2/device-custom-fields, /v2/document-templates): one row per item, ``kind`` saying which
# list, ``data`` the item as the spec shapes it.
catalog_items = Table(
    "catalog_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("item_key", String(200), nullable=True),
    Column("name", String(200), nullable=True),
    Column("data", JSON, nullable=False),
    Index("ix_catalog_items_kind_id", "kind", "id"),
)

ticket_boards = Table(
    "ticket_boards",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=True),
    # The board's conditions, columns and default sort, as the spec shapes them.
    Column("data", JSON, nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("organizations.id"), nullable=True),  # the org
    Column("node_id", Integer, ForeignKey("devices.id", ondelete="SET NULL"), nullable=True),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=True),
    Column("ticket_form_id", Integer, nullable=False),
    Column("subject", String(500), nullable=False),
    Column("status", String(40), nullable=False),  # the status's name (NEW, OPEN, ...)
    Column("type", String(40), nullable=True),
    Column("priority", String(20), nullable=True),
    Column("severity", String(20), nullable=True),
    Column("requester_uid", String(36), nullable=True),
    Column("assigned_app_user_id", Integer, nullable=True),
    Column("tags", JSON, nullable=False),
    Column("cc", JSON, nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    # The rest of the ticket as the spec shapes it (description, parent, ...).
    Column("data", JSON, nullable=False),
    Index("ix_tickets_client_id", "client_id"),
    Index("ix_tickets_status", "status"),
)

ticket_log_entries = Table(
    "ticket_log_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(40), nullable=False),  # DESCRIPTION, COMMENT, CONDITION, ...
    Column("public", Boolean, nullable=False),
    Column("body", Text, nullable=True),
    Column("html_body", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_ticket_log_entries_ticket_id", "ticket_id", "id"),
)

# PUT /v2/webhook: the calling app's one webhook (NinjaOne keys it by the app). ``headers``
# are the app's custom headers, sent with every delivery and never shown or logged.
webhooks = Table(
    "webhooks",
    metadata,
    Column(
        "client_id",
        String(64),
        ForeignKey("apps.client_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("url", Text, nullable=False),
    Column("activities", JSON, nullable=False),  # the activity filter
    Column("headers", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# One row per activity to deliver to a webhook; each attempt updates it (retried with
# backoff until delivered or given up).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "client_id", String(64), ForeignKey("apps.client_id", ondelete="CASCADE"), nullable=False
    ),
    Column("activity_id", Integer, nullable=False),
    Column("status", String(12), nullable=False),  # pending, delivered, gave_up
    Column("attempts", Integer, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", String(200), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("delivered_at", BigInteger, nullable=True),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_ms"),
    Index("ix_webhook_deliveries_client_id", "client_id", "id"),
)

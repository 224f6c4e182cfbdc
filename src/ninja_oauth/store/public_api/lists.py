"""The SQL of the lists endpoints (api/routes/lists.py), and their demo data.

Groups, scheduled tasks, software products, custom field definitions and document templates
are rows of ``catalog_items``: ``kind`` says which list, ``item_key`` the item's id in the API
(a number, a product's uuid, a custom field's name), ``data`` the item as the spec shapes it. A
group's ``data.filter`` is a device filter (``df``): its devices are counted and listed live.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, case, cast, func, insert, or_, select
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import catalog_items, devices, organizations
from ninja_oauth.store.public_api import all_rows, one_row
from ninja_oauth.store.public_api.devices import DeviceFilter

GROUP = "group"
SCHEDULED_TASK = "scheduled_task"
SOFTWARE_PRODUCT = "software_product"
CUSTOM_FIELD = "custom_field"
DOCUMENT_TEMPLATE = "document_template"


def list_items(conn: Connection, kind: str) -> list[RowMapping]:
    stmt = select(catalog_items).where(catalog_items.c.kind == kind)
    return all_rows(conn, stmt.order_by(catalog_items.c.id))


def get_item(conn: Connection, kind: str, key: str) -> RowMapping | None:
    where = (catalog_items.c.kind == kind) & (catalog_items.c.item_key == key)
    return one_row(conn, select(catalog_items).where(where))


def count_devices(conn: Connection, filters: Sequence[DeviceFilter]) -> list[int]:
    """How many devices each filter selects, in one query."""
    if not filters:
        return []
    counts = [func.coalesce(func.sum(case((f.condition(), 1), else_=0)), 0) for f in filters]
    return [int(n) for n in conn.execute(select(*counts).select_from(devices)).one()]


def device_ids(conn: Connection, flt: DeviceFilter) -> list[int]:
    stmt = select(devices.c.id).where(flt.condition()).order_by(devices.c.id)
    return [int(i) for i in conn.execute(stmt).scalars()]


# What a search looks in, in the order a match is reported (matchAttr).
SEARCHED = ("systemName", "displayName", "dnsName", "netbiosName", "ipAddresses", "publicIP")
_IPS = cast(devices.c.ip_addresses, Text)  # the JSON array's text: ["10.1.2.10"]
_NAMES = (devices.c.system_name, devices.c.display_name, devices.c.dns_name, devices.c.netbios_name)


def search_devices(conn: Connection, needle: str, limit: int) -> list[RowMapping]:
    """Devices whose names or addresses contain ``needle`` (case-insensitive), best match
    first (exact 100, prefix 75, anywhere 50; then by id), with the ``score``."""
    n = needle.lower()
    texts = [func.lower(c) for c in _NAMES] + [func.lower(devices.c.public_ip)]
    exact: list[ColumnElement[bool]] = [t == n for t in texts]
    exact.append(_IPS.contains(f'"{n}"', autoescape=True))
    prefix: list[ColumnElement[bool]] = [t.startswith(n, autoescape=True) for t in texts]
    prefix.append(_IPS.contains(f'"{n}', autoescape=True))
    anywhere: list[ColumnElement[bool]] = [t.contains(n, autoescape=True) for t in texts]
    anywhere.append(_IPS.contains(n, autoescape=True))
    score = case((or_(*exact), 100), (or_(*prefix), 75), else_=50).label("score")
    stmt = (
        select(devices, score)
        .where(DeviceFilter().condition() & or_(*anywhere))
        .order_by(score.desc(), devices.c.id)
        .limit(limit)
    )
    return all_rows(conn, stmt)


# -- demo data --------------------------------------------------------------------------------

_DAY = 86_400
_GROUPS = [
    ("Windows workstations", "Every Windows desktop and laptop", "class = WINDOWS_WORKSTATION"),
    ("Acme Dental Group devices", "All devices of Acme Dental Group", "org = 1"),
    ("Cedar Valley servers", "Windows servers of Cedar Valley Schools",
     "org = 3 AND class = WINDOWS_SERVER"),
    ("Waiting for approval", "Devices waiting for a technician's approval", "status = PENDING"),
    ("Macs", "Every Mac", "class = MAC"),
]  # fmt: skip
_TASKS = [
    ("Weekly workstation reboot", "Reboots workstations on Sunday night", True),
    ("Nightly temp cleanup", "Runs Clear Temp Files on every Windows device", True),
    ("Monthly patch report", "Mails the patch compliance report", True),
    ("Quarterly inventory export", "Exports the hardware inventory", False),
]
_PRODUCTS = [
    ("Google", "Chrome", True),
    ("Mozilla", "Firefox", True),
    ("Adobe", "Acrobat Reader DC", True),
    ("Zoom Video Communications", "Zoom Workplace", True),
    ("Igor Pavlov", "7-Zip", True),
    ("Notepad++ Team", "Notepad++", True),
    ("VideoLAN", "VLC media player", True),
    ("Oracle", "Java Runtime Environment 8", False),
]
# (name, label, type, definition scopes, description, dropdown options)
_CUSTOM_FIELDS: list[tuple[str, str, str, list[str], str, list[str]]] = [
    ("assetTag", "Asset Tag", "TEXT", ["NODE"], "The asset tag on the device", []),
    ("warrantyNotes", "Warranty Notes", "TEXT_MULTILINE", ["NODE"], "Warranty contract notes", []),
    ("contractTier", "Contract Tier", "DROPDOWN", ["ORGANIZATION"], "Support contract tier",
     ["Gold", "Silver", "Bronze"]),
    ("backupRetentionDays", "Backup Retention (days)", "NUMERIC", ["ORGANIZATION", "LOCATION"],
     "How long backups are kept", []),
    ("siteContact", "Site Contact", "TEXT", ["LOCATION"], "Who to call on site", []),
]  # fmt: skip
# (name, description, [(field label, field name, type)])
_TEMPLATES: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("Network Overview", "Firewalls, ISPs and VLANs of a site", [
        ("ISP", "isp", "TEXT"), ("Public IP", "publicIp", "IP_ADDRESS"),
        ("Firewall admin URL", "firewallUrl", "URL"),
    ]),
    ("Onboarding Checklist", "What a new client gets on day one", [
        ("Primary contact", "primaryContact", "TEXT"), ("Contact email", "contactEmail", "EMAIL"),
        ("Go-live date", "goLive", "DATE"),
    ]),
    ("Line-of-Business Application", "One application the client depends on", [
        ("Vendor", "vendor", "TEXT"), ("Support phone", "supportPhone", "PHONE"),
        ("License key", "licenseKey", "TEXT_ENCRYPTED"), ("Notes", "notes", "WYSIWYG"),
    ]),
]  # fmt: skip


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _row(kind: str, key: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "item_key": key, "name": name, "data": data}


def load_demo(
    conn: Connection, rng: random.Random, now: int, fleet: list[tuple[int, dict[str, Any]]]
) -> None:
    """Groups, scheduled tasks, software products, custom field definitions (``assetTag`` is
    the one the demo devices carry) and document templates."""
    rows: list[dict[str, Any]] = []
    for i, (name, description, df) in enumerate(_GROUPS, start=1):
        created = now - rng.randint(100, 700) * _DAY
        rows.append(_row(GROUP, str(i), name, {
            "id": i, "name": name, "description": description, "shared": i != 5,
            "created": created, "updated": created + rng.randint(1, 90) * _DAY,
            "lastEvaluated": now - rng.randint(60, 3600), "tags": [], "fields": {}, "filter": df,
        }))  # fmt: skip
    for i, (name, description, enabled) in enumerate(_TASKS, start=1):
        created = now - rng.randint(100, 700) * _DAY
        rows.append(_row(SCHEDULED_TASK, str(i), name, {
            "id": i, "name": name, "description": description, "enabled": enabled,
            "created": created, "lastRun": now - rng.randint(1, 30) * _DAY,
            "runCount": rng.randint(3, 150),
        }))  # fmt: skip
    for vendor, product, active in _PRODUCTS:
        uid = _uid(rng)
        rows.append(_row(SOFTWARE_PRODUCT, uid, product, {
            "id": uid, "vendorName": vendor, "productName": product, "installable": active,
            "active": active,
        }))  # fmt: skip
    for name, label, kind, scopes, description, options in _CUSTOM_FIELDS:
        created = now - rng.randint(100, 700) * _DAY
        content: dict[str, Any] = {"required": False}
        if options:
            content["values"] = [
                {"id": _uid(rng), "name": o, "active": True, "system": False} for o in options
            ]
        rows.append(_row(CUSTOM_FIELD, name, label, {
            "entityType": "NODE", "scope": "NODE_GLOBAL", "definitionScope": scopes,
            "type": kind, "label": label, "description": description, "name": name,
            "endUserPermission": "HIDDEN", "technicianPermission": "EDITABLE",
            "scriptPermission": "READ_WRITE", "apiPermission": "READ_WRITE",
            "content": content, "system": False, "active": True,
            "createTime": created, "updateTime": created + rng.randint(1, 90) * _DAY,
        }))  # fmt: skip
    for i, (name, description, fields) in enumerate(_TEMPLATES, start=1):
        created = now - rng.randint(100, 700) * _DAY
        items = [
            {"fieldId": i * 100 + n, "fieldLabel": label, "fieldName": field,
             "fieldType": kind, "fieldTechnicianPermission": "EDITABLE",
             "fieldScriptPermission": "NONE", "fieldApiPermission": "READ_WRITE",
             "fieldContent": {"required": n == 1}, "createdTime": created,
             "updatedTime": created}
            for n, (label, field, kind) in enumerate(fields, start=1)
        ]  # fmt: skip
        rows.append(_row(DOCUMENT_TEMPLATE, str(i), name, {
            "id": i, "name": name, "description": description, "allowMultiple": i == 3,
            "mandatory": i == 2, "createTime": created,
            "updateTime": created + rng.randint(1, 90) * _DAY, "fields": items,
            "availableToAllTechnicians": i != 3, "allowedTechnicianRoles": [] if i != 3 else [1],
            "archived": False,
        }))  # fmt: skip
    conn.execute(insert(catalog_items), rows)


def organization_fields(conn: Connection, org_id: int) -> dict[str, Any] | None:
    """An organization's custom field values, its row locked until the transaction ends (on
    PostgreSQL, two concurrent changes of different fields then both survive), or None."""
    stmt = select(organizations.c.fields).where(organizations.c.id == org_id).with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else dict(row[0] or {})

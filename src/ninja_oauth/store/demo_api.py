"""Demo data for the Public API slice: an MSP's clients, their sites and a few hundred devices.

Deterministic: the same seed gives the same organizations, devices and activities (times are
offsets from the load time). Enough rows that paging and the ``df`` filter matter: 12
organizations, 28 locations, 17 device roles, 17 policies, 10 scripts, 360 devices of 14
classes (some offline, some waiting for approval) and their activity history.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ninja_oauth.store.api_tables import (
    activities,
    devices,
    locations,
    node_roles,
    organization_policies,
    organizations,
    policies,
    scripts,
)
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import alerts, inventory, lists, ticketing

SEED = 20_240_611
DAY = 86_400

# (name, node class, chassis, custom, parent role index or None, icon, system-name prefix)
ROLES: list[tuple[str, str, str, bool, int | None, str, str]] = [
    ("Windows Desktop", "WINDOWS_WORKSTATION", "DESKTOP", False, None, "desktop", "WS"),
    ("Windows Laptop", "WINDOWS_WORKSTATION", "LAPTOP", False, None, "laptop", "LT"),
    ("Windows Server", "WINDOWS_SERVER", "UNKNOWN", False, None, "server", "SRV"),
    ("Mac", "MAC", "LAPTOP", False, None, "apple", "MAC"),
    ("Linux Server", "LINUX_SERVER", "UNKNOWN", False, None, "linux", "LNX"),
    ("Linux Workstation", "LINUX_WORKSTATION", "DESKTOP", False, None, "linux", "LWS"),
    ("Hyper-V Host", "HYPERV_VMM_HOST", "UNKNOWN", False, None, "hyperv", "HV"),
    ("VMware Guest", "VMWARE_VM_GUEST", "UNKNOWN", False, None, "vmware", "VM"),
    ("Switch", "NMS_SWITCH", "UNKNOWN", False, None, "switch", "SW"),
    ("Router", "NMS_ROUTER", "UNKNOWN", False, None, "router", "RTR"),
    ("Firewall", "NMS_FIREWALL", "UNKNOWN", False, None, "firewall", "FW"),
    ("Printer", "NMS_PRINTER", "UNKNOWN", False, None, "printer", "PRN"),
    ("Website Monitor", "CLOUD_MONITOR_TARGET", "UNKNOWN", False, None, "cloud", "WEB"),
    ("iPhone", "APPLE_IOS", "MOBILE", False, None, "phone", "IPH"),
    ("Android Phone", "ANDROID", "MOBILE", False, None, "phone", "AND"),
    ("Domain Controller", "WINDOWS_SERVER", "UNKNOWN", True, 2, "server", "DC"),
    ("SQL Server", "WINDOWS_SERVER", "UNKNOWN", True, 2, "database", "SQL"),
]
# Share of the fleet per role, in ROLES order.
ROLE_WEIGHTS = [40, 28, 7, 9, 4, 2, 1, 3, 3, 2, 2, 3, 2, 4, 3, 1, 1]

# (name, node class, parent policy index or None, default for its class)
POLICIES: list[tuple[str, str, int | None, bool]] = [
    ("Windows Workstations", "WINDOWS_WORKSTATION", None, True),
    ("Windows Workstations - Locked Down", "WINDOWS_WORKSTATION", 0, False),
    ("Windows Servers", "WINDOWS_SERVER", None, True),
    ("Domain Controllers", "WINDOWS_SERVER", 2, False),
    ("SQL Servers", "WINDOWS_SERVER", 2, False),
    ("macOS", "MAC", None, True),
    ("Linux Servers", "LINUX_SERVER", None, True),
    ("Linux Workstations", "LINUX_WORKSTATION", None, True),
    ("Hyper-V Hosts", "HYPERV_VMM_HOST", None, True),
    ("VMware Guests", "VMWARE_VM_GUEST", None, True),
    ("Network Switches", "NMS_SWITCH", None, True),
    ("Routers", "NMS_ROUTER", None, True),
    ("Firewalls", "NMS_FIREWALL", None, True),
    ("Printers", "NMS_PRINTER", None, True),
    ("Website Monitoring", "CLOUD_MONITOR_TARGET", None, True),
    ("iOS Devices", "APPLE_IOS", None, True),
    ("Android Devices", "ANDROID", None, True),
]
# The policy each role maps to in an organization (index into POLICIES).
ROLE_POLICY = [0, 0, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 3, 4]

# (name, short code, approval mode, sites)
ORGANIZATIONS: list[tuple[str, str, str, list[str]]] = [
    ("Acme Dental Group", "ACME", "AUTOMATIC", ["Main Clinic", "Northside Clinic", "Lab"]),
    ("Birchwood Law LLP", "BWL", "MANUAL", ["Downtown Office", "Records Archive"]),
    ("Cedar Valley Schools", "CVS", "AUTOMATIC", ["District Office", "High School",
                                                  "Middle School", "Elementary"]),
    ("Delta Freight Logistics", "DFL", "MANUAL", ["Warehouse A", "Warehouse B", "Head Office"]),
    ("Evergreen Accounting", "EVA", "AUTOMATIC", ["Office"]),
    ("Foxglove Veterinary", "FOX", "AUTOMATIC", ["Clinic", "Boarding"]),
    ("Granite Construction Co", "GCC", "MANUAL", ["Yard", "Head Office", "Site Trailer"]),
    ("Harbor View Hotel", "HVH", "AUTOMATIC", ["Front Desk", "Back Office"]),
    ("Ironwood Manufacturing", "IWM", "AUTOMATIC", ["Plant 1", "Plant 2", "Offices"]),
    ("Juniper Family Medicine", "JFM", "MANUAL", ["Clinic"]),
    ("Kestrel Architects", "KST", "AUTOMATIC", ["Studio", "Print Room"]),
    ("Lakeside Credit Union", "LCU", "AUTOMATIC", ["Main Branch", "East Branch"]),
]  # fmt: skip
DEVICES_PER_ORG = [34, 22, 60, 38, 12, 16, 30, 24, 48, 14, 20, 42]

# (name, language, operating systems, active, parameters)
SCRIPTS: list[tuple[str, str, list[str], bool, list[str]]] = [
    ("Clear Temp Files", "powershell", ["Windows"], True, []),
    ("Restart Print Spooler", "powershell", ["Windows"], True, []),
    ("Flush DNS Cache", "batchfile", ["Windows"], True, []),
    ("Collect Event Logs", "powershell", ["Windows"], True, ["-Days 7"]),
    ("Install Pending Windows Updates", "powershell", ["Windows"], True, ["-Reboot"]),
    ("Check Disk Health", "powershell", ["Windows"], True, []),
    ("macOS Software Update", "shellscript", ["Mac"], True, ["--install --all"]),
    ("Upgrade Linux Packages", "shellscript", ["Linux"], True, []),
    ("Rotate Application Logs", "shellscript", ["Linux", "Mac"], True, ["/var/log/app"]),
    ("Legacy Inventory (VBScript)", "vbscript", ["Windows"], False, []),
]


def load_demo_api_data(store: Store, *, now: int | None = None) -> bool:
    """Insert the demo data once; False (and nothing written) when API data already exists."""
    moment = int(time.time()) if now is None else now
    with store.transaction() as conn:
        existing = conn.execute(select(func.count()).select_from(organizations)).scalar()
        roles = conn.execute(select(func.count()).select_from(node_roles)).scalar()
        if existing or roles:
            return False
        _insert_all(conn, random.Random(SEED), moment)
    return True


def _ids(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return [int(r.id) for r in conn.execute(stmt, rows)]


def _insert_all(conn: Connection, rng: random.Random, now: int) -> None:
    role_ids = _ids(conn, node_roles, [
        {"name": name, "node_class": cls, "custom": custom, "chassis_type": chassis,
         "parent_id": None, "icon": icon, "created": now - 900 * DAY}
        for name, cls, chassis, custom, _parent, icon, _prefix in ROLES
    ])  # fmt: skip
    # Parents refer to ids, known only now; the few custom roles are patched after insert.
    for index, (*_, parent, _icon, _prefix) in enumerate(ROLES):
        if parent is not None:
            conn.execute(
                node_roles.update()
                .where(node_roles.c.id == role_ids[index])
                .values(parent_id=role_ids[parent])
            )
    policy_ids: list[int] = []
    for name, cls, parent, default in POLICIES:
        policy_ids += _ids(conn, policies, [{
            "name": name, "node_class": cls, "node_class_default": default,
            "parent_policy_id": None if parent is None else policy_ids[parent],
            "description": f"{name} policy", "tags": [],
            "updated": now - rng.randint(1, 200) * DAY,
        }])  # fmt: skip
    _ids(conn, scripts, [
        {"name": name, "language": lang, "operating_systems": oses, "active": active,
         "architecture": ["64", "32"] if "Windows" in oses else ["64"],
         "script_parameters": params, "created_by": "Demo Admin",
         "created_on": now - rng.randint(200, 700) * DAY,
         "updated_on": now - rng.randint(1, 199) * DAY}
        for name, lang, oses, active, params in SCRIPTS
    ])  # fmt: skip
    device_rows: list[dict[str, Any]] = []
    for org_index, (name, code, mode, sites) in enumerate(ORGANIZATIONS):
        org_id = _ids(conn, organizations, [{
            "name": name, "description": f"Managed client since {2015 + org_index % 9}",
            "node_approval_mode": mode, "user_data": {"accountManager": "Dana Whitfield"},
            "tags": ["managed"] + (["priority"] if org_index % 4 == 0 else []), "fields": {},
            "created_at": now - (1200 - 60 * org_index) * DAY,
        }])[0]  # fmt: skip
        site_ids = _ids(conn, locations, [
            {"organization_id": org_id, "name": site, "address": f"{100 + i * 15} Main St",
             "description": f"{name} - {site}", "user_data": {}, "tags": [], "fields": {}}
            for i, site in enumerate(sites)
        ])  # fmt: skip
        conn.execute(insert(organization_policies), [
            {"organization_id": org_id, "node_role_id": role_ids[r],
             "policy_id": policy_ids[1 if r in (0, 1) and org_index % 5 == 1 else p]}
            for r, p in enumerate(ROLE_POLICY)
        ])  # fmt: skip
        for n in range(DEVICES_PER_ORG[org_index]):
            role = rng.choices(range(len(ROLES)), weights=ROLE_WEIGHTS)[0]
            device_rows.append(
                _device(rng, now, org_id, code, mode, site_ids, role_ids, role, n, org_index)
            )
    device_ids = _ids(conn, devices, device_rows)
    fleet = list(zip(device_ids, device_rows, strict=True))
    _insert_history(conn, rng, now, fleet)
    # Issue 14's groups, each with its own generator (and its own random stream, so that one
    # group's data does not change when another's generator does).
    for group in (inventory, alerts, lists, ticketing):
        group.load_demo(conn, random.Random(f"{SEED}:{group.__name__}"), now, fleet)


def _device(
    rng: random.Random,
    now: int,
    org_id: int,
    code: str,
    mode: str,
    site_ids: list[int],
    role_ids: list[int],
    role: int,
    n: int,
    org_index: int,
) -> dict[str, Any]:
    _name, cls, _chassis, _custom, _parent, _icon, prefix = ROLES[role]
    system = f"{code}-{prefix}-{n + 1:03d}"
    site = rng.randrange(len(site_ids))
    created = now - rng.randint(20, 1000) * DAY
    offline = rng.random() < 0.14
    seen = now - (rng.randint(2, 60) * DAY if offline else rng.randint(5, 600))
    last_contact = max(seen, created + DAY)
    agent = not cls.startswith("NMS_") and cls != "CLOUD_MONITOR_TARGET"
    mac = ":".join(f"{rng.randrange(256):02x}" for _ in range(6))
    return {
        "uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "organization_id": org_id,
        "location_id": site_ids[site],
        "node_class": cls,
        "node_role_id": role_ids[role],
        "policy_id": None,
        # Devices wait for approval only where the organization approves them by hand.
        "approval_status": "PENDING" if mode == "MANUAL" and rng.random() < 0.2 else "APPROVED",
        "offline": offline,
        "display_name": rng.choice([None, None, None, f"{code} {prefix} {n + 1}"]),
        "system_name": system,
        "dns_name": f"{system.lower()}.{code.lower()}.example.net",
        "netbios_name": system if cls.startswith("WINDOWS") else None,
        "created": created,
        "last_contact": last_contact,
        "last_update": last_contact - rng.randint(0, 300),
        "user_data": {},
        "tags": rng.choice([[], [], ["vip"], ["kiosk"], ["loaner"]]),
        "custom_fields": {"assetTag": f"AT-{org_index + 1:02d}{n + 1:04d}"} if agent else {},
        "ip_addresses": [f"10.{org_index + 1}.{site + 1}.{n + 10}"],
        "mac_addresses": [mac],
        "public_ip": f"203.0.113.{org_index * 20 + site + 1}",
        "warranty": (
            {"startDate": float(created), "endDate": float(created + 3 * 365 * DAY)}
            if agent and rng.random() < 0.5
            else None
        ),
    }


def _insert_history(
    conn: Connection, rng: random.Random, now: int, fleet: list[tuple[int, dict[str, Any]]]
) -> None:
    """Each device's registration, and for managed ones a few reboots and script runs."""
    events: list[dict[str, Any]] = []
    for device_id, row in fleet:
        base = {"device_id": device_id, "severity": "NONE", "priority": "NONE",
                "activity_result": "SUCCESS", "user_id": None, "client_id": None,
                "subject": None, "source_name": None, "data": {}}  # fmt: skip
        events.append({**base, "activity_time": row["created"], "activity_type": "SYSTEM",
                       "status_code": "NODE_CREATED", "status": "Device registered",
                       "message": f"{row['system_name']} registered."})  # fmt: skip
        if row["approval_status"] != "APPROVED":
            continue
        for _ in range(rng.randint(0, 3)):
            when = rng.randint(row["created"], row["last_contact"])
            if rng.random() < 0.5:
                events.append({**base, "activity_time": when, "activity_type": "SYSTEM",
                               "status_code": "SYSTEM_REBOOTED", "status": "System rebooted",
                               "message": f"{row['system_name']} rebooted."})  # fmt: skip
            else:
                script = SCRIPTS[rng.randrange(len(SCRIPTS) - 1)][0]
                events.append({**base, "activity_time": when, "activity_type": "ACTION",
                               "status_code": "COMPLETED", "status": "Completed",
                               "source_name": script,
                               "message": f"{script} completed."})  # fmt: skip
    # Ids grow with time, so paging by id (olderThan/newerThan) is paging by time.
    events.sort(key=lambda e: (e["activity_time"], e["device_id"]))
    conn.execute(insert(activities), events)

"""The SQL of the inventory endpoints (api/routes/inventory.py), and their demo data.

The rows of ``device_inventory`` are shared with the /v2/queries reports. Per ``kind``:

============================  ===============================  ===========================
kind                          ``data`` (spec schema)           ``item_key`` / ``at_ms``
============================  ===============================  ===========================
software                      Application                      name / installDate
windows_service               WindowsService                   name (the serviceId) / NULL
processor                     Processor                        "CPU<n>" / collected
disk                          DiskDrive                        name / collected
volume                        Volume (with bitLockerStatus)    name / collected
network_interface             NetworkInterface                 interfaceIndex / NULL
os_patch                      OSPatch (no installedAt)         id / detected
os_patch_install              OSPatch (status INSTALLED,       id / installedAt
                              FAILED)
software_patch                SoftwarePatch (no installedAt)   id / detected
software_patch_install        SoftwarePatch                    id / installedAt
last_logged_on_user           LoggedOnUser (one per device)    userName / logonTime
logged_on_user                DeviceLoggedOnUser - deviceId    userName / logonTime
job                           Job (with deviceId)              uid / createTime
policy_override               PolicyOverrides (one per         NULL / NULL
                              device that has overrides)
antivirus_status              DeviceAntivirusStatus - ids      productName / collected
antivirus_threat              DeviceAntivirusThreat - ids      threatId / collected
operating_system              DeviceOperatingSystem - ids      name / collected
computer_system               DeviceComputerSystem - ids       name / collected
============================  ===============================  ===========================

"collected" is when the agent last sent the item (the device's last update), the reports'
``timestamp``. Times in ``data`` are the spec's epoch seconds; ``at_ms`` is milliseconds.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import device_inventory, device_maintenance, devices, scripts
from ninja_oauth.store.public_api import all_rows, one_row
from ninja_oauth.store.public_api.devices import DeviceFilter

KINDS = (
    "software",
    "windows_service",
    "processor",
    "disk",
    "volume",
    "network_interface",
    "os_patch",
    "os_patch_install",
    "software_patch",
    "software_patch_install",
    "last_logged_on_user",
    "logged_on_user",
    "job",
    "policy_override",
    "antivirus_status",
    "antivirus_threat",
    "operating_system",
    "computer_system",
)


def items(conn: Connection, device_id: int, kind: str) -> list[RowMapping]:
    """A device's items of one kind, in the order the agent reported them."""
    stmt = (
        select(device_inventory.c.id, device_inventory.c.at_ms, device_inventory.c.data)
        .where((device_inventory.c.device_id == device_id) & (device_inventory.c.kind == kind))
        .order_by(device_inventory.c.id)
    )
    return all_rows(conn, stmt)


def item_for_update(conn: Connection, device_id: int, kind: str, key: str) -> RowMapping | None:
    """One item by its key, locked until the transaction ends (PostgreSQL; SQLite's writer is
    one at a time anyway), so that two changes of the same item never lose one another."""
    stmt = (
        select(device_inventory.c.id, device_inventory.c.data)
        .where(
            (device_inventory.c.device_id == device_id)
            & (device_inventory.c.kind == kind)
            & (device_inventory.c.item_key == key)
        )
        .with_for_update()
    )
    return one_row(conn, stmt)


def replace_item_data(conn: Connection, item_id: int, data: dict[str, Any]) -> None:
    conn.execute(update(device_inventory).where(device_inventory.c.id == item_id).values(data=data))


def delete_items(conn: Connection, device_id: int, kind: str) -> int:
    """Remove a device's items of one kind; how many there were."""
    result = conn.execute(
        delete(device_inventory).where(
            (device_inventory.c.device_id == device_id) & (device_inventory.c.kind == kind)
        )
    )
    return int(result.rowcount)


def jobs(conn: Connection, flt: DeviceFilter) -> list[RowMapping]:
    """The running jobs of the devices ``flt`` selects, oldest first (by row id)."""
    stmt = (
        select(device_inventory.c.data)
        .join(devices, devices.c.id == device_inventory.c.device_id)
        .where((device_inventory.c.kind == "job") & flt.condition())
        .order_by(device_inventory.c.id)
    )
    return all_rows(conn, stmt)


def active_scripts(conn: Connection) -> list[RowMapping]:
    return all_rows(conn, select(scripts).where(scripts.c.active).order_by(scripts.c.id))


def get_maintenance(conn: Connection, device_id: int) -> RowMapping | None:
    return one_row(
        conn, select(device_maintenance).where(device_maintenance.c.device_id == device_id)
    )


def set_maintenance(conn: Connection, values: dict[str, Any]) -> None:
    """One window per device: a new one replaces the old, in one statement (an upsert, so
    that two concurrent PUTs never both insert)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(device_maintenance).values(values)
    changed = {k: v for k, v in values.items() if k != "device_id"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["device_id"], set_=changed))


def delete_maintenance(conn: Connection, device_id: int) -> int:
    result = conn.execute(
        delete(device_maintenance).where(device_maintenance.c.device_id == device_id)
    )
    return int(result.rowcount)


def load_demo(
    conn: Connection, rng: random.Random, now: int, fleet: list[tuple[int, dict[str, Any]]]
) -> None:
    """Deterministic demo rows for this group (``fleet``: each device's id and row)."""
    rows, maintenance = _generate(rng, now, fleet)
    for kind in KINDS:
        of_kind = [r for r in rows if r["kind"] == kind]
        if of_kind:
            conn.execute(insert(device_inventory), of_kind)
    if maintenance:
        conn.execute(insert(device_maintenance), maintenance)


# -- demo data ---------------------------------------------------------------------------------
# Each managed (approved, agent) device gets a plausible inventory for its operating system.
# Everything comes from ``rng`` and ``now``; ids of patches and products are UUIDs derived from
# their names, so the same patch has the same id on every device (as a catalog would give).

_NS = uuid.UUID("6f1c7a52-51a7-4a43-9f5e-6c2b1d1e0e14")
_DAY = 86_400
_WINDOWS = {"WINDOWS_WORKSTATION", "WINDOWS_SERVER", "HYPERV_VMM_HOST", "VMWARE_VM_GUEST"}
_SERVERS = {"WINDOWS_SERVER", "HYPERV_VMM_HOST", "VMWARE_VM_GUEST", "LINUX_SERVER"}
_FAMILY = {
    **{cls: "windows" for cls in _WINDOWS},
    "MAC": "mac",
    "LINUX_SERVER": "linux",
    "LINUX_WORKSTATION": "linux",
    "APPLE_IOS": "ios",
    "ANDROID": "android",
}

# (name, publisher, versions, size in MB, install location or None)
_SOFTWARE: dict[str, list[tuple[str, str, tuple[str, str], int, str | None]]] = {
    "windows": [
        ("Google Chrome", "Google LLC", ("122.0.6261.112", "123.0.6312.86"), 610,
         r"C:\Program Files\Google\Chrome\Application"),
        ("Mozilla Firefox (x64 en-US)", "Mozilla", ("123.0.1", "124.0.2"), 240,
         r"C:\Program Files\Mozilla Firefox"),
        ("7-Zip 23.01 (x64)", "Igor Pavlov", ("23.01", "24.03"), 5, r"C:\Program Files\7-Zip"),
        ("Adobe Acrobat Reader DC", "Adobe", ("23.008.20470", "24.001.20629"), 720,
         r"C:\Program Files\Adobe\Acrobat DC"),
        ("Microsoft 365 Apps for business - en-us", "Microsoft Corporation",
         ("16.0.17328.20184", "16.0.17425.20176"), 3100, r"C:\Program Files\Microsoft Office"),
        ("Zoom Workplace", "Zoom Video Communications, Inc.", ("5.17.11", "6.0.2"), 290, None),
        ("Notepad++ (64-bit x64)", "Notepad++ Team", ("8.6.2", "8.6.5"), 14,
         r"C:\Program Files\Notepad++"),
        ("VLC media player", "VideoLAN", ("3.0.18", "3.0.20"), 170,
         r"C:\Program Files\VideoLAN\VLC"),
        ("Java 8 Update 401", "Oracle Corporation", ("8.0.4010.10", "8.0.4110.9"), 120,
         r"C:\Program Files\Java\jre-1.8"),
        ("Microsoft Teams", "Microsoft Corporation", ("24033.811.2738", "24060.2623.2790"), 410,
         None),
        ("NinjaRMMAgent", "NinjaRMM LLC", ("5.8.9154", "5.9.9652"), 180,
         r"C:\ProgramData\NinjaRMMAgent"),
    ],
    "mac": [
        ("Google Chrome", "Google LLC", ("122.0.6261.112", "123.0.6312.86"), 1100,
         "/Applications/Google Chrome.app"),
        ("Microsoft Word", "Microsoft Corporation", ("16.82", "16.83"), 2400,
         "/Applications/Microsoft Word.app"),
        ("Slack", "Slack Technologies", ("4.36.140", "4.37.94"), 480, "/Applications/Slack.app"),
        ("zoom.us", "Zoom Video Communications, Inc.", ("5.17.11", "6.0.2"), 320,
         "/Applications/zoom.us.app"),
        ("1Password 7", "AgileBits Inc.", ("7.9.11", "7.9.12"), 260,
         "/Applications/1Password 7.app"),
        ("NinjaRMMAgent", "NinjaRMM LLC", ("5.8.9154", "5.9.9652"), 90,
         "/Applications/NinjaRMMAgent"),
    ],
    "linux": [
        ("openssl", "Ubuntu", ("3.0.2-0ubuntu1.14", "3.0.2-0ubuntu1.15"), 2, "/usr/bin"),
        ("curl", "Ubuntu", ("7.81.0-1ubuntu1.15", "7.81.0-1ubuntu1.16"), 1, "/usr/bin"),
        ("python3", "Ubuntu", ("3.10.6-1~22.04", "3.10.12-1~22.04"), 1, "/usr/bin"),
        ("nginx", "Ubuntu", ("1.18.0-6ubuntu14.4", "1.18.0-6ubuntu14.5"), 3, "/usr/sbin"),
        ("docker-ce", "Docker Inc.", ("25.0.3-1", "26.0.0-1"), 95, "/usr/bin"),
        ("ninjarmm-agent", "NinjaRMM LLC", ("5.8.9154", "5.9.9652"), 60, "/opt/NinjaRMMAgent"),
    ],
}  # fmt: skip

# (name, display name, description, start type, account, usual state)
_SERVICES = [
    ("Spooler", "Print Spooler", "This service spools print jobs and handles interaction "
     "with the printer.", "AUTO_START", "LocalSystem", "RUNNING"),
    ("wuauserv", "Windows Update", "Enables the detection, download, and installation of "
     "updates for Windows and other programs.", "DEMAND_START", "LocalSystem", "RUNNING"),
    ("WinDefend", "Microsoft Defender Antivirus Service", "Helps protect users from malware "
     "and other potentially unwanted software.", "AUTO_START", "LocalSystem", "RUNNING"),
    ("W32Time", "Windows Time", "Maintains date and time synchronization on all clients and "
     "servers in the network.", "DEMAND_START", "NT AUTHORITY\\LocalService", "RUNNING"),
    ("Dnscache", "DNS Client", "The DNS Client service caches Domain Name System (DNS) names.",
     "AUTO_START", "NT AUTHORITY\\NetworkService", "RUNNING"),
    ("BITS", "Background Intelligent Transfer Service", "Transfers files in the background "
     "using idle network bandwidth.", "AUTO_START_DELAYED", "LocalSystem", "RUNNING"),
    ("EventLog", "Windows Event Log", "This service manages events and event logs.",
     "AUTO_START", "NT AUTHORITY\\LocalService", "RUNNING"),
    ("NinjaRMMAgent", "NinjaRMMAgent", "NinjaOne RMM agent.", "AUTO_START", "LocalSystem",
     "RUNNING"),
    ("RemoteRegistry", "Remote Registry", "Enables remote users to modify registry settings "
     "on this computer.", "DISABLED", "NT AUTHORITY\\LocalService", "STOPPED"),
    ("TermService", "Remote Desktop Services", "Allows users to connect interactively to a "
     "remote computer.", "DEMAND_START", "NT AUTHORITY\\NetworkService", "STOPPED"),
]  # fmt: skip
_SERVER_SERVICES = [
    ("W3SVC", "World Wide Web Publishing Service", "Provides Web connectivity and "
     "administration through the Internet Information Services Manager.", "AUTO_START",
     "LocalSystem", "RUNNING"),
    ("MSSQLSERVER", "SQL Server (MSSQLSERVER)", "Provides storage, processing and controlled "
     "access of data.", "AUTO_START", "NT Service\\MSSQLSERVER", "RUNNING"),
]  # fmt: skip

# (KB, title, type, severity); "{os}" is the device's Windows version.
_WINDOWS_PATCHES = [
    ("KB5034441", "2024-01 Security Update for {os} for x64-based Systems (KB5034441)",
     "SECURITY_UPDATES", "IMPORTANT"),
    ("KB5034763", "2024-02 Cumulative Update for {os} for x64-based Systems (KB5034763)",
     "SECURITY_UPDATES", "CRITICAL"),
    ("KB5035845", "2024-03 Cumulative Update for {os} for x64-based Systems (KB5035845)",
     "SECURITY_UPDATES", "CRITICAL"),
    ("KB5034467", "2024-01 Cumulative Update for .NET Framework 3.5, 4.8 and 4.8.1 for {os} "
     "(KB5034467)", "UPDATE_ROLLUPS", "IMPORTANT"),
    ("KB890830", "Windows Malicious Software Removal Tool x64 - v5.122 (KB890830)",
     "UPDATE_ROLLUPS", "UNSPECIFIED"),
    ("KB2267602", "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 "
     "(Version 1.407.451.0)", "DEFINITION_UPDATES", "UNSPECIFIED"),
    ("KB4023057", "2024-02 Update for {os} for x64-based Systems (KB4023057)", "UPDATES",
     "MODERATE"),
    ("KB5001716", "2024-03 Update for {os} for x64-based Systems (KB5001716)", "UPDATES",
     "LOW"),
]  # fmt: skip
_OTHER_PATCHES = {
    "mac": [("macOS Sonoma 14.4.1", "UPDATES", "CRITICAL"),
            ("Safari 17.4.1", "SECURITY_UPDATES", "IMPORTANT"),
            ("XProtectPlistConfigData 2192", "DEFINITION_UPDATES", "UNSPECIFIED"),
            ("Command Line Tools for Xcode 15.3", "UPDATES", "LOW")],
    "linux": [("linux-image-5.15.0-101-generic", "SECURITY_UPDATES", "CRITICAL"),
              ("openssh-server 1:8.9p1-3ubuntu0.7", "SECURITY_UPDATES", "IMPORTANT"),
              ("libc6 2.35-0ubuntu3.7", "SECURITY_UPDATES", "IMPORTANT"),
              ("tzdata 2024a-0ubuntu0.22.04", "UPDATES", "LOW")],
}  # fmt: skip

_USERS = ["jsmith", "mgarcia", "achen", "rpatel", "lnguyen", "kjohnson", "twilliams", "dlee",
          "sbrown", "emartin", "obaker", "hwright"]  # fmt: skip
_SECTIONS = ["conditions", "antivirus", "patchManagement", "softwarePatchManagement",
             "scheduledScripts", "windowsServices", "customFields", "general"]  # fmt: skip
_THREATS = [("Trojan:Win32/Wacatac.B!ml", "Trojan", "Severe"),
            ("PUA:Win32/Presenoker", "PotentiallyUnwantedSoftware", "Low"),
            ("HackTool:Win32/AutoKMS", "HackTool", "High"),
            ("Adware:Win32/Hotbar", "Adware", "Moderate")]  # fmt: skip


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(_NS, ":".join(str(p) for p in parts)))


def _serial(rng: random.Random, n: int = 10) -> str:
    return "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(n))


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _generate(
    rng: random.Random, now: int, fleet: list[tuple[int, dict[str, Any]]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    maintenance: list[dict[str, Any]] = []
    for device_id, device in fleet:
        family = _FAMILY.get(device["node_class"])
        if family is None or device["approval_status"] != "APPROVED":
            continue
        _Device(rng, now, device_id, device, family, rows).generate()
        if rng.random() < 0.02:
            start = now - rng.randint(0, 2) * 3600
            maintenance.append({
                "device_id": device_id, "start_ms": start * 1000,
                "end_ms": (start + rng.choice([2, 4, 8]) * 3600) * 1000,
                "disabled_features": ["ALERTS", "PATCHING"],
                "reason_message": "Scheduled hardware work", "created_at": start - 600,
            })  # fmt: skip
    return rows, maintenance


class _Device:
    """One device's inventory rows, appended to ``rows``."""

    def __init__(
        self,
        rng: random.Random,
        now: int,
        device_id: int,
        device: dict[str, Any],
        family: str,
        rows: list[dict[str, Any]],
    ) -> None:
        self.rng, self.now, self.id, self.device, self.family = rng, now, device_id, device, family
        self.rows = rows
        self.server = device["node_class"] in _SERVERS
        self.prefix = device["system_name"].split("-")[1]
        self.collected = device["last_update"]
        self.domain = device["dns_name"].split(".", 1)[1] if device["dns_name"] else None
        self.os_name = (
            "Windows Server 2022" if self.server else rng.choice(["Windows 10", "Windows 11"])
        )

    def add(self, kind: str, key: str | None, at: float | None, data: dict[str, Any]) -> None:
        at_ms = None if at is None else int(at * 1000)
        self.rows.append({"device_id": self.id, "kind": kind, "item_key": key,
                          "at_ms": at_ms, "data": data})  # fmt: skip

    def generate(self) -> None:
        self.operating_system()
        self.computer_system()
        if self.family in ("ios", "android"):
            return
        self.software()
        if self.family == "windows":
            self.services()
            self.antivirus()
        self.hardware()
        self.network()
        self.os_patches()
        self.users()
        self.jobs()
        if self.rng.random() < 0.08:
            sections = sorted(self.rng.sample(_SECTIONS, self.rng.randint(1, 3)))
            self.add("policy_override", None, None, {"overrides": sections})

    def operating_system(self) -> None:
        rng = self.rng
        boot = float(self.collected - rng.randint(1, 20) * _DAY)
        base = {"architecture": "64-bit", "lastBootTime": boot, "servicePackMajorVersion": 0,
                "servicePackMinorVersion": 0, "locale": "en-US", "language": "English",
                "needsReboot": rng.random() < 0.2}  # fmt: skip
        if self.family == "windows":
            build, release = {"Windows Server 2022": ("20348", "21H2"),
                              "Windows 10": ("19045", "22H2"),
                              "Windows 11": ("22631", "23H2")}[self.os_name]  # fmt: skip
            edition = "Standard Edition" if self.server else "Professional Edition"
            os = {"manufacturer": "Microsoft Corporation", "name": f"{self.os_name} {edition}",
                  "buildNumber": build, "releaseId": release}  # fmt: skip
        elif self.family == "mac":
            os = {"manufacturer": "Apple Inc.", "name": "macOS Sonoma", "buildNumber": "23E224",
                  "releaseId": "14.4.1"}  # fmt: skip
        elif self.family == "linux":
            os = {"manufacturer": "Canonical Ltd.", "name": "Ubuntu 22.04.4 LTS",
                  "buildNumber": "5.15.0-100-generic", "releaseId": "22.04"}  # fmt: skip
        elif self.family == "ios":
            os = {"manufacturer": "Apple Inc.", "name": "iOS", "buildNumber": "21E236",
                  "releaseId": "17.4.1", "architecture": "ARM64"}  # fmt: skip
        else:
            os = {"manufacturer": "Google", "name": "Android", "buildNumber": "UP1A.231005.007",
                  "releaseId": "14", "architecture": "ARM64"}  # fmt: skip
        data: dict[str, Any] = {**base, **os}
        self.add("operating_system", os["name"], self.collected, data)

    def computer_system(self) -> None:
        rng, prefix = self.rng, self.prefix
        if self.device["node_class"] == "VMWARE_VM_GUEST":
            maker, model, chassis = "VMware, Inc.", "VMware7,1", "UNKNOWN"
        elif self.family in ("mac", "ios"):
            maker, chassis = "Apple Inc.", "LAPTOP" if self.family == "mac" else "MOBILE"
            model = "MacBookPro18,3" if self.family == "mac" else "iPhone15,2"
        elif self.family == "android":
            maker, model, chassis = "Samsung", "SM-S911B", "MOBILE"
        elif self.server:
            maker, model, chassis = "Dell Inc.", "PowerEdge R650", "UNKNOWN"
        else:
            maker, model = rng.choice(
                [
                    ("Dell Inc.", "OptiPlex 7010" if prefix != "LT" else "Latitude 5440"),
                    ("HP", "EliteBook 840 G10" if prefix == "LT" else "ProDesk 400 G9"),
                    ("LENOVO", "21HD"),
                ]
            )
            chassis = "LAPTOP" if prefix == "LT" else "DESKTOP"  # fmt: skip
        serial = _serial(rng)
        role = {"DC": "PRIMARY_DOMAIN_CONTROLLER"}.get(
            prefix, "MEMBER_SERVER" if self.server else "MEMBER_WORKSTATION"
        )
        self.processors = 2 if self.server and rng.random() < 0.5 else 1
        data = {
            "name": self.device["system_name"], "manufacturer": maker, "model": model,
            "biosSerialNumber": serial, "serialNumber": serial,
            "domain": self.domain or "WORKGROUP", "domainRole": role,
            "numberOfProcessors": self.processors,
            "totalPhysicalMemory": rng.choice([8, 16, 32, 64 if self.server else 16]) * 1024**3,
            "virtualMachine": self.device["node_class"] == "VMWARE_VM_GUEST",
            "chassisType": chassis,
        }  # fmt: skip
        self.add("computer_system", data["name"], self.collected, data)

    def software(self) -> None:
        rng = self.rng
        titles = _SOFTWARE[self.family]
        agent, others = titles[-1], titles[:-1]
        self.titles = [agent, *rng.sample(others, rng.randint(3, 5))]
        for name, publisher, (version, _new), size, location in self.titles:
            installed = max(self.device["created"], self.now - rng.randint(10, 700) * _DAY)
            data: dict[str, Any] = {"name": name, "publisher": publisher, "version": version,
                                    "installDate": _iso(installed - installed % _DAY),
                                    "size": size * 1024 * 1024}  # fmt: skip
            if location:
                data["location"] = location
            if self.family == "windows":
                data["productCode"] = "{" + _uuid("msi", name).upper() + "}"
            self.add("software", name, installed - installed % _DAY, data)
        # Third-party patches: an update pending for some titles, history for others.
        for name, _publisher, (version, new), _size, _location in self.titles[1:]:
            roll = rng.random()
            if roll > 0.55:
                continue
            data = {"id": _uuid("software-patch", name, new), "title": f"{name} {new}",
                    "productIdentifier": _uuid("software-product", name), "type": "PATCH",
                    "impact": rng.choice(["CRITICAL", "RECOMMENDED", "OPTIONAL"])}  # fmt: skip
            if roll < 0.3:
                status = rng.choice(["PENDING", "PENDING", "APPROVED", "REJECTED"])
                detected = self.collected - rng.randint(0, 20) * _DAY
                self.add("software_patch", data["id"], detected, {**data, "status": status})
            else:
                at = float(self.collected - rng.randint(1, 90) * _DAY)
                data |= {"id": _uuid("software-patch", name, version), "installedAt": at,
                         "title": f"{name} {version}",
                         "status": "FAILED" if rng.random() < 0.15 else "INSTALLED"}  # fmt: skip
                self.add("software_patch_install", data["id"], at, data)

    def services(self) -> None:
        rng = self.rng
        chosen = list(_SERVICES)
        if self.server:
            chosen += _SERVER_SERVICES[: 1 + (self.prefix == "SQL")]
        for name, display, description, start, user, state in chosen:
            if state == "RUNNING" and start == "DEMAND_START" and rng.random() < 0.4:
                state = "STOPPED"
            if self.device["offline"] and name != "RemoteRegistry":
                state = state if rng.random() < 0.9 else "STOPPED"
            self.add("windows_service", name, None, {
                "name": name, "displayName": display, "description": description,
                "startType": start, "userName": user, "state": state,
            })  # fmt: skip

    def antivirus(self) -> None:
        rng = self.rng
        if rng.random() < 0.3:
            return
        product, version = rng.choice(
            [
                ("Windows Defender", "4.18.24020.7"),
                ("Bitdefender Endpoint Security Tools", "7.9.11.360"),
            ]
        )
        state = "ON" if rng.random() < 0.92 else "OFF"
        self.add("antivirus_status", product, self.collected, {
            "productName": product, "productState": state, "version": version,
            "definitionStatus": "UP_TO_DATE" if rng.random() < 0.85 else "OUT_OF_DATE",
        })  # fmt: skip
        if rng.random() < 0.2:
            name, category, level = rng.choice(_THREATS)
            threat_id = rng.randint(2_147_483_648, 2_147_999_999)
            at = self.collected - rng.randint(0, 30) * _DAY
            user = rng.choice(_USERS)
            self.add("antivirus_threat", str(threat_id), at, {
                "name": name, "threatId": threat_id, "category": category, "type": category,
                "level": level, "status": rng.choice(["QUARANTINED", "REMOVED", "ALLOWED"]),
                "productCode": "WINDOWS_DEFENDER" if product == "Windows Defender"
                else "BITDEFENDER", "quarantineId": _uuid("quarantine", self.id, threat_id),
                "detectionSource": "Real-time protection",
                "traceList": f"file:_C:\\Users\\{user}\\Downloads\\setup_{threat_id % 997}.exe",
            })  # fmt: skip

    def hardware(self) -> None:
        rng, family = self.rng, self.family
        if family == "mac":
            cpu = ("Apple M1 Pro", "ARM64", 3228, 10, 10)
        elif self.server:
            cpu = ("Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", "x64", 2394, 16, 32)
        else:
            cpu = rng.choice([("Intel(R) Core(TM) i5-1245U", "x64", 1600, 10, 12),
                              ("Intel(R) Core(TM) i7-12700", "x64", 2100, 12, 20),
                              ("AMD Ryzen 5 PRO 5650G with Radeon Graphics", "x64", 3900, 6,
                               12)])  # fmt: skip
        name, arch, mhz, cores, logical = cpu
        for n in range(self.processors):
            self.add("processor", f"CPU{n}", self.collected, {
                "name": name, "architecture": arch, "maxClockSpeed": mhz * 1_000_000,
                "clockSpeed": rng.randint(mhz // 2, mhz) * 1_000_000, "numCores": cores,
                "numLogicalCores": logical,
            })  # fmt: skip
        disks = rng.randint(1, 3) if self.server else rng.randint(1, 2)
        for n in range(disks):
            gb = rng.choice([256, 512, 1024]) if n == 0 else rng.choice([1024, 2048, 4096])
            model = rng.choice(["Samsung SSD 980 PRO", "WDC WD20EZBX-00A", "KXG60ZNV512G TOSHIBA"])
            name = {"windows": f"\\\\.\\PHYSICALDRIVE{n}", "mac": f"disk{n}"}.get(
                family, f"/dev/sd{'abc'[n]}"
            )
            self.add("disk", name, self.collected, {
                "name": name, "model": model, "manufacturer": "(Standard disk drives)",
                "description": "Disk drive", "interfaceType": "SCSI" if self.server else "NVMe",
                "mediaType": "Fixed hard disk media", "serialNumber": _serial(rng, 16),
                "size": gb * 1000**3, "partitionCount": 3 if n == 0 else 1,
                "bytesPerSector": 512, "smartCapable": True,
                "status": "OK" if rng.random() < 0.97 else "Pred Fail",
            })  # fmt: skip
            self.volume(n, gb)

    def volume(self, n: int, gb: int) -> None:
        rng, family = self.rng, self.family
        capacity = gb * 1000**3 - 600 * 1024**2
        if family == "windows":
            letter = "CDE"[n]
            data: dict[str, Any] = {"name": f"{letter}:", "driveLetter": f"{letter}:",
                                    "label": "OS" if n == 0 else "Data",
                                    "deviceType": "Local Disk", "fileSystem": "NTFS"}  # fmt: skip
            encrypted = not self.server and rng.random() < 0.8
            data["bitLockerStatus"] = {
                "conversionStatus": "FULLY_ENCRYPTED" if encrypted else "FULLY_DECRYPTED",
                "encryptionMethod": "XTS_AES_128" if encrypted else "NONE",
                "protectionStatus": "PROTECTED" if encrypted else "UNPROTECTED",
                "lockStatus": "UNLOCKED", "initializedForProtection": encrypted,
            }  # fmt: skip
        elif family == "mac":
            data = {
                "name": "/" if n == 0 else f"/Volumes/Data{n}",
                "label": "Macintosh HD" if n == 0 else f"Data{n}",
                "deviceType": "Local Disk",
                "fileSystem": "APFS",
            }
        else:
            data = {
                "name": ["/", "/var/lib/docker", "/srv"][n],
                "label": "",
                "deviceType": "Local Disk",
                "fileSystem": "ext4" if n == 0 else "xfs",
            }
        data |= {"autoMount": True, "compressed": False, "capacity": capacity,
                 "freeSpace": int(capacity * rng.uniform(0.04, 0.7)),
                 "serialNumber": _serial(rng, 8)}  # fmt: skip
        self.add("volume", data["name"], self.collected, data)

    def network(self) -> None:
        device, rng = self.device, self.rng
        ip = device["ip_addresses"][0] if device["ip_addresses"] else "10.0.0.10"
        gateway = ip.rsplit(".", 1)[0] + ".1"
        names = {"windows": ("Ethernet", "Wi-Fi"), "mac": ("en0", "en1")}.get(
            self.family, ("eth0", "wlan0")
        )
        adapters = [("Intel(R) Ethernet Connection (17) I219-LM", "ETHERNET")]
        if self.prefix in ("LT", "MAC"):
            adapters.append(("Intel(R) Wi-Fi 6E AX211 160MHz", "WIRELESS"))
        for n, (adapter, kind) in enumerate(adapters):
            index = str(rng.randint(2, 24) if n == 0 else 25 + n)
            up = n == 0 and not device["offline"]
            macs = (
                device["mac_addresses"][:1]
                if n == 0
                else [":".join(f"{rng.randrange(256):02x}" for _ in range(6))]
            )
            self.add("network_interface", index, None, {
                "adapterName": adapter, "interfaceName": names[n], "interfaceType": kind,
                "interfaceIndex": index, "ipAddress": [ip] if n == 0 else [],
                "macAddress": [m.upper() for m in macs], "defaultGateway": gateway,
                "subnetMask": "255.255.255.0", "dnsServers": gateway,
                "dnsHostName": device["dns_name"] or device["system_name"], "mtu": "1500",
                "linkSpeed": "1000000000" if kind == "ETHERNET" else "866700000",
                "status": "Up" if up else "Down",
            })  # fmt: skip

    def os_patches(self) -> None:
        rng = self.rng
        known: list[tuple[str | None, str, str, str]]
        if self.family == "windows":
            known = [(kb, title.format(os=self.os_name), kind, severity)
                     for kb, title, kind, severity in _WINDOWS_PATCHES]  # fmt: skip
        else:
            known = [(None, title, kind, sev) for title, kind, sev in _OTHER_PATCHES[self.family]]
        chosen = rng.sample(known, rng.randint(3, min(6, len(known))))
        split = rng.randint(1, len(chosen) - 1)
        for i, (kb, title, kind, severity) in enumerate(chosen):
            data: dict[str, Any] = {"id": _uuid("os-patch", self.family, title), "name": title,
                                    "type": kind, "severity": severity}  # fmt: skip
            if kb:
                data["kbNumber"] = kb
            if i < split:
                at = float(self.collected - rng.randint(1, 120) * _DAY)
                status = "FAILED" if rng.random() < 0.1 else "INSTALLED"
                self.add("os_patch_install", data["id"], at,
                         {**data, "status": status, "installedAt": at})  # fmt: skip
            else:
                status = rng.choice(["PENDING", "PENDING", "APPROVED", "REJECTED", "MANUAL"])
                detected = self.collected - rng.randint(0, 14) * _DAY
                self.add("os_patch", data["id"], detected, {**data, "status": status})

    def users(self) -> None:
        rng = self.rng
        user = "administrator" if self.server else rng.choice(_USERS)
        if self.family == "windows" and self.domain:
            user = f"{self.domain.split('.')[0].upper()}\\{user}"
        elif self.family == "linux" and self.server:
            user = "root"
        logon = float(self.collected - rng.randint(600, 5 * _DAY))
        self.add("last_logged_on_user", user, logon, {"userName": user, "logonTime": logon})
        if not self.device["offline"]:
            self.add("logged_on_user", user, logon, {"userName": user, "logonTime": logon})

    def jobs(self) -> None:
        rng = self.rng
        if self.device["offline"] or rng.random() > 0.25:
            return
        start = float(self.now - rng.randint(30, 3600))
        data: dict[str, Any] = {
            "uid": _uuid("job", self.id, start), "deviceId": self.id, "createTime": start,
            "updateTime": start + rng.randint(5, 25),
            "jobStatus": rng.choice(["STARTED", "IN_PROCESS"]),
        }  # fmt: skip
        kind = rng.choice(["SCRIPTING", "PATCH_MANAGEMENT", "ANTIVIRUS", "SOFTWARE_PATCH"])
        if kind == "SCRIPTING":
            script = "Clear Temp Files" if self.family == "windows" else "Rotate Application Logs"
            data |= {"jobType": "SCRIPTING", "sourceType": "SCHEDULED_TASK",
                     "sourceName": script, "subject": script,
                     "message": f"Running script '{script}'."}  # fmt: skip
        elif kind == "ANTIVIRUS" and self.family == "windows":
            data |= {"jobType": "ANTIVIRUS", "subject": "Quick scan",
                     "message": "Antivirus quick scan in progress."}  # fmt: skip
        elif kind == "SOFTWARE_PATCH":
            data |= {"jobType": "SOFTWARE_PATCH_MANAGEMENT", "subject": "Software patching",
                     "message": "Installing third-party software patches."}  # fmt: skip
        else:
            data |= {"jobType": "PATCH_MANAGEMENT", "subject": "OS patching",
                     "message": "Installing operating system patches."}  # fmt: skip
        data["data"] = {"message": data["message"]}
        self.add("job", data["uid"], start, data)

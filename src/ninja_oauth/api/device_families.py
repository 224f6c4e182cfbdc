"""Which scripts a device can run: its operating system's family, by node class, and the
accounts a script can run as there. Read by the scripting options (GET) and by script/run."""

from __future__ import annotations

# Devices without an agent (network devices, monitors, phones) have no family: nothing runs.
FAMILY = {
    "WINDOWS_WORKSTATION": "Windows",
    "WINDOWS_SERVER": "Windows",
    "HYPERV_VMM_HOST": "Windows",
    "VMWARE_VM_GUEST": "Windows",
    "MAC": "Mac",
    "MAC_SERVER": "Mac",
    "LINUX_WORKSTATION": "Linux",
    "LINUX_SERVER": "Linux",
}
# Built-in actions per family (type ACTION, named by a stable uid).
ACTIONS = {
    "Windows": ["Reboot", "Shut Down", "Run Disk Cleanup", "Restart Windows Update Service"],
    "Mac": ["Reboot", "Shut Down"],
    "Linux": ["Reboot", "Shut Down"],
}
RUN_AS = {
    "Windows": ["SYSTEM", "LOGGED_ON_USER", "LOCAL_ADMIN", "DOMAIN_ADMIN"],
    "Mac": ["SYSTEM", "LOGGED_ON_USER"],
    "Linux": ["SYSTEM", "LOGGED_ON_USER"],
}

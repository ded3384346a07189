"""Checks of the machine around the daemon: is a daemon answering on the control socket, is there disk space,
do its TCP listeners stay on the loopback interface.

A daemon that does not answer is only a warning: the doctor is also run before the first start and during an
upgrade, when the service is stopped on purpose.
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from outboxd.config import DaemonConfig
from outboxd.control.client import ControlClient
from outboxd.doctor.result import CheckResult
from outboxd.exceptions import ControlError, DaemonNotRunning

__all__ = ["DISK_FAIL_BYTES", "DISK_WARN_BYTES", "check_disk", "check_listeners", "check_socket"]

DISK_WARN_BYTES = 1 << 30  # 1 GiB
DISK_FAIL_BYTES = 100 << 20  # 100 MiB
_SOCKET_TIMEOUT = 3.0
DiskUsage = Callable[[Path], Any]  # shutil.disk_usage: an object with .free


async def check_socket(path: Path) -> CheckResult:
    """Ask the daemon for its status over the control socket."""
    check, title = "socket", "control socket"
    try:
        async with ControlClient(path, actor="doctor", timeout=_SOCKET_TIMEOUT) as client:
            status = await client.status()
    except DaemonNotRunning:
        fix = "start it: systemctl start outboxd (or check daemon.control_socket)"
        return CheckResult.warn(check, title, f"no daemon answers at {path}", fix)
    except (ControlError, TimeoutError) as exc:
        fix = "read the daemon's log: journalctl -u outboxd -e"
        return CheckResult.warn(check, title, f"the daemon at {path} did not answer properly: {exc}", fix)
    shops = status.get("shops") if isinstance(status, dict) else None
    count = f", {len(shops)} shop(s)" if isinstance(shops, list) else ""
    return CheckResult.ok(check, title, f"a daemon answers at {path}{count}")


def check_listeners(daemon: DaemonConfig) -> CheckResult:
    """The metrics and OAuth callback listeners bound to a loopback address (the control API is on the socket)."""
    check, title = "listeners", "TCP listeners"
    listeners = {"daemon.callback_host": daemon.callback_host}
    if daemon.metrics_listen:
        listeners["daemon.metrics_listen"] = daemon.metrics_listen.rpartition(":")[0]
    exposed = [f"{key} = {host}" for key, host in listeners.items() if not _loopback(host)]
    if exposed:
        fix = "bind them to 127.0.0.1 (reach them through ssh -L) unless a firewall guards that address"
        return CheckResult.warn(check, title, f"reachable from the network: {', '.join(exposed)}", fix)
    return CheckResult.ok(check, title, "metrics and OAuth callback on loopback only")


def _loopback(host: str) -> bool:
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name: where it points is the resolver's business, so it is not vouched for
        return False


def check_disk(directory: Path, *, usage: DiskUsage = shutil.disk_usage) -> CheckResult:
    """Free space where the state database lives (a daemon that cannot write stops sending)."""
    check, title = "disk", "disk space"
    where = directory
    while not where.exists() and where != where.parent:
        where = where.parent
    free = int(usage(where).free)
    summary = f"{_size(free)} free on {where}"
    fix = "free space: old backups in /var/backups/outboxd, journalctl --vacuum-size=500M; df -h " + str(where)
    if free < DISK_FAIL_BYTES:
        return CheckResult.fail(check, title, summary + f" (less than {_size(DISK_FAIL_BYTES)})", fix)
    if free < DISK_WARN_BYTES:
        return CheckResult.warn(check, title, summary + f" (less than {_size(DISK_WARN_BYTES)})", fix)
    return CheckResult.ok(check, title, summary)


def _size(count: int) -> str:
    return f"{count / (1 << 30):.1f} GiB" if count >= 1 << 30 else f"{count / (1 << 20):.0f} MiB"

"""``outboxd demo`` as the README runs it, dashboard included, in a real terminal (tmux): the overview of the
simulated shop comes up, ``q`` quits, and nothing is left behind (no process, no state directory, no socket).

The demo's temporary directory is made under a private ``TMPDIR``; the daemon is found as the demo's child
process, its configuration names the socket's directory. Every wait polls; nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from real_daemon import OUTBOXD, Tmux

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]

TERMINAL = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "COLORTERM": ""}


class Pane(Tmux):
    """The session's one pane: its process and whether it has exited (``remain-on-exit`` keeps it to read)."""

    def value(self, variable: str) -> str:
        return self._tmux("display-message", "-p", "-t", self.name, f"#{{{variable}}}").strip()


@pytest.fixture
def pane(request: pytest.FixtureRequest) -> Iterator[Pane]:
    session = Pane(request.node.name[:20], 80, 24)
    try:
        yield session
    finally:
        session.kill()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc: the field after the command's closing parenthesis)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:  # gone meanwhile
        return []


def socket_dir_of(config: Path) -> Path:
    return Path(tomllib.loads(config.read_text())["daemon"]["control_socket"]).parent


def alive(pid: int) -> bool:
    """Running (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {within} s")
        await asyncio.sleep(0.05)


async def test_the_demo_with_its_dashboard_quits_on_q_and_leaves_nothing(tmp_path: Path, pane: Pane) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    pane.start([str(OUTBOXD), "demo"], {**TERMINAL, "TMPDIR": str(tmpdir), "USER": "newcomer"})
    demo = int(pane.value("pane_pid"))
    await pane.wait_for("demo-shop", "- disconnected", "q Quit", within=45)  # the overview, at 80x24

    (daemon,) = children(demo)  # the simulator runs inside the demo; the daemon is its one child process
    argv = command_line(daemon)
    assert argv[3:5] == ["run", "--config"]
    config = Path(argv[5])
    (state_dir,) = tmpdir.iterdir()
    assert config.parent == state_dir
    assert state_dir.name.startswith("outboxd-demo-")
    socket_dir = socket_dir_of(config)
    assert socket_dir.is_dir()

    pane.keys("q")
    await until(lambda: pane.value("pane_dead") == "1", 30, "the demo's exit")
    assert pane.value("pane_dead_status") == "0"
    assert not alive(demo)
    assert not alive(daemon)
    assert not state_dir.exists()
    assert list(tmpdir.iterdir()) == []
    assert not socket_dir.exists()
    leftovers = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if alive(pid)
                 and any(str(state_dir) in arg for arg in command_line(pid))]  # fmt: skip
    assert leftovers == []

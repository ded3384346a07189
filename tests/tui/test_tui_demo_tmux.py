"""``outboxd demo`` as the README runs it, dashboard included, in a real terminal (tmux) at 80x24: the README's
story through the dashboard, then ``q`` quits and nothing is left behind (no process, no state directory, no
socket).

The demo's temporary directory is made under a private ``TMPDIR``; the daemon is found as the demo's child
process, its configuration names the socket's directory. Every wait polls; nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import os
import re
import shutil
import time
import tomllib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from real_daemon import OUTBOXD, TERMINAL, Tmux
from test_tui_tmux import authorize_url

from outboxd.control.client import ControlClient
from outboxd.demo.files import HISTORY_DAYS
from outboxd.exceptions import ControlError

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]


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


def add_rate(config: Path, rate: str) -> None:
    """One more rate in ``vat_rates`` under [mapping], every other line kept, as an editor saves it."""
    text = config.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("vat_rates = ["))
    config.write_text(text.replace(line, line.replace("]", f', "{rate}"]')))


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


async def authorize_in_browser(url: str) -> int:
    """What a person does on the simulator's page: click Authorize; the browser follows to the daemon's callback."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as page:
            fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', await page.text()))
        form = {html.unescape(k): html.unescape(v) for k, v in fields.items()}
        async with http.post(url.split("?", 1)[0], data=form) as landed:
            return landed.status


async def recovered(pane: Pane, *texts: str, within: float = 30.0) -> None:
    """Until ``texts`` show; the daemon-down message (the demo restarting the daemon) is answered with ``r``."""
    deadline = time.monotonic() + within
    while not all(t in (screen := pane.screen()) for t in texts):
        assert time.monotonic() < deadline, f"{texts} not on the screen within {within} s:\n{screen}"
        if "r: try again" in screen:
            pane.keys("r")
        await asyncio.sleep(0.2)


async def until_async(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {within} s")
        await asyncio.sleep(0.1)


async def test_the_demo_story_in_its_dashboard_then_q_leaves_nothing(tmp_path: Path, pane: Pane) -> None:
    """The README's story through the dashboard at 80x24: connect (a browser authorizes on the simulator's page),
    backfill the history, meet the 8.5 % ticket in Failed deliveries, add "8.5" to the configuration (the demo
    restarts the daemon), retry it; then q, and nothing is left behind."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    status = tmp_path / "status"  # the exit status, written by a shell (tmux may leave its pane's child unreaped)
    command = ["sh", "-c", f'"$0" demo; echo $? > {status}', str(OUTBOXD)]
    pane.start(command, {**TERMINAL, "TMPDIR": str(tmpdir), "USER": "newcomer"})
    await pane.wait_for("demo-shop", "- disconnected", "q Quit", within=45)  # the overview, at 80x24
    (demo,) = children(int(pane.value("pane_pid")))

    (daemon,) = children(demo)  # the simulator runs inside the demo; the daemon is its one child process
    argv = command_line(daemon)  # the interpreter, then the script: `ps` names it outboxd run
    assert Path(argv[1]) == OUTBOXD
    assert argv[2:4] == ["run", "--config"]
    config = Path(argv[4])
    (state_dir,) = tmpdir.iterdir()
    assert config.parent == state_dir
    assert state_dir.name.startswith("outboxd-demo-")
    socket_dir = socket_dir_of(config)
    assert socket_dir.is_dir()

    pane.keys("c")
    await pane.wait_for("Pennylane connection of demo-shop", "- disconnected")
    pane.keys("s")
    screen = await pane.wait_for("Open in a browser", "It comes back to")
    assert await authorize_in_browser(authorize_url(screen, "http://127.0.0.1:")) == 200
    await pane.wait_for("company: Boulangerie du Port SARL", "b: backfill")

    pane.keys("b")
    await pane.wait_for("Backfill of demo-shop", " events")
    start = (dt.date.today() - dt.timedelta(days=HISTORY_DAYS)).isoformat()
    pane.keys("e")  # from the first day of the history (the default is the fiscal year's start)
    await pane.wait_for("editing the start date")  # keys sent before the field has the focus go to the screen
    pane.keys("C-a", "C-k")
    pane.type(start)
    pane.keys("Enter")
    await pane.wait_for(f"from {start} ")
    pane.keys("s")
    await pane.wait_for("Send ", "y yes")
    pane.keys("y")
    await pane.wait_for("▶ running")
    pane.keys("Escape")  # one key per screen: Escape and a key sent together read as Alt+key
    await pane.wait_for("Pennylane connection of demo-shop")
    pane.keys("Escape")
    await pane.wait_for("✗ 1", "● live", within=45)  # the 8.5 % ticket failed
    pane.keys("f")
    await pane.wait_for("1 of 1 failed deliveries", "vat_rate 8.5", "configuration:")  # where to fix it

    add_rate(config, "8.5")  # the README's fix, saved: the demo restarts the daemon

    async def restarted() -> bool:
        try:
            async with ControlClient(socket_dir / "control.sock", timeout=2.0) as client:
                return bool((await client.status())["daemon"]["pid"] not in (daemon, 0))
        except ControlError:
            return False

    await until_async(restarted, 30, "the daemon restarted by the demo")
    assert not alive(daemon)
    await recovered(pane, "1 of 1 failed deliveries", "q Quit")  # r on the daemon-down message if it showed
    async with ControlClient(socket_dir / "control.sock", actor="test") as client:
        restarted_daemon = (await client.status())["daemon"]["pid"]
        (poison,) = (await client.failed({"shop": "demo-shop"}))["items"]
        pane.keys("r")  # retry the selected (only) row: it leaves the list, the line below says it was booked
        await pane.wait_for("no failed delivery", f"✓ delivery {poison['id']} booked: DOM-0001-r1 Pennylane id")

        async def booked() -> bool:
            return bool((await client.delivery(poison["id"]))["state"] == "delivered")

        await until_async(booked, 30, "the retried ticket delivered")

    pane.keys("q")
    # tmux marks the pane dead when its terminal closes, and fills the status once the process is reaped
    await until(status.exists, 30, "the demo's exit")
    assert status.read_text().strip() == "0", pane.screen()
    assert not alive(demo)
    assert not alive(restarted_daemon)
    assert not state_dir.exists()
    assert list(tmpdir.iterdir()) == []
    assert not socket_dir.exists()
    leftovers = [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc"))) if alive(pid)
                 and any(str(state_dir) in arg for arg in command_line(pid))]  # fmt: skip
    assert leftovers == []

"""The real ``outboxd tui`` in tmux, no daemon needed (its full-screen message): Ctrl-C quits as the README and the
footer say, and a dashboard whose standard output is piped still fills the terminal (Textual measured stdout)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from real_daemon import OUTBOXD, TERMINAL, Tmux

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]


@pytest.fixture
def tmux(request: pytest.FixtureRequest) -> Iterator[Tmux]:
    session = Tmux(request.node.name[:20], 100, 30)
    try:
        yield session
    finally:
        session.kill()


def _written(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


async def _exit_status(path: Path, within: float = 20.0) -> str:
    deadline = time.monotonic() + within
    while not (status := _written(path)):
        assert time.monotonic() < deadline, "the dashboard did not exit"
        await asyncio.sleep(0.05)
    return status


async def test_ctrl_c_quits_the_dashboard(tmp_path: Path, tmux: Tmux) -> None:
    status = tmp_path / "status"
    script = f'"$0" tui --socket {tmp_path}/none.sock; echo $? > {status}'
    tmux.start(["sh", "-c", script, str(OUTBOXD)], TERMINAL)
    await tmux.wait_for("the daemon is not running", "q Quit")
    tmux.keys("C-c")
    assert await _exit_status(status) == "0"


async def test_a_piped_dashboard_fills_the_terminal(tmp_path: Path, tmux: Tmux) -> None:
    status = tmp_path / "status"
    script = f'"$0" tui --socket {tmp_path}/none.sock | cat; echo $? > {status}'
    tmux.start(["sh", "-c", script, str(OUTBOXD)], TERMINAL)
    screen = await tmux.wait_for("the daemon is not running", "q Quit")
    lines = screen.splitlines()
    assert len(lines) == 30
    assert "q Quit" in lines[29], screen  # the footer on the terminal's last line, not on line 24
    tmux.keys("q")
    assert await _exit_status(status) == "0"

"""The real ``outboxd tui`` in a real terminal (tmux), against ``outboxd run`` as a process and the simulator:
connect through OAuth, backfill the held history, meet the poison ticket, fix the mapping, retry it. Without a
daemon (its full-screen message): Ctrl-C quits, and a dashboard whose standard output is piped fills the terminal.

Every wait polls ``capture-pane`` for the text expected (bounded); nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from real_daemon import OUTBOXD, TERMINAL, VAT_RATES, Bench, Tmux, bench, daemon_process, history

from outboxd.demo.tickets import POISON_RATE, poison_ticket

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]


@pytest.fixture
def tmux(request: pytest.FixtureRequest) -> Iterator[Tmux]:
    session = Tmux(request.node.name[:20])
    try:
        yield session
    finally:
        session.kill()


def _tui(b: Bench) -> list[str]:
    return [str(OUTBOXD), "tui", "--socket", str(b.socket)]


def authorize_url(screen: str, prefix: str) -> str:
    """The URL as the operator copies it off the Connect screen (on lines of its own, wrapped at the edge)."""
    lines = screen.splitlines()
    start = next(i for i, line in enumerate(lines) if prefix in line)
    parts = []
    for line in lines[start:]:
        text = line.strip().strip("│┃").strip()
        if not parts:
            text = text[text.index(prefix) :]
        elif " " in text or not text:
            break
        parts.append(text)
    return "".join(parts)


async def test_connect_backfill_fix_mapping_retry_in_tmux(tmp_path: Path, tmux: Tmux) -> None:
    async with bench(tmp_path) as b:
        yesterday = dt.date.today() - dt.timedelta(days=1)
        rows = history("s2")
        b.insert(rows[:6] + poison_ticket("s2", yesterday) + rows[6:])
        held = len(rows) + 2 - sum(r["event_type"] == "reference.updated" for r in rows)
        async with daemon_process(b):
            started = time.monotonic()
            tmux.start(_tui(b), {**TERMINAL, "USER": "operator"})
            await tmux.wait_for("Paris 1", "- disconnected", "Boulangerie Martin")
            print(f"\noutboxd tui: first screen after {time.monotonic() - started:.2f} s (100x30, tmux)")

            # connect s2: the authorize URL, a person clicking Authorize, the redirect URL pasted back
            tmux.keys("Down", "c")
            await tmux.wait_for("Pennylane connection of s2", "- disconnected")
            tmux.keys("s")
            screen = await tmux.wait_for("Open in a browser", "It comes back to")
            url = authorize_url(screen, b.handle.authorize_url)
            redirect = b.sandbox.approve(url, b.companies["s2"])
            tmux.paste(redirect)  # no field has the focus: the screen takes the paste and completes it
            await tmux.wait_for("company: Cave Durand", "b: backfill", "authorize URL is used up")

            # backfill the history held at the connection
            tmux.keys("b")  # the connect left the URL field: b is the backfill offer
            await tmux.wait_for("Backfill of s2", "events")
            first = min(r["occurred_at"][:10] for r in rows)
            if first < f"{dt.date.today().year}-01-01":  # early January: start in last year's (open) fiscal year
                tmux.keys("e")
                await tmux.wait_for("editing the start date")  # keys sent before the field has the focus are lost
                tmux.keys("C-a", "C-k")
                tmux.type(first)
                tmux.keys("Enter")
            await tmux.wait_for(f": {held} events")
            tmux.keys("s")
            await tmux.wait_for(f"Send {held} events")
            tmux.keys("y")
            # the poison order fails; its payment waits behind it: everything else is settled
            await tmux.wait_for(f"▶ running: {held - 1}/{held} events")

            # the failed delivery: an unmapped VAT rate
            tmux.keys("Escape")  # one key per screen: Escape and a key sent together read as Alt+key
            await tmux.wait_for("Pennylane connection of s2")
            tmux.keys("Escape")
            await tmux.wait_for("✗ 1", "deliveries/min")
            tmux.keys("f")
            await tmux.wait_for("1 of 1 failed deliveries", "booking", "order.record")

        # fix the mapping as an operator would (8.5 % in vat_rates) and restart the daemon: the TUI says it is gone
        await tmux.wait_for("outboxd run", "r: try again")
        b.write_config([*VAT_RATES, POISON_RATE])
        async with daemon_process(b):
            tmux.keys("r")
            await tmux.wait_for("1 of 1 failed deliveries")
            tmux.keys("r")  # retry the selected (only) row
            await tmux.wait_for("no failed delivery")
            tmux.keys("Escape")
            await tmux.wait_for("deliveries/min")
            tmux.keys("b")
            await tmux.wait_for(f"✓ done: {held}/{held} events")
        pieces = {e.piece_number for e in b.sandbox.entries(b.companies["s2"])}
        assert any(p.startswith("DOM-0001") for p in pieces), "the poison ticket, retried, is booked"


def chromatic(escapes: str) -> list[str]:
    """Colours in the SGR sequences that are not a shade of grey (256-colour greys, or r = g = b)."""
    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", escapes):
        codes = params.split(";")
        for i, code in enumerate(codes[:-2]):
            if code in ("38", "48") and codes[i + 1] == "5":
                n = int(codes[i + 2])
                if not (n >= 232 or n in (0, 7, 8, 15, 16, 231)):
                    found.append(params)
            elif code in ("38", "48") and codes[i + 1] == "2" and len(set(codes[i + 2 : i + 5])) > 1:
                found.append(params)
        found += [params for c in codes if c.isdigit() and (30 < int(c) < 37 or 40 < int(c) < 47 or 90 < int(c) < 97)]
    return found


async def test_80x24_monochrome_states_in_words_keys_fit(tmp_path: Path) -> None:
    """NO_COLOR=1 at 80x24: only greys reach the terminal; states are words and symbols; ? and q fit the footer."""
    session = Tmux("mono", 80, 24)
    try:
        async with bench(tmp_path) as b, daemon_process(b):
            session.start(_tui(b), {**TERMINAL, "NO_COLOR": "1"})
            await session.wait_for("✓ connected", "- disconnected", "▶ on", "● live", "? Help", "q Quit", "Ctrl+P")
            assert chromatic(session.screen_escapes()) == []
            session.keys("m")
            await session.wait_for("Accounts", "… on first use", "q Quit")  # the Pennylane column shows at 80
            session.keys("Escape")
            await session.wait_for("● live")
            session.keys("c")
            await session.wait_for("Pennylane connection of s1", "company: Boulangerie Martin", "b Backfill", "q Quit")
            assert chromatic(session.screen_escapes()) == []
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
    """Textual measured stdout: piped, the dashboard drew 80x24 in a 100x30 terminal."""
    status = tmp_path / "status"
    script = f'"$0" tui --socket {tmp_path}/none.sock | cat; echo $? > {status}'
    tmux.start(["sh", "-c", script, str(OUTBOXD)], TERMINAL)
    screen = await tmux.wait_for("the daemon is not running", "q Quit")
    lines = screen.splitlines()
    assert len(lines) == 30
    assert "q Quit" in lines[29], screen  # the footer on the terminal's last line, not on line 24
    tmux.keys("q")
    assert await _exit_status(status) == "0"

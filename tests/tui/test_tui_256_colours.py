"""The real ``outboxd tui`` in a 256-colour terminal (tmux, TERM=xterm-256color, no COLORTERM) at 80x24, against
``outboxd run`` and the simulator: colours reach the terminal as 256-colour codes only, every state is still a
word next to its symbol (never a colour alone), text contrasts with its background, and the screens fit.

The terminal's cells are read back from ``capture-pane -e``: each character with the foreground and background
it was drawn in. Waits poll the screen; nothing sleeps to synchronise.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from real_daemon import OUTBOXD, TERMINAL, Tmux, bench, daemon_process, history

from outboxd.demo.tickets import poison_ticket

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"),
]

SIZE = (80, 24)
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
CUBE = (0, 95, 135, 175, 215, 255)
BASIC = ((0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
         (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255),
         (0, 255, 255), (255, 255, 255))  # fmt: skip
"""xterm's 16 basic colours; 16-231 are the 6x6x6 cube, 232-255 the greys."""
STATES = "✓✗⏸▶⚠"
MIN_CONTRAST = 3.0
"""Every letter, digit and state symbol against the background it is drawn on: WCAG's floor for large text and
interface parts. The selected table row (Textual's cursor, 195 on 32 in 256 colours) is 3.6: under the 4.5 of
AA body text, which every other cell meets."""
Cell = tuple[str, int | None, int | None]


def rgb(n: int) -> tuple[int, int, int]:
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        return CUBE[n // 36], CUBE[n // 6 % 6], CUBE[n % 6]
    grey = 8 + 10 * (n - 232)
    return grey, grey, grey


def contrast(a: int, b: int) -> float:
    """WCAG's contrast ratio of two 256-colour indexes (1 to 21)."""

    def luminance(n: int) -> float:
        channels = [v / 255 for v in rgb(n)]
        r, g, b = (v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def cells(escapes: str) -> list[list[Cell]]:
    """Every line's characters with the 256-colour foreground and background in force (None: the default)."""
    fg: int | None = None
    bg: int | None = None
    screen = []
    for line in escapes.split("\n"):
        row: list[Cell] = []
        position = 0
        for match in SGR.finditer(line):
            row += [(ch, fg, bg) for ch in line[position : match.start()]]
            codes = [int(c or 0) for c in match.group(1).split(";")]
            while codes:
                code = codes.pop(0)
                if code in (38, 48) and codes[:1] == [5]:
                    fg, bg = (codes[1], bg) if code == 38 else (fg, codes[1])
                    del codes[:2]
                elif code == 0:
                    fg = bg = None
                elif code in (39, 49):
                    fg, bg = (None, bg) if code == 39 else (fg, None)
                elif 30 <= code <= 37 or 90 <= code <= 97:
                    fg = code - 30 if code < 90 else code - 82
                elif 40 <= code <= 47 or 100 <= code <= 107:
                    bg = code - 40 if code < 100 else code - 92
            position = match.end()
        row += [(ch, fg, bg) for ch in line[position:]]
        screen.append(row)
    return screen


def chromatic(index: int) -> bool:
    r, g, b = rgb(index)
    return not r == g == b


def check_screen(tmux: Tmux) -> list[str]:
    """What a 256-colour terminal got: only 256-colour codes, some of them colours, readable text; the lines."""
    escapes = tmux.screen_escapes()
    assert not re.search(r"\x1b\[[0-9;]*[34]8;2;", escapes), "24-bit colour sent to a 256-colour terminal"
    screen = cells(escapes)
    colours = {c for row in screen for _, fg, bg in row for c in (fg, bg) if c is not None}
    assert any(chromatic(c) for c in colours), "no colour at all: this is not the 256-colour rendering"
    unreadable = {
        (ch, fg, bg, round(contrast(fg, bg), 1))
        for row in screen
        for ch, fg, bg in row
        if (ch.isalnum() or ch in STATES) and fg is not None and bg is not None and contrast(fg, bg) < MIN_CONTRAST
    }
    assert unreadable == set(), f"text drawn with too little contrast (char, fg, bg, ratio): {sorted(unreadable)}"
    lines = tmux.screen().splitlines()
    assert len(lines) == SIZE[1]
    assert all(len(line) <= SIZE[0] for line in lines)
    assert "? Help" in lines[-1], "\n".join(lines)
    assert "q Quit" in lines[-1]
    return lines


@pytest.fixture
def tmux(request: pytest.FixtureRequest) -> Iterator[Tmux]:
    session = Tmux(request.node.name[:20], *SIZE)
    try:
        yield session
    finally:
        session.kill()


async def test_256_colours_at_80x24_states_in_words_readable_and_fitting(tmp_path: Path, tmux: Tmux) -> None:
    async with bench(tmp_path) as b:
        rows = history("s1", days=1)
        b.insert(rows[:4] + poison_ticket("s1", dt.date.today() - dt.timedelta(days=1)) + rows[4:])
        async with daemon_process(b):
            tmux.start([str(OUTBOXD), "tui", "--socket", str(b.socket)], {**TERMINAL, "USER": "operator"})
            await tmux.wait_for("✗ 1", "✓ connected", "- disconnected", "▶ on", "● live", "q Quit")
            lines = check_screen(tmux)
            header = next(line for line in lines if line.strip().startswith("Shop"))
            assert header.split() == ["Shop", "State", "Pennylane", "Queue", "Oldest", "Today", "Failed", "Rate"]

            tmux.keys("p")  # pause s1 with a reason: its state becomes another word, not another colour
            await tmux.wait_for("why?")
            tmux.type("count")
            tmux.keys("Enter")
            await tmux.wait_for("⏸ paused  ✓ connected")  # the row, once the column has widened
            lines = check_screen(tmux)
            table = {line.split()[0]: line for line in lines if line.startswith((" s1 ", " s2 "))}
            assert re.match(r" s1 +⏸ paused +✓ connected +\d+ +\S+ +\d+ +✗ 1 ", table["s1"])
            assert re.match(r" s2 +▶ on +- disconnected +0 +\S+ +0 +0 ", table["s2"])

            tmux.keys("f")
            await tmux.wait_for("1 of 1 failed deliveries", "order.recorded", "booking", "q Quit")
            lines = check_screen(tmux)
            assert any(re.search(r"order\.recorded +booking +not sent ", line) for line in lines)

            tmux.keys("Enter")
            await tmux.wait_for("── entries ──", "✗ booking", "q Quit")
            lines = check_screen(tmux)
            assert any(line.startswith("✗ booking, not sent to Pennylane: vat_rate 8.5") for line in lines)
            assert any(line.startswith("⏸ 1 event waits behind it") for line in lines)

            tmux.keys("Escape")
            await tmux.wait_for("1 of 1 failed deliveries")
            tmux.keys("Escape")
            await tmux.wait_for("● live")
            tmux.keys("c")
            await tmux.wait_for("Pennylane connection of s1", "company: Boulangerie Martin", "q Quit")
            lines = check_screen(tmux)
            assert any("✓ connected, Boulangerie Martin, API token" in line for line in lines)

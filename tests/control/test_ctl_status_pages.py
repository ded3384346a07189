"""``outboxd ctl status`` pages: --search, --limit, --offset, the line saying which shops of how many, the totals and
the next page's option (against the daemon double on a real socket)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from outboxd.cli import ctl
from outboxd.cli import ctl_commands as shell
from outboxd.exceptions import BadRequest


def _args(socket_path: Path, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    ctl.add_arguments(parser)
    return parser.parse_args(["--socket", str(socket_path), "status", *argv])


async def test_a_page_says_which_shops_and_the_next_offset(
    socket_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await shell.dispatch(_args(socket_path, "--limit", "1")) == 0
    out = capsys.readouterr().out
    assert "paris-01" in out
    assert "lyon-02" not in out
    assert "shops 1-1 of 2; queue 152, failed 4, paused 1 (next page: --offset 1)" in out
    assert await shell.dispatch(_args(socket_path, "--limit", "1", "--offset", "1")) == 0
    out = capsys.readouterr().out
    assert "lyon-02" in out
    assert "shops 2-2 of 2;" in out
    assert "next page" not in out


async def test_a_search_counts_what_it_matches(socket_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await shell.dispatch(_args(socket_path, "--search", "LYON")) == 0
    out = capsys.readouterr().out
    assert "paris-01" not in out
    assert "shops 1-1 of 2 (1 matching);" in out
    assert await shell.dispatch(_args(socket_path, "--search", "nowhere")) == 0
    assert "no shop of 2 (0 matching);" in capsys.readouterr().out


async def test_a_limit_out_of_range_is_refused_by_the_daemon(socket_path: Path) -> None:
    with pytest.raises(BadRequest, match="limit must be between 1 and 1000, not 1001"):
        await shell.dispatch(_args(socket_path, "--limit", "1001"))

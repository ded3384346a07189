"""``outboxd ctl`` against the daemon double on a real socket: tables, --json, confirmations."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from control.backend_double import DaemonDouble

from outboxd.cli import ctl
from outboxd.cli import ctl_commands as shell


def _args(socket_path: Path, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    ctl.add_arguments(parser)
    return parser.parse_args(["--socket", str(socket_path), *argv])


class Answers:
    """What the operator types at each prompt, and the prompts seen."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answers.pop(0)


async def test_status_is_a_table(socket_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await shell.dispatch(_args(socket_path, "status")) == 0
    out = capsys.readouterr().out
    assert "paris-01" in out
    assert "✗ reconnect needed" in out
    assert "⏸ paused" in out


async def test_json_is_the_api_answer(socket_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await shell.dispatch(_args(socket_path, "--json", "failed", "--shop", "paris-01")) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 3


async def test_show_prints_entries_and_pennylanes_answer(socket_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await shell.dispatch(_args(socket_path, "show", "2"))
    out = capsys.readouterr().out
    assert "KC-1002" in out
    assert "Pennylane answered" in out
    assert "journal_id: is invalid" in out


async def test_discard_needs_and_sends_a_reason(socket_path: Path, daemon: DaemonDouble) -> None:
    with pytest.raises(SystemExit):
        _args(socket_path, "discard", "2")
    await shell.dispatch(_args(socket_path, "discard", "2", "--reason", "booked by hand"))
    assert daemon.called("discard")[0]["reason"] == "booked by hand"


async def test_retry_all_shows_the_count_then_asks(socket_path: Path, daemon: DaemonDouble) -> None:
    answers = Answers("y")
    assert await shell.dispatch(_args(socket_path, "retry-all", "--shop", "paris-01"), ask=answers) == 0
    assert answers.prompts == ["retry 3 failed deliveries? [y/N] "]
    assert [c["dry_run"] for c in daemon.called("bulk_retry")] == [True, False]


async def test_refusing_a_bulk_action_does_nothing(socket_path: Path, daemon: DaemonDouble) -> None:
    args = _args(socket_path, "discard-all", "--error-class", "auth", "--reason", "closed")
    assert await shell.dispatch(args, ask=Answers("n")) == 1
    assert [c["dry_run"] for c in daemon.called("bulk_discard")] == [True]
    assert len(daemon.failed_items) == 4


async def test_yes_skips_the_question(socket_path: Path, daemon: DaemonDouble) -> None:
    args = _args(socket_path, "discard-all", "--error-class", "auth", "--reason", "closed", "--yes")
    assert await shell.dispatch(args, ask=Answers()) == 0
    assert daemon.called("bulk_discard")[1] == {
        "filter": {"error_class": "auth"},
        "reason": "closed",
        "actor": daemon.called("bulk_discard")[1]["actor"],
        "dry_run": False,
    }


async def test_connect_with_a_pasted_redirect_url(
    socket_path: Path, daemon: DaemonDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:8765/oauth/callback?code=c0de&state=st-lyon-02"
    assert await shell.dispatch(_args(socket_path, "connect", "lyon-02"), ask=Answers(url)) == 0
    out = capsys.readouterr().out
    assert "https://app.pennylane.com/oauth/authorize" in out
    assert "✓ connected, Boulangerie Martin SAS" in out
    assert daemon.called("connect_complete")[0]["redirect_url"] == url


async def test_connect_through_the_callback_listener(
    socket_path: Path, daemon: DaemonDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    def browser_came_back(prompt: str) -> str:
        daemon.complete_via_callback("lyon-02")
        return ""

    assert await shell.dispatch(_args(socket_path, "connect", "lyon-02"), ask=browser_came_back) == 0
    assert "✓ connected" in capsys.readouterr().out
    assert daemon.called("connect_complete") == []


async def test_backfill_estimate_then_start(
    socket_path: Path, daemon: DaemonDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    await shell.dispatch(_args(socket_path, "backfill", "paris-01"))
    out = capsys.readouterr().out
    assert "4200 events" in out
    assert "no backfill yet" in out
    await shell.dispatch(
        _args(socket_path, "backfill", "paris-01", "--from", "2025-06-01", "--mode", "daily", "--start")
    )
    assert daemon.called("backfill_start")[0]["start_date"] == "2025-06-01"
    await shell.dispatch(_args(socket_path, "backfill", "paris-01", "--cancel"))
    assert "cancelled" in capsys.readouterr().out


async def test_pause_resume_token_disconnect_audit(
    socket_path: Path, daemon: DaemonDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    await shell.dispatch(_args(socket_path, "pause", "paris-01", "--reason", "month end"))
    await shell.dispatch(_args(socket_path, "resume", "paris-01"))
    await shell.dispatch(_args(socket_path, "token", "lyon-02", "/etc/outboxd/lyon.token"))
    assert await shell.dispatch(_args(socket_path, "disconnect", "lyon-02"), ask=Answers("no")) == 1
    await shell.dispatch(_args(socket_path, "disconnect", "lyon-02", "--yes"))
    capsys.readouterr()
    await shell.dispatch(_args(socket_path, "audit"))
    out = capsys.readouterr().out
    assert [line.split()[3] for line in out.splitlines()[1:]] == ["disconnect", "connect_token", "resume", "pause"]


def test_ctl_without_daemon_explains_and_fails(socket_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert ctl.run(_args(socket_dir / "none.sock", "status")) == 1
    assert "the daemon is not running (no socket at" in capsys.readouterr().err


def test_outboxd_ctl_is_wired_in_the_cli() -> None:
    from outboxd.cli import COMMANDS

    assert COMMANDS["ctl"][0] == ctl.__name__


async def test_a_shop_held_by_a_failed_reference_says_so_in_status_failed_and_show(
    socket_path: Path, daemon: DaemonDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon.shops["paris-01"]["held_by_reference"] = {"id": 1, "waiting": 1234, "message": "vat_rate 2.1: ..."}
    daemon.failed_items[1] |= {"event_type": "reference.updated", "aggregate_id": "reference", "holds_shop": True}
    await shell.dispatch(_args(socket_path, "status"))
    status = capsys.readouterr().out
    assert "✗ held" in status.splitlines()[3]  # the paris-01 row, after the header line, a blank and the titles
    assert "paris-01: ✗ held: reference snapshot #1 failed, 1234 events wait behind it (outboxd ctl show 1)" in status

    await shell.dispatch(_args(socket_path, "failed", "--shop", "paris-01"))
    rows = capsys.readouterr().out.splitlines()
    assert "✗ holds the shop: vat_rate 8.5" in rows[1]
    assert "holds the shop" not in rows[2]

    await shell.dispatch(_args(socket_path, "show", "2"))
    assert "⏸ 1 event waits behind it: 102" in capsys.readouterr().out


async def test_mapping_is_a_table_json_when_asked(socket_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await shell.dispatch(_args(socket_path, "mapping", "paris-01")) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["REGISTER", "JOURNAL", "IN", "PENNYLANE"]
    assert "ROLE" in out
    assert "{" not in out
    assert "… on first use" in out or "✓ yes" in out
    assert await shell.dispatch(_args(socket_path, "--json", "mapping", "paris-01")) == 0
    assert "accounts" in json.loads(capsys.readouterr().out)


async def test_pause_needs_a_reason_and_the_audit_shows_it(
    socket_path: Path, daemon: DaemonDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        _args(socket_path, "pause", "paris-01")
    await shell.dispatch(_args(socket_path, "pause", "paris-01", "--reason", "month end"))
    capsys.readouterr()
    await shell.dispatch(_args(socket_path, "audit"))
    head, row = capsys.readouterr().out.splitlines()[:2]
    assert head.split()[-1] == "REASON"
    assert row.endswith("month end")


async def test_show_has_no_none_and_pretty_prints_pennylanes_answer(
    socket_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await shell.dispatch(_args(socket_path, "failed", "--error-class", "booking"))
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.split()[:2] == ["1", "paris-01"]]
    assert row.split()[4:6] == ["not", "sent"]  # the HTTP column: Pennylane never saw it
    await shell.dispatch(_args(socket_path, "show", "1"))
    out = capsys.readouterr().out
    assert "None" not in out
    assert "not sent to Pennylane" in out
    assert "HTTP -" not in out
    await shell.dispatch(_args(socket_path, "show", "2"))
    out = capsys.readouterr().out
    assert '      "error": "journal_id: is invalid"' in out.splitlines()  # one key a line, indented under the attempt


async def test_control_characters_in_outbox_data_never_reach_the_terminal(
    socket_path: Path, daemon: DaemonDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "shop\x1b[2J\u202eevil\x07[/]"
    daemon.shops[hostile] = {**daemon.shops["paris-01"], "shop_id": hostile, "name": "x\x1b]0;pwned\x07"}
    for argv in (["status"], ["--json", "status"], ["failed"], ["show", "1"]):
        assert await shell.dispatch(_args(socket_path, *argv)) == 0
        out = capsys.readouterr().out
        assert not [c for c in out if (ord(c) < 32 and c not in "\n") or c in "\x7f\u202e"], argv
    assert await shell.dispatch(_args(socket_path, "status")) == 0
    assert "shop\\u001b[2J\\u202eevil\\u0007[/]" in capsys.readouterr().out


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
async def test_a_user_the_socket_refuses_is_told_so_not_that_the_daemon_is_down(socket_path: Path) -> None:
    """``outboxd ctl`` as ``nobody`` on the served socket (0600-like: root only): permission denied, said so."""
    os.chmod(socket_path.parent, 0o711)  # noqa: S103 (others may cross the directory; the socket refuses them)
    os.chmod(socket_path, 0o600)
    outboxd = Path(sys.executable).parent / "outboxd"
    process = await asyncio.create_subprocess_exec(
        "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(outboxd), "ctl", "--socket",
        str(socket_path), "status", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1, out
    assert "permission denied on the daemon's control socket" in err.decode()
    assert "not running" not in err.decode()


async def test_a_reader_that_stops_early_gets_no_traceback(socket_path: Path) -> None:
    """``outboxd ctl show 2 | head -1``: the pipe closes early; ctl exits without a traceback on stderr."""
    outboxd = Path(sys.executable).parent / "outboxd"
    read, write = os.pipe()
    process = await asyncio.create_subprocess_exec(
        str(outboxd), "ctl", "--socket", str(socket_path), "show", "2", stdout=write, stderr=asyncio.subprocess.PIPE
    )
    os.close(write)
    os.close(read)  # the reader is gone before anything is written
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert "Traceback" not in err.decode()
    assert process.returncode == 141

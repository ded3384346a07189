"""``outboxd demo --no-tui`` as a real process, the README's story to its end: connect through the simulator's OAuth
page, backfill the held history, events flow, the poison ticket fails and holds back its payment; "8.5" added to
``vat_rates`` in the printed configuration makes the demo restart the daemon, ``outboxd ctl retry`` books the ticket
and its payment and nothing else; Ctrl-C stops the daemon and removes every file."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from outboxd.control.client import ControlClient
from outboxd.demo.files import HISTORY_DAYS
from outboxd.demo.tickets import POISON_ORDER
from outboxd.exceptions import ControlError

pytestmark = pytest.mark.timeout(150)

MAIN = "import sys; from outboxd.cli import main; sys.exit(main())"
SHOP = "demo-shop"
PIECES = ("DOM-0001-r1", f"PAY-{POISON_ORDER}-p1")
BANNER_LINE = re.compile(r"  (state directory|control socket|configuration|metrics|Pennylane) +(\S+)")
CTL_LINE = re.compile(r"  outboxd ctl +(.+) status$")
"""The banner's ``outboxd ctl`` command, printed with its full path so that it runs as shown."""


async def until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


@pytest.fixture
async def demo() -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, str]]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", MAIN, "demo", "--no-tui", "--for", "120",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    banner: dict[str, str] = {}
    try:
        async with asyncio.timeout(45):
            while "ctl" not in banner:  # its last line
                line = (await process.stdout.readline()).decode()
                assert line, f"the demo stopped before it was ready: {banner}"
                if match := re.search(r"daemon \(pid (\d+)\)", line):
                    banner["pid"] = match.group(1)
                if match := BANNER_LINE.match(line):
                    banner[match.group(1)] = match.group(2)
                if match := CTL_LINE.match(line.rstrip("\n")):
                    banner["ctl"] = match.group(1)
                if match := re.search(r"\(simulated; company .* #(\d+)\)", line):
                    banner["company"] = match.group(1)
        yield process, banner
    finally:
        if process.returncode is None:  # a failed test: stop it the way that cleans up, kill only as a last resort
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


def _files_in_place(state_dir: Path) -> bool:
    """Secrets 0600, and a mapping without 8.5 % (the poison ticket's rate) until the operator adds it."""
    rates = (state_dir / "outboxd.toml").read_text().split("vat_rates", 1)[1].splitlines()[0]
    return (state_dir / "client.secret").stat().st_mode & 0o077 == 0 and '"5.5"' in rates and "8.5" not in rates


def _history_start() -> str:
    return (dt.date.today() - dt.timedelta(days=HISTORY_DAYS)).isoformat()


def _exists(path: Path) -> bool:
    return path.exists()


def _add_rate(config: Path, rate: str) -> None:
    """What the newcomer does in an editor: one more rate in ``vat_rates`` under [mapping], every other line kept."""
    text = config.read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("vat_rates = ["))
    config.write_text(text.replace(line, line.replace("]", f', "{rate}"]')))
    assert f'"{rate}"]' in config.read_text()


def _live(piece: str) -> bool:
    """A live ticket's piece (``L<run>-...``) or its payment's (``PAY-live-...``): they keep coming meanwhile."""
    return piece.startswith(("L", "PAY-live-"))


async def _sandbox(banner: dict[str, str], what: str) -> Any:
    """The simulator's inspection endpoint for the demo's company (what Pennylane holds)."""
    url = f"{banner['Pennylane']}/_sandbox/companies/{banner['company']}/{what}"
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        assert answer.status == 200
        return await answer.json()


async def _entries(banner: dict[str, str]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = await _sandbox(banner, "entries")
    return entries


async def _ctl(banner: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """``outboxd ctl --socket ...`` exactly as the banner prints it (its full path: PATH emptied), in a process."""
    command = shlex.split(banner["ctl"])
    assert command[1:] == ["ctl", "--socket", banner["control socket"]]
    process = await asyncio.create_subprocess_exec(
        *command, *argv, env={**os.environ, "PATH": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    return subprocess.CompletedProcess(argv, process.returncode or 0, out.decode(), None)


async def _authorize_in_browser(authorize_url: str) -> str:
    """What a person does on the simulator's page: click Authorize, follow the redirect to the callback."""
    async with aiohttp.ClientSession() as http:
        async with http.get(authorize_url) as page:
            text = await page.text()
        fields = {html.unescape(n): html.unescape(v)
                  for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', text)}  # fmt: skip
        base = authorize_url.split("/oauth/", 1)[0]
        async with http.post(base + "/oauth/authorize", data=fields) as landed:
            return f"{landed.status} {await landed.text()}"


async def test_demo_connects_flows_fails_the_poison_fixes_the_mapping_retries_and_cleans_up(
    demo: tuple[asyncio.subprocess.Process, dict[str, str]],
) -> None:
    process, banner = demo
    state_dir, pid = Path(banner["state directory"]), int(banner["pid"])
    assert _files_in_place(state_dir)
    async with ControlClient(banner["control socket"], actor="newcomer") as client:
        before = await client.shop(SHOP)
        assert before["connection"]["state"] == "disconnected"

        async def ingested() -> bool:
            return bool((await client.shop(SHOP))["queue_depth"] > 1000)

        await until(ingested, within=10)
        started = await client.connect_start(SHOP)
        landed = await _authorize_in_browser(started["authorize_url"])
        assert landed.startswith("200 ")
        assert "Boulangerie du Port SARL" in landed
        shop = await client.shop(SHOP)
        assert shop["connection"]["state"] == "connected"
        assert shop["connection"]["kind"] == "oauth"

        async def history_held() -> bool:  # at the dispatcher's next pass after the connection
            estimate = await client.backfill_estimate(SHOP, _history_start())
            return estimate["refused"] is None and estimate["events"] > 1000

        await until(history_held, within=10)
        backfill = await client.backfill_start(SHOP, _history_start(), "detailed")
        assert backfill["state"] == "running"

        async def delivered() -> bool:
            return bool((await client.shop(SHOP))["delivered_today"] > 0)

        async def poison_failed() -> bool:
            return bool((await client.failed({"shop": SHOP, "error_class": "booking"}))["total"] == 1)

        await until(delivered)
        await until(poison_failed)
        (item,) = (await client.failed({"shop": SHOP}))["items"]
        assert "vat_rate 8.5" in item["message"]

        poison = await client.delivery(item["id"])
        (payment_id,) = poison["blocked"]  # its own payment waits behind it, nothing else
        payment = await client.delivery(payment_id)
        assert (payment["event_type"], payment["state"]) == ("payment.recorded", "pending")
        assert payment["payload"]["order_id"] == POISON_ORDER
        booked_before = {e["id"]: e for e in await _entries(banner)}
        assert not any(e["piece_number"].startswith(PIECES) for e in booked_before.values())

    # the README's fix: "8.5" added to vat_rates in the printed configuration file, saved
    _add_rate(Path(banner["configuration"]), "8.5")
    assert process.stdout is not None
    said = ""
    async with asyncio.timeout(45):
        while "daemon restarted with the new configuration" not in said:
            line = (await process.stdout.readline()).decode()
            assert line, f"the demo stopped instead of restarting the daemon: {said}"
            said += line
    assert "configuration changed: restarting the daemon" in said
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the daemon of the banner is gone: a restart, not a reload
    async with ControlClient(banner["control socket"], actor="newcomer") as client:
        restarted = (await client.status())["daemon"]
        assert restarted["ready"]
        assert restarted["pid"] != pid
        pid = restarted["pid"]

        retried = await _ctl(banner, "retry", str(item["id"]))
        assert retried.returncode == 0, retried.stdout

        async def booked() -> bool:
            states = [(await client.delivery(i))["state"] for i in (item["id"], payment_id)]
            return states == ["delivered", "delivered"] and (await client.failed({"shop": SHOP}))["total"] == 0

        await until(booked)
        pieces = {e["piece_number"] for i in (item["id"], payment_id) for e in (await client.delivery(i))["entries"]}
        assert pieces == set(PIECES)
        actions = [(a["action"], a["target"]) for a in (await client.audit(SHOP))["items"]]
        assert actions[0] == ("delivery.retry", f"delivery:{item['id']}")  # the one act after the fix
        assert not [a for a in actions if a[0].startswith("delivery.") and a != actions[0]]

    # nothing else changed: what Pennylane held is untouched; the history and live tickets go on flowing (the
    # simulator's rate limit paces the backfill), each piece once; the two pieces are new, and nothing failed
    booked_after = await _entries(banner)
    assert {e["id"]: e for e in booked_after if e["id"] in booked_before} == booked_before
    new = [e["piece_number"] for e in booked_after if e["id"] not in booked_before]
    assert pieces <= set(new)
    numbers = [e["piece_number"] for e in booked_after]
    assert len(numbers) == len(set(numbers)), "a piece booked twice"
    assert (await _sandbox(banner, "trial_balance"))["balanced"]

    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert not _exists(state_dir)
    assert not _exists(Path(banner["control socket"]).parent)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ControlError):
        async with ControlClient(banner["control socket"]) as gone:
            await gone.status()

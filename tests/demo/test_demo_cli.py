"""``outboxd demo --no-tui`` as a real process: connect through the simulator's OAuth page, backfill the held
history, events flow, the poison ticket fails, and Ctrl-C stops the daemon and removes every file."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from outboxd.control.client import ControlClient
from outboxd.demo.files import HISTORY_DAYS
from outboxd.exceptions import ControlError

pytestmark = pytest.mark.timeout(90)

MAIN = "import sys; from outboxd.cli import main; sys.exit(main())"
SHOP = "demo-shop"


async def until(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


@pytest.fixture
async def demo() -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, str]]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", MAIN, "demo", "--no-tui", "--for", "75", "--ticket-every", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    banner: dict[str, str] = {}
    try:
        async with asyncio.timeout(45):
            while "metrics" not in banner:
                line = (await process.stdout.readline()).decode()
                assert line, f"the demo stopped before it was ready: {banner}"
                if match := re.search(r"daemon \(pid (\d+)\)", line):
                    banner["pid"] = match.group(1)
                if match := re.match(r"  (state directory|control socket|configuration|metrics) +(\S+)", line):
                    banner[match.group(1)] = match.group(2)
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


async def test_demo_connects_flows_fails_the_poison_and_cleans_up(
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
            return (await client.failed({"shop": SHOP, "error_class": "booking"}))["total"] == 1

        await until(delivered)
        await until(poison_failed)
        (item,) = (await client.failed({"shop": SHOP}))["items"]
        assert "vat_rate 8.5" in item["message"]

    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert not _exists(state_dir)
    assert not _exists(Path(banner["control socket"]).parent)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ControlError):
        async with ControlClient(banner["control socket"]) as gone:
            await gone.status()

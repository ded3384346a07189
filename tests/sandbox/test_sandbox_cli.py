"""``outboxd sandbox`` as a person starts it: prints its URLs and tokens, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys

import aiohttp

OUTBOXD = (sys.executable, "-c", "import sys; from outboxd.cli import main; sys.exit(main())")


async def test_cli_serves_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        *OUTBOXD, "sandbox", "--port", "0", "--companies", "2", "--no-rate-limit",
        "--fail-rate", "0", "--seed", "1", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    lines = []
    try:
        while not lines or not lines[-1].startswith("Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
            assert line, (lines, await process.stderr.read() if process.stderr else b"")
            lines.append(line.decode().rstrip())
        text = "\n".join(lines)
        api_url = re.search(r"api\s+(\S+)", text)
        tokens = re.findall(r"API token (\S+)", text)
        assert api_url is not None
        assert len(tokens) == 2
        assert "rate limit off" in text
        async with aiohttp.ClientSession() as session, session.get(
                api_url.group(1) + "/me", headers={"Authorization": f"Bearer {tokens[1]}"}) as response:
            assert response.status == 200
            assert (await response.json())["company"]["name"] == "Cave Durand"
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=10) == 0


async def test_cli_refuses_an_oauth_app_without_its_secret() -> None:
    process = await asyncio.create_subprocess_exec(
        *OUTBOXD, "sandbox", "--port", "0", "--client-id", "x",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 2
    assert b"--client-secret-file" in err

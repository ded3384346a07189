"""``outboxd sandbox`` as a person starts it: prints its URLs and tokens, serves, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from sandbox_helpers import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, code_of, exchange

OUTBOXD = (sys.executable, "-c", "import sys; from outboxd.cli import main; sys.exit(main())")


@asynccontextmanager
async def sandbox_cli(*args: str) -> AsyncIterator[str]:
    """``outboxd sandbox --port 0 ARGS`` until its banner's last line; yields the banner, then SIGTERM: exit 0."""
    process = await asyncio.create_subprocess_exec(
        *OUTBOXD, "sandbox", "--port", "0", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while not lines or not lines[-1].startswith("Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
            assert line, (lines, await process.stderr.read() if process.stderr else b"")
            lines.append(line.decode().rstrip())
        yield "\n".join(lines)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), timeout=10) == 0


def url_of(banner: str, name: str) -> str:
    found = re.search(rf"^  {name}\s+(\S+)", banner, re.MULTILINE)
    assert found is not None, banner
    return found.group(1)


async def test_cli_serves_and_stops_on_sigterm() -> None:
    async with sandbox_cli("--companies", "2", "--no-rate-limit", "--fail-rate", "0", "--seed", "1") as text:
        tokens = re.findall(r"API token (\S+)", text)
        assert len(tokens) == 2
        assert "rate limit off" in text
        async with aiohttp.ClientSession() as session, session.get(
                url_of(text, "api") + "/me", headers={"Authorization": f"Bearer {tokens[1]}"}) as response:
            assert response.status == 200
            assert (await response.json())["company"]["name"] == "Cave Durand"


async def authorized_pair(session: aiohttp.ClientSession, banner: str) -> dict[str, object]:
    """What a person's Authorize click on the consent page and the app's code exchange give: a token pair."""
    company = re.search(r"company (\d+) ", banner)
    assert company is not None
    form = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code", "state": "s",
            "company_id": company.group(1)}  # fmt: skip
    async with session.post(url_of(banner, "authorize"), data=form, allow_redirects=False) as answer:
        assert answer.status == 302, await answer.text()
        code = code_of(answer.headers["Location"])
    status, pair = await exchange(session, url_of(banner, "token"), grant_type="authorization_code", code=code,
                                  redirect_uri=REDIRECT_URI)  # fmt: skip
    assert status == 200, pair
    return pair


async def refresh(session: aiohttp.ClientSession, banner: str, pair: dict[str, object]) -> tuple[int, object]:
    return await exchange(session, url_of(banner, "token"), grant_type="refresh_token",
                          refresh_token=str(pair["refresh_token"]))  # fmt: skip


async def test_cli_revoke_grants_makes_every_refresh_invalid_grant(tmp_path: Path) -> None:
    secret = tmp_path / "client_secret"
    secret.write_text(CLIENT_SECRET)
    secret.chmod(0o600)
    app = ("--client-id", CLIENT_ID, "--client-secret-file", str(secret), "--redirect-uri", REDIRECT_URI)
    async with sandbox_cli(*app, "--revoke-grants") as banner, aiohttp.ClientSession() as session:
        pair = await authorized_pair(session, banner)
        assert await refresh(session, banner, pair) == (400, {"error": "invalid_grant"})
        base = re.search(r"^Pennylane sandbox on (\S+)", banner)
        assert base is not None
        async with session.post(base.group(1) + "/_sandbox/faults", json={"revoke_grants": False}) as answer:
            assert answer.status == 200
        pair = await authorized_pair(session, banner)  # the knob off, the same steps refresh
        assert (await refresh(session, banner, pair))[0] == 200


async def test_cli_refuses_an_oauth_app_without_its_secret() -> None:
    process = await asyncio.create_subprocess_exec(
        *OUTBOXD, "sandbox", "--port", "0", "--client-id", "x",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 2
    assert b"--client-secret-file" in err

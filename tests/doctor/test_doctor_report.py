"""The whole doctor on a real installation: a healthy one passes, each broken part is named with its fix."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from outboxd.cli import main
from outboxd.doctor import CheckResult, Status, exit_code, render_json, render_text, run_doctor
from tests.doctor.conftest import SHOP, Install, daemon_socket


def by_check(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check: r for r in results}


def problems(results: list[CheckResult]) -> dict[str, Status]:
    return {r.check: r.status for r in results if r.status in (Status.WARN, Status.FAIL)}


async def test_a_healthy_installation_passes_every_check(install: Install) -> None:
    async with daemon_socket(install.socket):
        results = await run_doctor(install.config)
    assert problems(results) == {}
    checks = by_check(results)
    assert set(checks) == {
        "config", "state_database", "migrations", "outbox", "secret.token_key", f"secret.shop.{SHOP}",
        "stored_tokens", "socket", "listeners", "disk", f"shop.{SHOP}", "clock",
    }  # fmt: skip
    assert "Boulangerie Martin" in checks[f"shop.{SHOP}"].summary
    assert "scopes ok" in checks[f"shop.{SHOP}"].summary
    assert exit_code(results) == 0


async def test_the_command_exits_0_with_a_readable_report_and_warnings_do_not_fail(
    install: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await asyncio.to_thread(main, ["doctor", "--config", str(install.config)])  # no daemon: a warning
    out = capsys.readouterr().out
    assert code == 0
    assert "✓ ok    configuration" in out
    assert "! warn  control socket" in out
    assert "fix: start it: systemctl start outboxd" in out
    assert "all good: 0 failed, 1 warning(s)" in out


async def test_a_world_readable_secret_fails_with_chmod_as_the_fix(
    install: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    install.token_file.chmod(0o644)
    code = await asyncio.to_thread(main, ["doctor", "--config", str(install.config), "--offline"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"✗ FAIL  API token of {SHOP}" in out
    assert f"fix: chmod 600 {install.token_file}" in out
    assert "something is wrong: 1 failed" in out


async def test_a_missing_token_key_fails_with_the_command_that_makes_one(install: Install) -> None:
    install.key.unlink()
    results = by_check(await run_doctor(install.config, offline=True))
    assert results["secret.token_key"].status is Status.FAIL
    assert "does not exist" in results["secret.token_key"].summary
    assert "Fernet.generate_key()" in results["secret.token_key"].fix
    assert results["stored_tokens"].status is Status.SKIP


async def test_a_wrong_token_is_reported_as_refused_by_pennylane(install: Install) -> None:
    install.write_token("not-a-token-pennylane-knows")
    result = by_check(await run_doctor(install.config))[f"shop.{SHOP}"]
    assert result.status is Status.FAIL
    assert "401" in result.summary
    assert str(install.token_file) in result.fix


async def test_missing_scopes_are_named(install: Install) -> None:
    install.write_token(install.sandbox.issue_api_token(install.company_id, ["journals:all", "ledger_entries:all"]))
    result = by_check(await run_doctor(install.config))[f"shop.{SHOP}"]
    assert result.status is Status.FAIL
    assert "missing scope(s) ledger_accounts:all fiscal_years:readonly customers:all" in result.summary
    assert "granting every scope" in result.fix


async def test_an_unreachable_pennylane_fails_the_shop_and_the_clock(install: Install) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    install.api_url = f"http://127.0.0.1:{port}/api/external/v2"
    install.write_config()
    results = by_check(await run_doctor(install.config))
    assert results[f"shop.{SHOP}"].status is Status.FAIL
    assert "cannot reach Pennylane" in results[f"shop.{SHOP}"].summary
    assert results["clock"].status is Status.FAIL
    assert "pennylane.api_url" in results["clock"].fix


async def test_offline_skips_everything_that_asks_pennylane(install: Install) -> None:
    install.api_url = "http://127.0.0.1:9/api/external/v2"  # would fail if it were contacted
    install.write_config()
    results = by_check(await run_doctor(install.config, offline=True))
    assert results[f"shop.{SHOP}"].status is Status.SKIP
    assert results["clock"].status is Status.SKIP
    assert exit_code(list(results.values())) == 0


async def test_an_invalid_configuration_stops_at_the_first_check_naming_the_key(install: Install) -> None:
    install.config.write_text(install.config.read_text().replace("metrics_listen = false", "metrics_listen = 12"))
    results = await run_doctor(install.config)
    assert [r.check for r in results] == ["config"]
    assert results[0].status is Status.FAIL
    assert "daemon.metrics_listen" in results[0].summary
    assert "fix key daemon.metrics_listen" in results[0].fix


async def test_json_output_has_a_stable_shape(install: Install, capsys: pytest.CaptureFixture[str]) -> None:
    install.token_file.chmod(0o640)
    code = await asyncio.to_thread(main, ["doctor", "--config", str(install.config), "--json", "--offline"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert set(document) == {"ok", "exit_code", "counts", "checks"}
    assert document["ok"] is False
    assert document["exit_code"] == 1
    assert set(document["counts"]) == {"ok", "warn", "fail", "skip"}
    assert document["counts"]["fail"] == 1
    failed = [c for c in document["checks"] if c["status"] == "fail"]
    assert failed == [
        {
            "check": f"secret.shop.{SHOP}",
            "title": f"API token of {SHOP}",
            "status": "fail",
            "summary": failed[0]["summary"],
            "fix": f"chmod 600 {install.token_file}",
        }
    ]
    assert "0640" in failed[0]["summary"]
    assert all(set(c) == {"check", "title", "status", "summary", "fix"} for c in document["checks"])


def test_the_text_report_says_the_status_in_words_and_marks() -> None:
    results = [
        CheckResult.ok("a", "alpha", "fine"),
        CheckResult.warn("b", "beta", "meh", "do b"),
        CheckResult.fail("c", "gamma", "broken", "do c"),
        CheckResult.skip("d", "delta", "not asked"),
    ]
    text = render_text(results)
    assert text.splitlines()[:6] == [
        "✓ ok    alpha  fine",
        "! warn  beta   meh",
        "               fix: do b",
        "✗ FAIL  gamma  broken",
        "               fix: do c",
        "- skip  delta  not asked",
    ]
    assert text.endswith("something is wrong: 1 failed, 1 warning(s), 1 ok, 1 skipped (exit 1)")
    assert json.loads(render_json(results))["counts"] == {"ok": 1, "warn": 1, "fail": 1, "skip": 1}


async def test_the_default_credentials_directory_beside_the_configuration_is_used(
    install: Install, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """As installed: secrets named by credential name, in /etc/outboxd/credentials/ beside the configuration."""
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    credentials = install.root / "credentials"
    credentials.mkdir(mode=0o700)
    install.key.rename(credentials / "token.key")
    text = install.config.read_text().replace(f'token_key_file = "{install.key}"', 'token_key_file = "token.key"')
    install.config.write_text(text)
    code = await asyncio.to_thread(main, ["doctor", "--config", str(install.config), "--json", "--offline"])
    checks = {c["check"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert code == 0
    assert checks["secret.token_key"]["summary"] == f"{credentials / 'token.key'}, mode 0600"

"""Every call of docs/control-api.md, from the client through the real server on a Unix socket to the backend."""

from __future__ import annotations

from control.backend_double import NOW, DaemonDouble
from peer import audited

from outboxd.control.client import ControlClient

ALICE = audited("alice")
"""The audit actor of the test client: this process's login, alice as declared."""


async def test_status_lists_every_shop_with_the_daemon(client: ControlClient) -> None:
    status = await client.status()
    assert status["daemon"]["ready"] is True
    assert [s["shop_id"] for s in status["shops"]] == ["paris-01", "lyon-02"]
    assert len(status["shops"][0]["throughput"]) == 30


async def test_shop_answers_its_status(client: ControlClient) -> None:
    shop = await client.shop("lyon-02")
    assert shop["connection"]["state"] == "reconnect_needed"
    assert shop["paused"] is True


async def test_pause_and_resume_carry_the_actor_and_reason(client: ControlClient, daemon: DaemonDouble) -> None:
    assert (await client.pause("paris-01", "accountant closing the month"))["paused"] is True
    assert (await client.resume("paris-01"))["paused"] is False
    assert daemon.called("pause") == [{"shop_id": "paris-01", "actor": ALICE, "reason": "accountant closing the month"}]
    assert daemon.called("resume") == [{"shop_id": "paris-01", "actor": ALICE}]


async def test_mapping_says_what_exists_in_pennylane(client: ControlClient) -> None:
    mapping = await client.mapping("paris-01")
    assert {j["code"]: j["exists"] for j in mapping["journals"]} == {"VT1": True, "VT2": False}
    assert any(a["role"] == "payment" and not a["exists"] for a in mapping["accounts"])


async def test_connect_start_then_complete_with_the_redirect_url(client: ControlClient, daemon: DaemonDouble) -> None:
    start = await client.connect_start("paris-01")
    assert start["authorize_url"].startswith("https://")
    url = f"{start['redirect_uri']}?code=abc&state={start['state']}"
    connection = await client.connect_complete("paris-01", url)
    assert connection["state"] == "connected"
    assert "token" not in str(connection).lower().replace("api_token", "")
    assert daemon.called("connect_complete") == [{"shop_id": "paris-01", "actor": ALICE, "redirect_url": url}]


async def test_connect_token_and_disconnect(client: ControlClient, daemon: DaemonDouble) -> None:
    assert (await client.connect_token("lyon-02", "/etc/outboxd/lyon.token"))["kind"] == "api_token"
    assert (await client.disconnect("lyon-02"))["state"] == "disconnected"
    assert daemon.called("connect_token")[0]["token_file"] == "/etc/outboxd/lyon.token"
    assert daemon.called("disconnect") == [{"shop_id": "lyon-02", "actor": ALICE}]


async def test_backfill_estimate_defaults_to_the_fiscal_year(client: ControlClient) -> None:
    default = await client.backfill_estimate("paris-01")
    assert default["start_date"] == default["default_start_date"] == "2025-01-01"
    later = await client.backfill_estimate("paris-01", "2025-06-01")
    assert later["start_date"] == "2025-06-01"
    assert set(later["modes"]) == {"detailed", "daily"}


async def test_backfill_lifecycle(client: ControlClient, daemon: DaemonDouble) -> None:
    assert await client.backfill_get("paris-01") is None
    started = await client.backfill_start("paris-01", "2025-01-01", "daily")
    assert started["state"] == "running"
    assert (await client.backfill_get("paris-01"))["mode"] == "daily"  # type: ignore[index]
    assert (await client.backfill_pause("paris-01"))["state"] == "paused"
    assert (await client.backfill_resume("paris-01"))["state"] == "running"
    assert (await client.backfill_cancel("paris-01"))["state"] == "cancelled"
    assert daemon.called("backfill_start") == [
        {"shop_id": "paris-01", "actor": ALICE, "start_date": "2025-01-01", "mode": "daily"}
    ]


async def test_failed_passes_the_filter_and_pages(client: ControlClient, daemon: DaemonDouble) -> None:
    page = await client.failed({"shop": "paris-01", "http_status": 422, "older_than": 60.0}, limit=10, offset=0)
    assert page["total"] == 1
    assert page["items"][0]["id"] == 2
    assert daemon.called("failed")[-1] == {
        "filter": {"shop": "paris-01", "http_status": 422, "older_than": 60.0},
        "limit": 10,
        "offset": 0,
    }
    second = await client.failed({}, limit=2, offset=2)
    assert second["total"] == 4
    assert len(second["items"]) == 2


async def test_delivery_detail_has_payload_entries_attempts(client: ControlClient) -> None:
    detail = await client.delivery(2)
    assert detail["id"] == 2
    assert detail["entries"][0]["lines"][0]["debit"] == "12.50"
    assert detail["attempts"][0]["http_status"] == 422
    assert detail["failed_at"] == NOW - 3600


async def test_retry_and_discard_one(client: ControlClient, daemon: DaemonDouble) -> None:
    assert await client.retry(1) == {"retried": 1}
    assert await client.discard(2, "duplicate ticket, booked by hand") == {"discarded": 1}
    assert daemon.called("retry") == [{"delivery_id": 1, "actor": ALICE}]
    assert daemon.called("discard") == [
        {"delivery_id": 2, "actor": ALICE, "reason": "duplicate ticket, booked by hand"}
    ]


async def test_bulk_retry_dry_run_then_for_real(client: ControlClient, daemon: DaemonDouble) -> None:
    assert await client.bulk_retry({"shop": "paris-01"}, dry_run=True) == {"matched": 3, "retried": 0}
    assert len(daemon.failed_items) == 4
    assert await client.bulk_retry({"shop": "paris-01"}, dry_run=False) == {"matched": 3, "retried": 3}
    assert [c["dry_run"] for c in daemon.called("bulk_retry")] == [True, False]
    assert daemon.called("bulk_retry")[1]["filter"] == {"shop": "paris-01"}


async def test_bulk_discard_carries_the_reason(client: ControlClient, daemon: DaemonDouble) -> None:
    result = await client.bulk_discard({"error_class": "auth"}, "shop closed", dry_run=False)
    assert result == {"matched": 1, "discarded": 1}
    assert daemon.called("bulk_discard") == [
        {"filter": {"error_class": "auth"}, "reason": "shop closed", "actor": ALICE, "dry_run": False}
    ]


async def test_audit_lists_operator_actions(client: ControlClient) -> None:
    await client.pause("paris-01", "x")
    await client.retry(3)
    items = (await client.audit())["items"]
    assert [i["action"] for i in items] == ["retry", "pause"]
    assert (await client.audit(shop="lyon-02"))["items"] == []

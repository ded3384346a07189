"""The Redactor as a processor, through capture_logs and through the real JSON output; the format choice."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from outboxd.log import Redactor, configure_logging, get_logger
from outboxd.secrets import Secret

CLIENT_SECRET = "cs-0123456789abcdef"


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def redact(redactor: Redactor, **event: Any) -> dict[str, Any]:
    return redactor(None, "info", event)


def test_secret_named_keys_are_masked_at_any_depth() -> None:
    event = redact(
        Redactor(),
        event="token.rotated",
        shop="S1",
        response={"access_token": "at-1", "expires_in": 86400, "nested": {"Refresh-Token": "rt-1"}},
        headers=[{"Authorization": "whatever"}, {"Accept": "application/json"}],
        client_secret=Secret("zz"),
        code_verifier="v" * 43,
        password="",
    )
    assert event["response"] == {"access_token": "***", "expires_in": 86400, "nested": {"Refresh-Token": "***"}}
    assert event["headers"] == [{"Authorization": "***"}, {"Accept": "application/json"}]
    assert event["client_secret"] == "***"
    assert event["code_verifier"] == "***"
    assert event["password"] == ""  # nothing to hide: an empty value says the secret is missing
    assert (event["event"], event["shop"]) == ("token.rotated", "S1")


def test_credentials_inside_text_are_masked() -> None:
    redactor = Redactor()
    assert redactor.scrub("Authorization: Bearer eyJhbGciOi.payload.sig") == "Authorization: Bearer ***"
    assert redactor.scrub("basic dXNlcjpwYXNz==") == "basic ***"
    assert redactor.scrub("GET /oauth/callback?code=abc123&state=xyz") == "GET /oauth/callback?code=***&state=xyz"
    assert redactor.scrub("grant_type=refresh_token&refresh_token=rt-9") == "grant_type=refresh_token&refresh_token=***"
    assert redactor.scrub('{"access_token": "at-9", "token_type": "Bearer"}') == (
        '{"access_token": "***", "token_type": "Bearer"}'
    )
    assert redactor.scrub("{'refresh_token': 'rt-9'}") == "{'refresh_token': '***'}"
    plain = "journal code VT, piece_number VT-2026-000482"
    assert redactor.scrub(plain) == plain


def test_registered_secrets_are_masked_everywhere_even_in_exceptions() -> None:
    redactor = Redactor([Secret(CLIENT_SECRET)])
    redactor.register_secret("short")  # ignored: would mask ordinary words
    redactor.register_secret("access-token-long-value")
    event = redact(
        redactor,
        event=f"oauth.failed with {CLIENT_SECRET}",
        error=ValueError("refused access-token-long-value, a short word"),
        items=("x", f"prefix{CLIENT_SECRET}suffix"),
        raw=CLIENT_SECRET.encode(),
    )
    assert event["event"] == "oauth.failed with ***"
    assert event["error"] == "ValueError: refused ***, a short word"
    assert event["items"] == ["x", "prefix***suffix"]
    assert event["raw"] == "***"


def test_capture_logs_with_the_redactor_sees_only_masked_values() -> None:
    redactor = Redactor([CLIENT_SECRET])
    with capture_logs(processors=[redactor]) as logs:
        structlog.get_logger().info("token.exchange", body=f"client_secret={CLIENT_SECRET}", token="t-1")
    assert logs == [{"event": "token.exchange", "body": "client_secret=***", "token": "***", "log_level": "info"}]


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_output_is_redacted_with_context_and_exceptions() -> None:
    stream = io.StringIO()
    redactor = configure_logging("info", "auto", stream=stream)
    redactor.register_secret(CLIENT_SECRET)
    log = get_logger("outboxd.delivery")
    with structlog.contextvars.bound_contextvars(shop="S1", event_id="e-42", piece_number="VT-000482"):
        log.info("delivery.posted", headers={"Authorization": "Bearer at-xyz"}, pennylane_id=7)
        try:
            raise RuntimeError(f"token endpoint said Bearer at-xyz and {CLIENT_SECRET}")
        except RuntimeError:
            log.exception("delivery.unknown_outcome")
    log.debug("delivery.claimed")  # below the level
    logging.getLogger("aiohttp.client").warning("retrying with Authorization: Bearer at-abc")
    logging.getLogger("aiohttp.access").info("GET /oauth/callback?code=c-1")  # quiet unless debug
    output = stream.getvalue()
    assert "at-xyz" not in output
    assert "at-abc" not in output
    assert CLIENT_SECRET not in output
    posted, failed, stdlib = json_lines(stream)
    assert posted["event"] == "delivery.posted"
    assert posted["level"] == "info"
    assert posted["logger"] == "outboxd.delivery"
    assert (posted["shop"], posted["event_id"], posted["piece_number"]) == ("S1", "e-42", "VT-000482")
    assert posted["headers"] == {"Authorization": "***"}
    assert posted["pennylane_id"] == 7
    assert "timestamp" in posted
    assert failed["level"] == "error"
    assert "RuntimeError: token endpoint said Bearer *** and ***" in failed["exception"]
    assert stdlib == {
        "event": "retrying with Authorization: Bearer ***",
        "logger": "aiohttp.client",
        "level": "warning",
        "timestamp": stdlib["timestamp"],
    }


def test_debug_level_lets_access_logs_through() -> None:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    logging.getLogger("aiohttp.access").info("GET /oauth/callback?code=c-1")
    get_logger("x").debug("delivery.claimed")
    assert [line["event"] for line in json_lines(stream)] == ["GET /oauth/callback?code=***", "delivery.claimed"]


@pytest.mark.parametrize(
    ("fmt", "stream_class", "is_json"),
    [("auto", io.StringIO, True), ("auto", FakeTty, False), ("json", FakeTty, True), ("console", io.StringIO, False)],
)
def test_format_choice(fmt: str, stream_class: type[io.StringIO], is_json: bool) -> None:
    stream = stream_class()
    configure_logging("info", fmt, stream=stream)
    get_logger("x").info("token.rotated", shop="S1", access_token="at-1")
    line = stream.getvalue().strip()
    assert "at-1" not in line
    if is_json:
        assert json.loads(line)["event"] == "token.rotated"
    else:
        assert "token.rotated" in line
        assert "shop" in line
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)


def test_configuring_twice_replaces_the_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", "json", stream=first)
    configure_logging("info", "json", stream=second)
    logging.getLogger("outboxd.test").warning("store.slow")
    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1

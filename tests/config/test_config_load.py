"""load_config: the happy path, every kind of error naming its key path, paths, shops and their mappings."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest

from outboxd.config import Config, DaemonConfig, PennylaneConfig, SecretsConfig, default_config, load_config
from outboxd.exceptions import ConfigError

EXAMPLE = Path(__file__).parents[2] / "config" / "outboxd.example.toml"
OAUTH_APP = '[pennylane]\nclient_id = "app"\nclient_secret_file = "/etc/outboxd/client_secret"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "outboxd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file_is_read_into_typed_frozen_values(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
            [daemon]
            outbox_database = "postgresql://kash@db/pos"
            state_database = "/var/lib/outboxd/state.sqlite3"
            control_socket_mode = 0o600
            metrics_listen = false
            lease_seconds = 30
            max_attempts = 5
            log_format = "json"
            [pennylane]
            client_id = "app"
            client_secret_file = "/etc/outboxd/client_secret"
            scopes = ["ledger_entries:all", "journals:all"]
            pkce = true
            [pennylane.rate_limit]
            requests = 10
            [shops.S1]
            name = "Boulangerie"
            [shops.S1.backfill]
            since = 2026-01-01
            [shops."shop:2"]
            api_token_file = "/etc/outboxd/shop2.token"
            enabled = false
            """,
        )
    )
    assert config.daemon.outbox_is_postgres
    assert config.daemon.outbox_database == "postgresql://kash@db/pos"
    assert config.daemon.state_database == Path("/var/lib/outboxd/state.sqlite3")
    assert config.daemon.control_socket_mode == 0o600
    assert config.daemon.metrics_listen is None
    assert config.daemon.lease_seconds == 30.0
    assert isinstance(config.daemon.lease_seconds, float)
    assert config.daemon.max_attempts == 5
    assert config.pennylane.scopes == ("ledger_entries:all", "journals:all")
    assert config.pennylane.pkce is True
    assert config.pennylane.rate_limit.requests == 10
    assert config.pennylane.rate_limit.per_seconds == 5.0
    assert config.shop("S1").label == "Boulangerie"
    assert config.shop("S1").backfill.since == datetime.date(2026, 1, 1)
    assert config.shop("shop:2").label == "shop:2"
    assert not config.shop("shop:2").enabled
    assert config.source == tmp_path / "outboxd.toml"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.daemon.lease_seconds = 1.0  # type: ignore[misc]


def test_empty_file_gives_the_dataclass_defaults_with_paths_beside_it(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.daemon == dataclasses.replace(
        DaemonConfig(),
        outbox_database=str(tmp_path / "outbox.sqlite3"),
        state_database=tmp_path / "state.sqlite3",
    )
    assert config.pennylane == PennylaneConfig()
    assert config.secrets.token_key_file == str(tmp_path / "token.key")
    assert config.shops == {}
    assert config.redirect_uri == "http://127.0.0.1:8765/oauth/callback"


@pytest.mark.parametrize(
    ("toml", "key", "fragment"),
    [
        ('[daemon]\nlease_seconds = "ten"', "daemon.lease_seconds", 'must be a positive number, got "ten"'),
        ("[daemon]\nlease_seconds = 0", "daemon.lease_seconds", "must be a positive number, got 0"),
        ("[daemon]\nlease_secs = 10", "daemon.lease_secs", 'unknown key; did you mean "lease_seconds"?'),
        ("[deamon]\nlease_seconds = 10", "deamon", 'did you mean "daemon"?'),
        ("[daemon]\nzzz = 1", "daemon.zzz", "known keys: backoff_base"),
        ('[daemon]\nmax_attempts = "3"', "daemon.max_attempts", 'must be a whole number, got "3"'),
        ("[daemon]\nmax_attempts = 2.5", "daemon.max_attempts", "must be a whole number"),
        ("[pennylane]\npkce = 1", "pennylane.pkce", "must be true or false"),
        ("[daemon]\ncallback_port = 70000", "daemon.callback_port", "between 1 and 65535"),
        ('[daemon]\nlog_format = "xml"', "daemon.log_format", "must be one of auto, json, console"),
        ('[daemon]\nmetrics_listen = "9464"', "daemon.metrics_listen", '"host:port"'),
        ('[daemon]\ncontrol_socket_mode = "rw"', "daemon.control_socket_mode", "must be a whole number"),
        ('[daemon]\nstate_database = ""', "daemon.state_database", "must not be empty"),
        ('[pennylane]\ntoken_url = "app.pennylane.com"', "pennylane.token_url", "http:// or https:// URL"),
        ("[pennylane]\nscopes = 3", "pennylane.scopes", "list of strings"),
        ("[pennylane]\nrate_limit = 25", "pennylane.rate_limit", "must be a table, got 25"),
        ("[daemon]\nbackoff_base = 60\nbackoff_cap = 10", "daemon.backoff_base", "must not exceed daemon.backoff_cap"),
        ('[shops."bad id"]', 'shops."bad id"', "a shop id is"),
        ('[shops.S1.backfill]\nsince = "2026-01-01"', "shops.S1.backfill.since", "no quotes"),
        ("[shops.S1]\nname = 'x'", "pennylane.client_id", "shop S1 connects with OAuth"),
        ("[shops.S1]\nenabeld = false", "shops.S1.enabeld", 'did you mean "enabled"?'),
        ("shops = 1", "shops", "must be a table"),
        ("mapping = 1", "mapping", "must be a table"),
    ],
)
def test_every_error_names_its_key_path(tmp_path: Path, toml: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, toml))
    assert caught.value.key == key
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("toml", "key", "file_key"),
    [
        ('[pennylane]\nclient_secret = "s3cr3t"', "pennylane.client_secret", "client_secret_file"),
        ('[secrets]\ntoken_key = "abc"', "secrets.token_key", "token_key_file"),
        (OAUTH_APP + '[shops.S1]\napi_token = "abc"', "shops.S1.api_token", "api_token_file"),
        ('[daemon]\npassword = "abc"', "daemon.password", "password_file"),
    ],
)
def test_inline_secret_is_refused_with_the_file_key_to_use(tmp_path: Path, toml: str, key: str, file_key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, toml))
    assert caught.value.key == key
    assert "never go in the configuration file in clear" in caught.value.reason
    assert file_key in caught.value.reason
    assert "s3cr3t" not in str(caught.value)


def test_unreadable_or_invalid_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(write(tmp_path, "[daemon\n"))


def test_relative_paths_resolve_against_the_config_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.chdir("/")
    etc = tmp_path / "etc"
    etc.mkdir()
    toml = (
        '[daemon]\noutbox_database = "../pos/outbox.db"\nstate_database = "state/s.db"\n'
        'control_socket = "/run/c.sock"\n'
        '[secrets]\ntoken_key_file = "keys/token.key"\n'
        '[shops.S1]\napi_token_file = "s1.token"\n'
    )
    config = load_config(write(etc, toml))
    assert config.daemon.outbox_database == str(etc / "../pos/outbox.db")
    assert config.daemon.state_database == etc / "state/s.db"
    assert config.daemon.control_socket == Path("/run/c.sock")
    assert config.secrets.token_key_file == str(etc / "keys/token.key")
    assert config.shop("S1").api_token_file == str(etc / "s1.token")


def test_bare_secret_names_stay_credential_names_under_systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    config = load_config(write(tmp_path, OAUTH_APP.replace("/etc/outboxd/client_secret", "client_secret")))
    assert config.pennylane.client_secret_file == "client_secret"
    assert config.secrets.token_key_file == "token.key"


def test_shop_mapping_is_global_deep_merged_with_the_shop_overrides(tmp_path: Path) -> None:
    toml = OAUTH_APP + (
        '[mapping]\ncounter_customer = "411000"\n[mapping.sales]\ngoods = "707"\nservice = "706"\n'
        '[shops.S1.mapping.sales]\nservice = "7061"\n'
        "[shops.S2]\n"
    )
    config = load_config(write(tmp_path, toml))
    data = config.shop_mapping_data("S1")
    assert data == {"counter_customer": "411000", "sales": {"goods": "707", "service": "7061"}}
    data["sales"]["goods"] = "changed"
    assert config.shop_mapping_data("S1")["sales"]["goods"] == "707"
    assert config.mapping["sales"]["goods"] == "707"
    assert config.shop_mapping("S1").sales_service == "7061"
    assert config.shop_mapping("S1").sales_goods == "707"
    assert config.shop_mapping("S2").sales_service == "706"
    with pytest.raises(ConfigError) as caught:
        config.shop("S9")
    assert caught.value.key == "shops.S9"


@pytest.mark.parametrize(
    ("toml", "key_start"),
    [
        ('[mapping.sales]\ngoods = "abc"', "mapping.sales.goods"),
        ('[mapping]\ncounter_custmer = "411"', "mapping.counter_custmer"),
        (OAUTH_APP + '[shops."s-1".mapping.sales]\ngoods = "abc"', "shops.s-1.mapping.sales.goods"),
    ],
)
def test_invalid_mapping_fails_at_load_with_its_key_path(tmp_path: Path, toml: str, key_start: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, toml))
    assert caught.value.key.startswith(key_start)


def test_default_config_puts_every_path_under_the_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = load_config(None, state_dir=tmp_path)
    assert config == default_config(tmp_path)
    assert config.daemon.outbox_database == str(tmp_path / "outbox.sqlite3")
    assert config.daemon.state_database == tmp_path / "state.sqlite3"
    assert config.daemon.control_socket == tmp_path / "control.sock"
    assert config.secrets.token_key_file == str(tmp_path / "token.key")
    assert config.source is None
    with pytest.raises(ConfigError, match="no configuration file"):
        load_config(None)


def test_redirect_uri_is_explicit_or_the_callback_listener() -> None:
    config = Config()
    assert config.redirect_uri == "http://127.0.0.1:8765/oauth/callback"
    explicit = dataclasses.replace(
        config, pennylane=dataclasses.replace(config.pennylane, redirect_uri="https://bridge.example/cb")
    )
    assert explicit.redirect_uri == "https://bridge.example/cb"


def test_example_file_loads_and_equals_the_defaults_except_its_documented_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = load_config(EXAMPLE)
    here = EXAMPLE.parent
    assert config.daemon == dataclasses.replace(
        DaemonConfig(),
        outbox_database="/var/lib/kashclick/outbox.sqlite3",
        state_database=Path("/var/lib/outboxd/state.sqlite3"),
    )
    assert config.pennylane == dataclasses.replace(
        PennylaneConfig(), client_id="kashclick-outboxd", client_secret_file=str(here / "client_secret")
    )
    assert config.secrets == SecretsConfig(
        token_key_file=str(here / "token.key"), token_files_directory=Path("/var/lib/outboxd/tokens")
    )
    assert config.mapping == {}
    shop = config.shop("boulangerie-42")
    assert shop.label == "Boulangerie du Marché"
    assert (shop.enabled, shop.api_token_file, shop.backfill.since) == (True, None, None)
    assert config.shop_mapping("boulangerie-42").counter_customer == "411100"

"""Reading the TOML file into the frozen ``Config``: types, checks, paths, secrets, shops and mappings.

The loader walks the dataclasses of ``_model`` rather than a second schema, so a key is known, typed and
defaulted in exactly one place. Every error is a ConfigError naming the dotted key path; unknown keys are errors
with the closest known key suggested, because a typo that passes silently is a setting that silently is not set.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from outboxd.config._chart import check_chart
from outboxd.config._model import Config, ShopConfig
from outboxd.contract.limits import SHOP_ID, SHOP_ID_RULE
from outboxd.exceptions import ConfigError
from outboxd.rules.mapping import ShopMapping

__all__ = ["config_from_dict", "default_config", "load_config"]

_SECRET_NAME = re.compile(r"(^|_)(secret|token|password|passwd|key|api_key)$")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PATH_KINDS = ("path", "database", "secret_file")


def default_config(state_dir: Path | str) -> Config:
    """The demo configuration: no file, every path (databases, socket, token key) under ``state_dir``."""
    return config_from_dict({"daemon": {"control_socket": "control.sock"}}, base_dir=Path(state_dir))


def load_config(path: Path | str | None, *, state_dir: Path | str | None = None) -> Config:
    """Load and check ``path``; with no file, the demo configuration under ``state_dir`` (``default_config``)."""
    if path is None:
        if state_dir is None:
            raise ConfigError("", "no configuration file given and no state directory for the demo configuration")
        return default_config(state_dir)
    path = Path(path).absolute()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError("", f"cannot read configuration file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{path} is not valid TOML: {exc}") from exc
    return config_from_dict(data, base_dir=path.parent, source=path)


def config_from_dict(data: Mapping[str, Any], *, base_dir: Path, source: Path | None = None) -> Config:
    """Build the ``Config`` from a TOML-decoded table; relative paths are resolved against ``base_dir``."""
    reader = _Reader(base_dir.absolute())
    config: Config = reader.dataclass(Config, data, "")
    config = dataclasses.replace(config, source=source)
    _check(config)
    return config


def _check(config: Config) -> None:
    """Rules that involve more than one key, and the mappings (validated by the rules engine's own reader)."""
    daemon = config.daemon
    if daemon.backoff_base > daemon.backoff_cap:
        raise ConfigError("daemon.backoff_base", f"must not exceed daemon.backoff_cap ({daemon.backoff_cap})")
    oauth_shops = [s.shop_id for s in config.shops.values() if s.enabled and s.api_token_file is None]
    if oauth_shops and not (config.pennylane.client_id and config.pennylane.client_secret_file):
        missing = "pennylane.client_id" if not config.pennylane.client_id else "pennylane.client_secret_file"
        raise ConfigError(
            missing, f"required because shop {oauth_shops[0]} connects with OAuth (or give it api_token_file)"
        )
    global_mapping = ShopMapping().merge(config.mapping, key_prefix="mapping")
    check_chart(global_mapping, "mapping")
    for shop in config.shops.values():
        prefix = f"{_key('shops', shop.shop_id)}.mapping"
        check_chart(global_mapping.merge(shop.mapping, key_prefix=prefix), prefix)


def _key(prefix: str, name: str) -> str:
    name = name if _BARE_KEY.fullmatch(name) else json.dumps(name)
    return f"{prefix}.{name}" if prefix else name


def _shown(value: Any) -> str:
    return json.dumps(value, default=str) if isinstance(value, str | int | float | bool) else repr(value)


class _Reader:
    """Converts TOML values to the dataclass fields' types, with the key path at hand for every error."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def dataclass(self, cls: type[Any], data: Any, where: str) -> Any:
        if not isinstance(data, Mapping):
            raise ConfigError(where, f"must be a table, got {_shown(data)}")
        fields = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("kind") not in ("internal", "table_key")}
        hints = typing.get_type_hints(cls)
        for name, value in data.items():
            if name not in fields:
                self._unknown(name, value, where, sorted(fields))
        values = {
            name: self.value(hints[name], f, data[name], _key(where, name))
            for name, f in fields.items()
            if name in data
        }
        for name, f in fields.items():  # relative default paths follow the same rule as written ones
            if name in data:
                continue
            if isinstance(hints[name], type) and dataclasses.is_dataclass(hints[name]):
                values[name] = self.dataclass(hints[name], {}, _key(where, name))
            elif f.metadata.get("kind") in _PATH_KINDS and f.default is not None:
                values[name] = self.convert(str, f.metadata["kind"], str(f.default), _key(where, name))
        return cls(**values)

    def _unknown(self, name: str, value: Any, where: str, known: list[str]) -> typing.NoReturn:
        key = _key(where, name)
        if _SECRET_NAME.search(name) and not isinstance(value, Mapping):
            raise ConfigError(
                key,
                f"secrets never go in the configuration file in clear: put the value in a file readable only by "
                f"outboxd (chmod 600) or a systemd credential, and set {name}_file to its path or credential name",
            )
        close = difflib.get_close_matches(name, known, n=1)
        hint = f'; did you mean "{close[0]}"?' if close else f" (known keys: {', '.join(known)})"
        raise ConfigError(key, f"unknown key{hint}")

    def value(self, hint: Any, field: dataclasses.Field[Any], raw: Any, key: str) -> Any:
        kind = field.metadata.get("kind", "")
        if kind == "shops":
            return self.shops(raw, key)
        if kind == "table":
            if not isinstance(raw, Mapping):
                raise ConfigError(key, f"must be a table, got {_shown(raw)}")
            return MappingProxyType(dict(raw))
        optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)
        if optional:
            if raw is False or raw == "":
                return None
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        value = self.convert(hint, kind, raw, key)
        check = field.metadata.get("check")
        reason = check(value) if check else None
        if reason:
            raise ConfigError(key, f"{reason}, got {_shown(raw)}")
        return value

    def convert(self, hint: Any, kind: str, raw: Any, key: str) -> Any:
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return self.dataclass(hint, raw, key)
        if kind == "octal" and isinstance(raw, str) and re.fullmatch(r"0?o?[0-7]{3,4}", raw):
            return int(raw.removeprefix("0").removeprefix("o"), 8)
        if hint is bool:
            return self._typed(raw, bool, "must be true or false", key)
        if hint is int:
            return self._typed(raw, int, "must be a whole number", key)
        if hint is float:
            return float(self._typed(raw, (int, float), "must be a positive number", key))
        if hint is datetime.date:
            if isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime):
                return raw
            raise ConfigError(key, f"must be a date written 2026-01-01 (no quotes), got {_shown(raw)}")
        if typing.get_origin(hint) is tuple:
            words = raw.split() if isinstance(raw, str) else raw
            if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
                raise ConfigError(key, f"must be a list of strings or one space-separated string, got {_shown(raw)}")
            return tuple(words)
        text = self._typed(raw, str, "must be a string", key)
        if hint is Path or kind == "path":
            return self.base_dir / Path(text).expanduser() if text else self._empty(key)
        if kind == "database" and not text.startswith(("postgresql://", "postgres://")):
            return str(self.base_dir / Path(text).expanduser()) if text else self._empty(key)
        if kind == "secret_file":
            return self.secret_ref(text)
        return text

    def secret_ref(self, text: str) -> str:
        """A bare name is a systemd credential when $CREDENTIALS_DIRECTORY is set, else a file beside the config."""
        if "/" not in text and os.environ.get("CREDENTIALS_DIRECTORY"):
            return text
        return str(self.base_dir / Path(text).expanduser())

    def shops(self, raw: Any, key: str) -> Mapping[str, ShopConfig]:
        if not isinstance(raw, Mapping):
            raise ConfigError(key, f'must be a table of [shops."<shop_id>"] sections, got {_shown(raw)}')
        shops = {}
        for shop_id, section in raw.items():
            where = _key(key, shop_id)
            if not SHOP_ID.fullmatch(shop_id):
                raise ConfigError(where, SHOP_ID_RULE)
            shop = self.dataclass(ShopConfig, section, where)
            shops[shop_id] = dataclasses.replace(shop, shop_id=shop_id)
        return MappingProxyType(shops)

    @staticmethod
    def _typed(raw: Any, kinds: type | tuple[type, ...], reason: str, key: str) -> Any:
        if isinstance(raw, kinds) and (kinds is bool or not isinstance(raw, bool)):
            return raw
        raise ConfigError(key, f"{reason}, got {_shown(raw)}")

    @staticmethod
    def _empty(key: str) -> typing.NoReturn:
        raise ConfigError(key, "must not be empty")

"""Checks of the files outboxd is given: the configuration and the secret files it names.

Secrets are read as the service reads them: a bare name is a systemd credential under ``$CREDENTIALS_DIRECTORY``
(``outboxd doctor --credentials DIR`` points it at the files ``LoadCredential=`` copies), anything else a path.
Either way the file itself must be 0600 or 0400, because a secret others can read cannot be taken back.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from outboxd.config import Config, load_config
from outboxd.doctor.result import CheckResult
from outboxd.exceptions import ConfigError, SecretFileError
from outboxd.secrets import read_secret

__all__ = ["SecretRef", "check_config", "check_secret", "secret_path", "secret_refs"]

_NEW_KEY = "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > {path}"


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A secret the configuration names: which check, what to call it, where it is, how to create it."""

    check: str
    title: str
    path: Path
    required: bool
    create: str  # the shell command that writes a new one (run under umask 077)


def check_config(path: Path | str) -> tuple[CheckResult, Config | None]:
    """Load the configuration as ``outboxd run`` does; the ConfigError's message names the key path."""
    title = "configuration"
    try:
        config = load_config(path)
    except ConfigError as exc:
        where = f"key {exc.key}" if exc.key else "the file"
        return CheckResult.fail("config", title, str(exc), f"edit {path}: fix {where} and run doctor again"), None
    enabled = sum(1 for shop in config.shops.values() if shop.enabled)
    return CheckResult.ok("config", title, f"{config.source}: valid, {enabled} enabled shop(s)"), config


def secret_path(ref: str) -> Path:
    """Where the service finds the secret ``ref``: a credential name under $CREDENTIALS_DIRECTORY, else a path."""
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    return Path(credentials) / ref if credentials and "/" not in ref else Path(ref)


def secret_refs(config: Config) -> list[SecretRef]:
    """Every secret file the configuration names: client secret, token key, each enabled shop's API token."""
    refs = []
    pennylane = config.pennylane
    if pennylane.client_secret_file:
        oauth = any(s.enabled and not s.api_token_file for s in config.shops.values())
        create = "printf '%s' 'THE-CLIENT-SECRET' > {path}"
        refs.append(
            SecretRef("secret.client_secret", "client secret", secret_path(pennylane.client_secret_file), oauth, create)
        )
    key = SecretRef("secret.token_key", "token key", secret_path(config.secrets.token_key_file), True, _NEW_KEY)
    refs.append(key)
    for shop in config.shops.values():
        if shop.enabled and shop.api_token_file:
            create = "printf '%s' 'THE-COMPANY-API-TOKEN' > {path}"
            title = f"API token of {shop.shop_id}"
            refs.append(SecretRef(f"secret.shop.{shop.shop_id}", title, secret_path(shop.api_token_file), True, create))
    return refs


def check_secret(ref: SecretRef) -> CheckResult:
    """The file exists, is a regular file of ours with mode 0600 or 0400, and is not empty."""
    path = ref.path
    try:
        info = path.lstat()
    except FileNotFoundError:
        summary = f"{path} does not exist"
        fix = f"umask 077; {ref.create.format(path=path)}"
        if ref.required:
            return CheckResult.fail(ref.check, ref.title, summary, fix)
        return CheckResult.warn(ref.check, ref.title, f"{summary} (no shop connects with OAuth yet)", fix)
    except OSError as exc:
        return CheckResult.fail(ref.check, ref.title, f"{path}: {exc.strerror}", "run doctor as root or as outboxd")
    mode = stat.S_IMODE(info.st_mode)
    try:
        read_secret(path.absolute())  # a path with "/": owner and mode are checked
    except SecretFileError as exc:
        if stat.S_ISREG(info.st_mode) and mode & 0o077:
            fix = f"chmod 600 {path}"
        elif stat.S_ISLNK(info.st_mode):
            fix = f"point the configuration at the file itself, not the link {path}"
        elif stat.S_ISREG(info.st_mode) and os.geteuid() not in (0, info.st_uid):
            fix = f"chown outboxd {path}, or run doctor as the user outboxd runs as"
        else:
            fix = f"umask 077; {ref.create.format(path=path)}"
        return CheckResult.fail(ref.check, ref.title, str(exc), fix)
    return CheckResult.ok(ref.check, ref.title, f"{path}, mode {mode:04o}")

"""Secrets: the type that never prints itself, reading them from files or systemd credentials (checked at start),
and the cipher that keeps tokens encrypted at rest.

Client secrets and tokens travel inside config objects and token sets that end up in logs, tracebacks and the TUI;
wrapping them in :class:`Secret` makes leaking one an explicit act (``reveal()``) rather than an accident.

A secret file must be readable by outboxd alone (0600 or 0400, owned by the running user): a file that others can
read is refused with the command that fixes it, because a leaked client secret or token key cannot be taken back.
Under systemd, ``LoadCredential=client_secret:/etc/outboxd/client_secret`` puts the file in
``$CREDENTIALS_DIRECTORY`` with permissions systemd manages; the configuration then names the credential.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from outboxd.exceptions import ConfigError, SecretFileError

__all__ = ["MASK", "Secret", "TokenCipher", "ensure_key_file", "generate_key", "read_secret", "redact"]

MASK = "***"
_SHORTEST_REDACTED = 8  # shorter values are test placeholders; masking them would garble every body
_CREDENTIALS = "CREDENTIALS_DIRECTORY"


class Secret:
    """An opaque secret value; compare and hash like the value, print as ``***`` (repr, str and format)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The clear value, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str, secrets: Iterable[str | Secret]) -> str:
    """``text`` with every occurrence of every secret (of 8 characters or more) replaced by ``***``."""
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) >= _SHORTEST_REDACTED:
            text = text.replace(value, MASK)
    return text


def read_secret(path_or_name: str | os.PathLike[str]) -> Secret:
    """The secret in a file (checked: owner and mode) or, for a bare name, in the systemd credential of that name.

    Surrounding whitespace (the file's final newline) is stripped. Raises SecretFileError naming the file.
    """
    text = os.fspath(path_or_name)
    credentials = os.environ.get(_CREDENTIALS)
    if credentials and "/" not in text:
        return _read(Path(credentials) / text, check=False)
    return _read(Path(text), check=True)


def _read(path: Path, *, check: bool) -> Secret:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise _open_error(path, exc) from exc
    with os.fdopen(fd, "rb") as handle:
        if check:
            _check_owner_and_mode(path, os.fstat(handle.fileno()))
        value = handle.read().decode("utf-8", errors="strict").strip()
    if not value:
        raise SecretFileError(str(path), "the secret file is empty")
    return Secret(value)


def _open_error(path: Path, exc: OSError) -> SecretFileError:
    if exc.errno == errno.ENOENT:
        return SecretFileError(str(path), "secret file not found (create it with mode 0600, or fix the path)")
    if exc.errno == errno.ELOOP:
        return SecretFileError(str(path), "secret file is a symbolic link; point the configuration at the file")
    return SecretFileError(str(path), f"cannot read secret file: {exc.strerror or exc}")


def _check_owner_and_mode(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise SecretFileError(str(path), "not a regular file")
    euid = os.geteuid()
    if euid != 0 and info.st_uid != euid:
        raise SecretFileError(
            str(path), f"owned by uid {info.st_uid}, not by the user outboxd runs as (uid {euid}): chown it"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SecretFileError(
            str(path),
            f"mode {mode:04o} lets group or others read a secret; it must be 0600 or 0400: run chmod 600 {path}",
        )


def generate_key() -> Secret:
    """A fresh Fernet key (32 random bytes, url-safe base64) for ``secrets.token_key_file``."""
    return Secret(Fernet.generate_key().decode("ascii"))


def ensure_key_file(path: Path | str) -> bool:
    """Create the token key file with mode 0600 if it does not exist; True when it was created.

    For the demo and first setup, called on purpose; production start-up only reads the key (``read_secret``),
    so a missing key there is an error rather than a new key that cannot decrypt the stored tokens.
    """
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _open_error(path, exc) from exc
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(generate_key().reveal() + "\n")
    return True


class TokenCipher:
    """Encrypts Pennylane tokens before they reach the state database (Fernet: AES-128-CBC + HMAC-SHA256)."""

    __slots__ = ("_fernet",)

    def __init__(self, key: Secret) -> None:
        try:
            self._fernet = Fernet(key.reveal().encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ConfigError(
                "secrets.token_key_file", "not a Fernet key (44 url-safe base64 characters); generate a new one"
            ) from exc

    def encrypt(self, plaintext: str | Secret) -> str:
        """The ciphertext as ASCII text, ready for a TEXT column."""
        value = plaintext.reveal() if isinstance(plaintext, Secret) else plaintext
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str | bytes) -> Secret:
        """The clear value of a ciphertext made by ``encrypt`` with the same key.

        A different key or altered data raises ConfigError on ``secrets.token_key_file``: the stored tokens cannot
        be read, and the operator must restore the key or reconnect the shops.
        """
        try:
            return Secret(self._fernet.decrypt(token).decode("utf-8"))
        except InvalidToken as exc:
            raise ConfigError(
                "secrets.token_key_file",
                "cannot decrypt a stored token: the key is not the one that encrypted it (restore the key file, "
                "or reconnect the shops)",
            ) from exc

"""read_secret's permission checks and systemd credentials; TokenCipher and the token key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import outboxd.pennylane
from outboxd.exceptions import ConfigError, SecretFileError
from outboxd.secrets import MASK, Secret, TokenCipher, ensure_key_file, generate_key, read_secret, redact


@pytest.fixture(autouse=True)
def _no_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def secret_file(directory: Path, mode: int, text: str = "client-secret-value\n", name: str = "secret") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_file_is_read_without_its_newline(tmp_path: Path, mode: int) -> None:
    secret = read_secret(secret_file(tmp_path, mode))
    assert secret.reveal() == "client-secret-value"
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "***"
    assert f"{secret}" == "***"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_file_readable_by_others_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path, mode)
    with pytest.raises(SecretFileError) as caught:
        read_secret(path)
    assert caught.value.key == str(path)
    assert f"mode {mode:04o}" in caught.value.reason
    assert f"chmod 600 {path}" in caught.value.reason
    assert "client-secret-value" not in str(caught.value)


def test_missing_empty_and_symlinked_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="not found") as caught:
        read_secret(tmp_path / "nope")
    assert caught.value.key == str(tmp_path / "nope")
    with pytest.raises(SecretFileError, match="empty"):
        read_secret(secret_file(tmp_path, 0o600, "\n"))
    link = tmp_path / "link"
    link.symlink_to(secret_file(tmp_path, 0o600, name="target"))
    with pytest.raises(SecretFileError, match="symbolic link"):
        read_secret(link)


def test_bare_name_reads_the_systemd_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    secret_file(credentials, 0o440, "from-systemd", name="client_secret")  # systemd owns these permissions
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    assert read_secret("client_secret").reveal() == "from-systemd"
    with pytest.raises(SecretFileError, match="not found"):
        read_secret("token.key")
    absolute = secret_file(tmp_path, 0o644, name="outside")
    with pytest.raises(SecretFileError, match="chmod 600"):
        read_secret(str(absolute))  # a path is still a file, checked as one


def test_token_cipher_round_trip_and_wrong_key(tmp_path: Path) -> None:
    cipher = TokenCipher(generate_key())
    ciphertext = cipher.encrypt("access-token-123")
    assert "access-token-123" not in ciphertext
    assert cipher.decrypt(ciphertext) == Secret("access-token-123")
    assert cipher.decrypt(ciphertext.encode("ascii")).reveal() == "access-token-123"
    assert cipher.encrypt(Secret("x")) != cipher.encrypt(Secret("x"))  # a fresh IV each time
    with pytest.raises(ConfigError) as caught:
        TokenCipher(generate_key()).decrypt(ciphertext)
    assert caught.value.key == "secrets.token_key_file"
    assert "not the one that encrypted it" in caught.value.reason
    with pytest.raises(ConfigError, match="not a Fernet key"):
        TokenCipher(Secret("too-short"))


def test_ensure_key_file_creates_a_private_key_once(tmp_path: Path) -> None:
    path = tmp_path / "state" / "token.key"
    assert ensure_key_file(path) is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    first = read_secret(path)
    assert ensure_key_file(path) is False
    assert read_secret(path) == first
    TokenCipher(first)  # a valid Fernet key


def test_the_secret_type_and_its_redaction_live_in_outboxd_secrets() -> None:
    """One module owns secrets: the type, its mask and redaction are defined there, not re-exported from a client."""
    assert (Secret.__module__, redact.__module__) == ("outboxd.secrets", "outboxd.secrets")
    assert "Secret" not in outboxd.pennylane.__all__
    secret = Secret("tok_0123456789")
    assert f"{secret} {secret!r}" == f"{MASK} Secret('{MASK}')"
    assert redact("Bearer tok_0123456789", [secret]) == f"Bearer {MASK}"

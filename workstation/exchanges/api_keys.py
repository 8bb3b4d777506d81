"""Exchange API keys, kept in the operating system's keyring and nowhere else.

A key is stored under the keyring service (``"workstation"`` unless told otherwise) as two entries,
``<exchange_id>:apiKey`` and ``<exchange_id>:secret``. The workstation never writes a key to a file, a log, a report
or a settings file, and no error message it raises contains one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from workstation.errors import WorkstationError

__all__ = [
    "KEYRING_SERVICE",
    "ApiCredentials",
    "KeyringUnavailableError",
    "api_key_hint",
    "delete_api_key",
    "has_api_key",
    "load_api_key",
    "redact_secrets",
    "remember_secrets",
    "set_api_key",
]

#: The keyring service the workstation's entries live under.
KEYRING_SERVICE = "workstation"

#: What replaces a key or secret wherever text might carry one.
REDACTED = "***"

#: What a key shown back looks like: its last characters only, after this mask.
HINT_MASK = "••••"
#: How many of a key's last characters a hint shows.
HINT_CHARACTERS = 4

#: What to do when the machine has no keyring, in one line (Linux without a desktop session, a container, CI).
KEYRING_ADVICE = (
    "install and unlock a Secret Service keyring (GNOME Keyring or KWallet, in a desktop or D-Bus session), "
    "or pip install keyrings.alt for a file-based one, or choose a backend with PYTHON_KEYRING_BACKEND"
)

#: Every key and secret loaded in this process, so log records and error messages can be scrubbed of them.
_loaded_secrets: set[str] = set()


class KeyringUnavailableError(WorkstationError, RuntimeError):
    """The machine has no usable OS keyring to keep API keys in; the message says what to install or configure."""


@contextmanager
def _keyring_for(exchange_id: str, action: str) -> Iterator[Any]:
    """Yield the ``keyring`` module; turn its "no keyring here" errors into one line saying what to do."""
    import keyring  # noqa: PLC0415 (its backends load a tenth of a second of modules; paid when used)
    import keyring.errors  # noqa: PLC0415

    try:
        yield keyring
    except (keyring.errors.NoKeyringError, keyring.errors.InitError) as error:
        # from None: the keyring's own traceback says "no recommended backend", not what to do about it.
        raise KeyringUnavailableError(
            f"cannot {action} the API key of {exchange_id}: no usable OS keyring ({type(error).__name__}); "
            f"{KEYRING_ADVICE}"
        ) from None


@dataclass(frozen=True)
class ApiCredentials:
    """An API key and its secret; neither is ever shown by ``repr``."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)


def _entry(exchange_id: str, part: str) -> str:
    return f"{exchange_id}:{part}"


def _check_exchange_id(exchange_id: str) -> None:
    if not isinstance(exchange_id, str) or not exchange_id or ":" in exchange_id:
        raise ValueError(f"exchange_id must be a non-empty ccxt exchange id without ':', got {exchange_id!r}")


def _check_secret_text(name: str, value: str) -> None:
    # The message names the field only: the value may be the secret itself.
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    if value != value.strip() or any(ord(char) < 0x20 for char in value):
        raise ValueError(f"{name} must not contain spaces at its ends or control characters")


def set_api_key(exchange_id: str, api_key: str, secret: str, *, service: str = KEYRING_SERVICE) -> None:
    """Store an exchange's API key and secret in the OS keyring.

    Parameters
    ----------
    exchange_id
        The ccxt exchange id, e.g. ``"binance"``.
    api_key, secret
        The credentials; they are written to the keyring only.
    service
        The keyring service name.

    Raises
    ------
    ValueError
        If a field is empty or malformed (the message names the field, never its value).
    KeyringUnavailableError
        If the machine has no usable keyring (the message says what to install or configure).
    keyring.errors.KeyringError
        If the keyring refuses the entry.
    """
    _check_exchange_id(exchange_id)
    _check_secret_text("api_key", api_key)
    _check_secret_text("secret", secret)
    _loaded_secrets.update((api_key, secret))
    with _keyring_for(exchange_id, "store") as keyring:
        keyring.set_password(service, _entry(exchange_id, "apiKey"), api_key)
        keyring.set_password(service, _entry(exchange_id, "secret"), secret)
    logging.getLogger("workstation.exchange").info("stored the API key of %s in the OS keyring", exchange_id)


def delete_api_key(exchange_id: str, *, service: str = KEYRING_SERVICE) -> bool:
    """Remove an exchange's API key and secret from the OS keyring; return whether there was anything to remove.

    Raises ``KeyringUnavailableError`` when the machine has no usable keyring.
    """
    _check_exchange_id(exchange_id)
    removed = False
    with _keyring_for(exchange_id, "remove") as keyring:
        for part in ("apiKey", "secret"):
            try:
                keyring.delete_password(service, _entry(exchange_id, part))
            except keyring.errors.PasswordDeleteError:
                continue
            removed = True
    return removed


def has_api_key(exchange_id: str, *, service: str = KEYRING_SERVICE) -> bool:
    """Tell whether the OS keyring holds both an API key and a secret for the exchange."""
    return load_api_key(exchange_id, service=service, remember=False) is not None


def load_api_key(exchange_id: str, *, service: str = KEYRING_SERVICE, remember: bool = True) -> ApiCredentials | None:
    """Read an exchange's credentials from the OS keyring; None unless both the key and the secret are there.

    With ``remember`` (the default) the values are added to the set :func:`redact_secrets` scrubs from text.
    Raises ``KeyringUnavailableError`` when the machine has no usable keyring.
    """
    _check_exchange_id(exchange_id)
    with _keyring_for(exchange_id, "read") as keyring:
        api_key = keyring.get_password(service, _entry(exchange_id, "apiKey"))
        secret = keyring.get_password(service, _entry(exchange_id, "secret"))
    if not api_key or not secret:
        return None
    if remember:
        _loaded_secrets.update((api_key, secret))
    return ApiCredentials(api_key=api_key, secret=secret)


def api_key_hint(exchange_id: str, *, service: str = KEYRING_SERVICE) -> str | None:
    """Return how a stored API key is shown back: its last characters after a mask (``••••abcd``); None if none.

    Never the key in full, and never any of the secret. Raises ``KeyringUnavailableError`` without a keyring.
    """
    credentials = load_api_key(exchange_id, service=service, remember=False)
    if credentials is None:
        return None
    return HINT_MASK + credentials.api_key[-HINT_CHARACTERS:]


def remember_secrets(credentials: ApiCredentials) -> None:
    """Add credentials that did not come through :func:`load_api_key` to the values :func:`redact_secrets` scrubs.

    For keys handed over directly (the fake exchange's, a sandbox's in a test), so they are scrubbed like the
    keyring's.
    """
    _loaded_secrets.update((credentials.api_key, credentials.secret))


def redact_secrets(text: str) -> str:
    """Return ``text`` with every API key and secret loaded in this process replaced by ``***``."""
    for secret in _loaded_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class SecretRedactingFilter(logging.Filter):
    """A logging filter that scrubs loaded API keys and secrets from every record it sees.

    ccxt logs each request's headers at DEBUG level, and some exchanges send the API key in a header.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its redacted text when it contains a key or secret."""
        if not _loaded_secrets:
            return True
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True

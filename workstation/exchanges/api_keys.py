"""Exchange API keys, kept in the operating system's keyring and nowhere else.

A key is stored under the keyring service (``"workstation"`` unless told otherwise) as two entries,
``<exchange_id>:apiKey`` and ``<exchange_id>:secret``. The workstation never writes a key to a file, a log, a report
or a settings file, and no error message it raises contains one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = [
    "KEYRING_SERVICE",
    "ApiCredentials",
    "delete_api_key",
    "has_api_key",
    "load_api_key",
    "redact_secrets",
    "set_api_key",
]

#: The keyring service the workstation's entries live under.
KEYRING_SERVICE = "workstation"

#: What replaces a key or secret wherever text might carry one.
REDACTED = "***"

#: Every key and secret loaded in this process, so log records and error messages can be scrubbed of them.
_loaded_secrets: set[str] = set()


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
    keyring.errors.KeyringError
        If no usable keyring is available or it refuses the entry.
    """
    import keyring  # noqa: PLC0415 (its backends load a tenth of a second of modules; paid when used)
    import keyring.errors  # noqa: PLC0415

    _check_exchange_id(exchange_id)
    _check_secret_text("api_key", api_key)
    _check_secret_text("secret", secret)
    _loaded_secrets.update((api_key, secret))
    keyring.set_password(service, _entry(exchange_id, "apiKey"), api_key)
    keyring.set_password(service, _entry(exchange_id, "secret"), secret)
    logging.getLogger("workstation.exchange").info("stored the API key of %s in the OS keyring", exchange_id)


def delete_api_key(exchange_id: str, *, service: str = KEYRING_SERVICE) -> bool:
    """Remove an exchange's API key and secret from the OS keyring; return whether there was anything to remove."""
    import keyring  # noqa: PLC0415 (its backends load a tenth of a second of modules; paid when used)
    import keyring.errors  # noqa: PLC0415

    _check_exchange_id(exchange_id)
    removed = False
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
    """
    import keyring  # noqa: PLC0415 (its backends load a tenth of a second of modules; paid when used)
    import keyring.errors  # noqa: PLC0415

    _check_exchange_id(exchange_id)
    api_key = keyring.get_password(service, _entry(exchange_id, "apiKey"))
    secret = keyring.get_password(service, _entry(exchange_id, "secret"))
    if not api_key or not secret:
        return None
    if remember:
        _loaded_secrets.update((api_key, secret))
    return ApiCredentials(api_key=api_key, secret=secret)


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

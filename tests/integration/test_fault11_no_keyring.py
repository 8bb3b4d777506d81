"""Fault 11: on a Linux machine without a keyring, ``ws.set_api_key`` printed keyring's raw ``NoKeyringError``
traceback. It now raises ``KeyringUnavailableError`` whose one line says what to install or configure."""

from __future__ import annotations

import os
from collections.abc import Iterator

import keyring
import keyring.backends.fail
import pytest
from child_python import run_python

import workstation as ws

ADVICE = (
    "no usable OS keyring (NoKeyringError); install and unlock a Secret Service keyring (GNOME Keyring or KWallet, "
    "in a desktop or D-Bus session), or pip install keyrings.alt for a file-based one, or choose a backend with "
    "PYTHON_KEYRING_BACKEND"
)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.mark.usefixtures("no_keyring")
def test_every_key_operation_says_in_one_line_what_to_install() -> None:
    with pytest.raises(ws.KeyringUnavailableError) as stored:
        ws.set_api_key("binance", "KEY-1234abcd", "SECRET-5678")
    assert str(stored.value) == f"cannot store the API key of binance: {ADVICE}"
    assert stored.value.__suppress_context__  # keyring's own traceback is not chained under it
    assert "SECRET-5678" not in str(stored.value) and "KEY-1234abcd" not in str(stored.value)

    with pytest.raises(ws.KeyringUnavailableError, match=r"^cannot read the API key of binance: no usable"):
        ws.api_key_hint("binance")
    with pytest.raises(ws.KeyringUnavailableError, match=r"^cannot remove the API key of binance: no usable"):
        ws.delete_api_key("binance")


def test_a_script_storing_a_key_without_a_keyring_ends_with_that_one_line_not_keyring_s_traceback() -> None:
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    completed = run_python(
        "-c", "import workstation as ws; ws.set_api_key('binance', 'KEY-1234abcd', 'SECRET-5678')", env=env
    )

    assert completed.returncode == 1
    last_line = completed.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"workstation.exchanges.api_keys.KeyringUnavailableError: cannot store the API key of binance: {ADVICE}"
    )
    assert "NoKeyringError:" not in completed.stderr
    assert "During handling of the above exception" not in completed.stderr

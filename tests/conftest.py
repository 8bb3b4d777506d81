"""Test configuration: offscreen Qt, a pristine engine per test, user data dirs inside tmp_path."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import keyring
import platformdirs
import pytest
import qasync
from integration.exchange_server import FakeBinance, minute_candles
from memory_keyring import MemoryKeyring
from order_guard import loopback_only
from PySide6.QtWidgets import QApplication

import workstation as ws
from ui.event_loop import GuiEventLoop
from workstation.exchanges import api_keys
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.ccxt_exchange import CcxtConnection


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every platformdirs path into the test's tmp_path."""
    for name in ("user_data_dir", "user_config_dir", "user_cache_dir", "user_log_dir", "user_state_dir"):
        target = tmp_path / name

        def _dir(*_args: object, _target: Path = target, **_kwargs: object) -> str:
            return str(_target)

        monkeypatch.setattr(platformdirs, name, _dir)


@pytest.fixture(autouse=True, scope="session")
def _orders_stay_on_this_machine() -> Iterator[None]:
    """Fail any test whose ccxt connection holding API keys points beyond 127.0.0.1 (tests/order_guard.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CcxtConnection, "_create", loopback_only(CcxtConnection._create))
        yield


@pytest.fixture(autouse=True)
def _pristine_engine() -> Iterator[None]:
    """Give each test a fresh engine: default config, empty registries, no listeners."""
    ws.reset()
    yield
    ws.reset()


@pytest.fixture(autouse=True)
def _forget_secrets_after_the_test() -> Iterator[None]:
    """Give each test the secrets scrubbed from text as it found them: a short made-up key of one test ("key")
    would otherwise be scrubbed from every later test's messages in the same process ("API-key" -> "API-***")."""
    known = set(api_keys._loaded_secrets)
    yield
    api_keys._loaded_secrets.clear()
    api_keys._loaded_secrets.update(known)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CandleStore]:
    """A candle store in a file of the test's own, closed after the test."""
    opened = CandleStore(tmp_path / "candles.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def server() -> Iterator[FakeBinance]:
    """The local fake binance (tests/integration/exchange_server.py) serving 2500 1m candles from 2024-01-01."""
    with FakeBinance(minute_candles(2500)) as fake:
        yield fake


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Keep the test's API keys in memory: no test reads or writes the real OS keyring."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync loop on the test's QApplication, as the window's; ``qloop.run_until_complete(coro)`` drives a test."""
    loop = GuiEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture(autouse=True)
def _collect_widgets_on_the_gui_thread(request: pytest.FixtureRequest) -> Iterator[None]:
    """Collect the garbage Qt objects of a test that used Qt here, on the GUI thread, once the test is over.

    Left to chance, Python's collector may run inside a later test's worker thread (``asyncio.to_thread``), and a
    QObject with a timer destroyed there makes Qt warn "Timers cannot be stopped from another thread".
    """
    yield
    if "qapp" in request.fixturenames:
        gc.collect()

"""Fault 14, the way out: the Stored data dialog fetches a period of a series again from its exchange.

A store poisoned by an older version (a gap where the exchange has candles, a candle with a negative price) is
repaired from the window: the period is forgotten and downloaded afresh from the local fake exchange through ccxt.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import qasync
from dialog_helpers import open_stored_data, table_texts
from integration.exchange_server import (
    KLINES,
    MINUTE,
    T0,
    FakeBinance,
    fake_binance,
    minute_candles,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from ui.data.stored_data_dialog import RefetchDialog, RefetchPeriod
from workstation.exchanges.candle_store import CandleStore

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SYMBOL = "BTC/USDT"
CANDLES = minute_candles(30)  # the first of those the server fixture (tests/conftest.py) serves


def poison(store: CandleStore) -> None:
    """What older versions stored from bad answers: minute 3 with a negative close, and minutes 5-19 as a gap."""
    bad = CANDLES[:5].copy()
    bad["close"][3] = -1.0
    store.write("fake", SYMBOL, "1m", bad, covered=(T0, T0 + 20 * MINUTE))


def test_fetch_again_replaces_a_poisoned_period_with_the_exchange_candles(
    qtbot: QtBot, qloop: qasync.QEventLoop, store: CandleStore, server: FakeBinance
) -> None:
    poison(store)
    get_candles = fake_binance(server, store)
    dialog = open_stored_data(store, qtbot, qloop)
    assert table_texts(dialog) == [["fake", SYMBOL, "1m", "2024-01-01 00:00", "2024-01-01 00:04", "5", "1"]]
    assert not dialog.refetch_button.isEnabled()
    dialog.table.selectRow(0)
    assert dialog.refetch_button.isEnabled()

    qtbot.mouseClick(dialog.refetch_button, Qt.MouseButton.LeftButton)
    chooser = dialog.findChild(RefetchDialog)
    assert chooser is not None
    assert chooser.isVisible()
    assert chooser.windowTitle() == "Fetch fake · BTC/USDT · 1m again"
    # The whole covered span is offered.
    assert chooser.period() == RefetchPeriod(
        start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 1, 1, 0, 20, tzinfo=UTC)
    )
    ok = chooser.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert ok.text() == "Fetch again"

    async def fetched_again() -> None:
        try:
            qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
            assert dialog.task is not None
            await dialog.task
        finally:
            await get_candles.aclose()

    qloop.run_until_complete(fetched_again())

    assert dialog.status_label.text() == (
        "Fetched 20 candles of BTC/USDT 1m from fake again, 2024-01-01 00:00 → 2024-01-01 00:20 (UTC)."
    )
    assert table_texts(dialog) == [["fake", SYMBOL, "1m", "2024-01-01 00:00", "2024-01-01 00:19", "20", "0"]]
    np.testing.assert_array_equal(store.read("fake", SYMBOL, "1m", T0, T0 + 30 * MINUTE), CANDLES[:20])
    assert [int(query["startTime"]) for query in server.klines_requests()] == [T0]
    assert server.count(KLINES) == 1


def test_a_series_without_a_ccxt_exchange_cannot_be_fetched_again_and_is_kept(
    qtbot: QtBot, qloop: qasync.QEventLoop, store: CandleStore
) -> None:
    store.write("my csv", SYMBOL, "1m", CANDLES[:5], covered=(T0, T0 + 5 * MINUTE))
    dialog = open_stored_data(store, qtbot, qloop)
    period = RefetchPeriod(start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 1, 1, 0, 5, tzinfo=UTC))
    task = dialog.refetch(store.series()[0], period)
    assert task is not None
    qloop.run_until_complete(task)

    assert dialog.status_label.text() == (
        "Fetching BTC/USDT 1m from my csv again failed: exchange_id 'my csv' is not a ccxt exchange id "
        "(e.g. 'binance', 'kraken')"
    )
    np.testing.assert_array_equal(store.read("my csv", SYMBOL, "1m", T0, T0 + 5 * MINUTE), CANDLES[:5])

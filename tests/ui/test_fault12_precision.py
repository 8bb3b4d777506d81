"""Fault 12: prices show the symbol's precision (its tick, or five significant digits without one), not 8 decimals."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest
import qasync
from pytestqt.qtbot import QtBot

from ui.app import demo_request
from ui.backtest.run_tab import RunTab
from ui.charts import DARK_PALETTE
from ui.widgets.formatting import price_decimals
from ui.widgets.trade_table import TradeColumn, TradeTableView

PRICE_COLUMNS = (TradeColumn.OPEN_PRICE, TradeColumn.CLOSE_PRICE, TradeColumn.TAKE_PROFIT, TradeColumn.STOP_LOSS)


@pytest.mark.parametrize(
    ("prices", "decimals"),
    [
        ([42000.1, 42000.25, 41999.99], 2),  # a USDT pair's cent tick
        ([0.001234, 0.001235, 0.0012], 6),
        ([65000.0, 65001.0], 0),
        ([42000.123456789, 42001.987654321], 2),  # no tick: five significant digits, at least two decimals
        ([0.5123456789, 0.5123456], 5),
        ([0.00001234567891], 8),  # never more than the reports' eight
        ([], 2),
    ],
)
def test_price_decimals_are_the_tick_or_five_significant_digits(prices: list[float], decimals: int) -> None:
    assert price_decimals(np.array(prices)) == decimals


def test_the_tick_of_a_year_of_cent_prices_is_found() -> None:
    prices = np.round(np.random.default_rng(1).uniform(100, 70_000, 500_000), 2)
    assert price_decimals(prices) == 2


def test_a_demo_run_writes_its_prices_with_two_decimals(qtbot: QtBot, qloop: qasync.QEventLoop) -> None:
    tab = RunTab(DARK_PALETTE)
    qtbot.addWidget(tab)
    request = demo_request(2, start=datetime(2024, 2, 1, tzinfo=UTC), symbol="ETHUSDT", strategy_name="rsi-reversion")
    qloop.run_until_complete(tab.run(request))
    rows = tab.trades.visible_rows()
    assert len(rows) > 0
    texts = [row[column] for row in rows for column in PRICE_COLUMNS]
    assert [text for text in texts if re.fullmatch(r"\d+\.\d\d", text) is None] == []


def test_a_new_precision_rewrites_the_rows_shown(qtbot: QtBot) -> None:
    from test_trade_table import four_trades

    view = TradeTableView()
    qtbot.addWidget(view)
    trades = four_trades()
    view.append(trades)
    assert view.visible_rows()[0][TradeColumn.OPEN_PRICE] == f"{trades[0].signal.price_open:.8f}"
    view.set_price_decimals(2)
    assert [row[TradeColumn.OPEN_PRICE] for row in view.visible_rows()] == [
        f"{trade.signal.price_open:.2f}" for trade in trades
    ]
    assert [row[TradeColumn.NUMBER] for row in view.visible_rows()] == ["1", "2", "3", "4"]

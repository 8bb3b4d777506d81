"""Fault 6 in the window: the candle store's candles are offered as ``stored-csv`` by the backtest form, the walker,
the optimizer and the heatmap, and a run on them shows the engine's trades.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import qasync
from backtest_runs import engine_trades, shown_trades
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QWidget
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.backtest.form import BacktestForm
from ui.backtest.run_tab import RunTab
from ui.charts import DARK_PALETTE
from ui.compare.heat_view import HeatView
from ui.compare.optimizer_view import OptimizerView
from ui.compare.walker_view import WalkerView
from ui.forms import SchemaForm
from ui.live.live_dialog import live_exchange_choices
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles
from workstation.timeutil import MINUTE_MS, to_ms

FIRST = datetime(2024, 2, 1, tzinfo=UTC)
REQUEST = ws.BacktestRequest(
    exchange_name="stored-csv",
    symbol="ETHUSDT",
    strategy_name="sma-cross-market",
    start=datetime(2024, 2, 1, 1, tzinfo=UTC),
    end=datetime(2024, 2, 2, 22, tzinfo=UTC),
)


@pytest.fixture(autouse=True)
def stored() -> None:
    """Two days of the demo's ETH candles in the user's candle store, under the import dialog's default name."""
    start = to_ms(FIRST)
    candles = DemoCandles().candles("ETHUSDT", CandleWindow(1, start, start + 2 * 1440 * MINUTE_MS))
    store = ws.CandleStore()
    store.write("csv", "ETHUSDT", "1m", candles, covered=(start, start + 2 * 1440 * MINUTE_MS))
    store.close()


def offered(form: SchemaForm) -> list[str]:
    combo = form.editors["exchange_name"].widget
    assert isinstance(combo, QComboBox)
    return [combo.itemText(index) for index in range(combo.count())]


@pytest.mark.parametrize(
    "make_view",
    [
        pytest.param(
            lambda folder: BacktestForm(settings=QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)),
            id="backtest-form",
        ),
        pytest.param(lambda _folder: WalkerView(lambda _request: None), id="walker"),
        pytest.param(lambda _folder: OptimizerView(lambda _request: None), id="optimizer"),
        pytest.param(lambda _folder: HeatView(lambda _request: None), id="heatmap"),
    ],
)
def test_every_run_form_offers_the_stored_candles(
    qtbot: QtBot, make_view: Callable[[Path], QWidget], tmp_path: Path
) -> None:
    view = make_view(tmp_path)
    qtbot.addWidget(view)
    form = getattr(view, "market" if isinstance(view, OptimizerView) else "form")
    assert isinstance(form, SchemaForm)

    assert offered(form) == ["demo", "stored-csv"]
    form.set_values({"exchange_name": "stored-csv"})
    assert form.error("exchange_name") == ""


def test_a_run_on_stored_candles_shows_the_engine_s_trades(qtbot: QtBot, qloop: qasync.QEventLoop) -> None:
    expected = asyncio.run(engine_trades(REQUEST))
    ws.reset()
    tab = RunTab(DARK_PALETTE)
    qtbot.addWidget(tab)

    qloop.run_until_complete(tab.run(REQUEST))

    shown = shown_trades(tab)
    assert tab.state == "Finished", tab.status.text()
    assert len(shown) == 36
    assert sorted((trade.signal.pending_at, trade.pnl) for trade in shown) == sorted(
        (trade.signal.pending_at, trade.pnl) for trade in expected
    )


def test_a_period_before_the_stored_candles_fails_naming_the_first_usable_start(
    qtbot: QtBot, qloop: qasync.QEventLoop
) -> None:
    tab = RunTab(DARK_PALETTE)
    qtbot.addWidget(tab)

    qloop.run_until_complete(tab.run(REQUEST.model_copy(update={"start": FIRST})))

    assert tab.state == "Failed"
    assert tab.status.text() == (
        "Failed: PreparationError: start: 2024-02-01 00:00 UTC is too early for the stored candles of csv ETHUSDT: "
        "its first candle opens at 2024-02-01 00:00 UTC and the first tick needs 5 candles before it; "
        "the first usable start is 2024-02-01 00:05 UTC"
    )


def test_live_starts_do_not_offer_stored_candles_once_a_backtest_registered_them() -> None:
    asyncio.run(ws.prepare_backtest(REQUEST))

    assert "stored-csv" in ws.exchange_choices()
    assert "stored-csv" not in live_exchange_choices()
    assert live_exchange_choices()[0] == "demo"

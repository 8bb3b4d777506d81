"""The heat view: real backtests of one strategy on demo symbols, the SPEC §13 table with its colours, a click
opening a symbol's backtest, Stop, bad symbols, and screenshots in both themes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.compare.heat_table import HeatColumn
from ui.compare.heat_view import HeatView
from ui.themes import apply_theme

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 2, 23, 59, tzinfo=UTC)


@pytest.fixture
def view(qtbot: QtBot, qloop: qasync.QEventLoop) -> Iterator[tuple[HeatView, list[ws.BacktestRequest]]]:
    opened: list[ws.BacktestRequest] = []
    heat = HeatView(opened.append)
    qtbot.addWidget(heat)
    heat.resize(1300, 620)
    heat.form.set_values({"exchange_name": "demo", "strategy_name": "sma-cross-market", "start": START, "end": END})
    heat.symbols.setText("BTCUSDT, ETHUSDT")
    heat.show()
    yield heat, opened
    qloop.run_until_complete(heat.shutdown())


def run_to_end(qloop: qasync.QEventLoop, heat: HeatView) -> None:
    async def scenario() -> None:
        task = heat.run()
        assert task is not None
        await task

    qloop.run_until_complete(scenario())


def test_the_heatmap_of_two_symbols_shows_the_engines_rows_and_totals(
    view: tuple[HeatView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop
) -> None:
    heat, _opened = view
    assert heat.progress.isHidden()  # no "0 of 1 symbols" before the first run, with two symbols typed
    run_to_end(qloop, heat)

    statistics = heat.statistics
    assert statistics is not None
    assert [row.symbol for row in statistics.symbols] == ["BTCUSDT", "ETHUSDT"]  # Sharpe -0.37 before -0.43
    assert statistics.portfolio_total_pnl == -21.0680087943354
    assert statistics.portfolio_sharpe_ratio == -0.40566697536045776
    assert heat.model.rowCount() == 2
    # The run's account first (10,000 at the fixed cost of 100: each trade makes its % of 100 in money), then the
    # report's columns (pinned by tests/acceptance/test_heat.py), the PnL spelt as in the rest of the window.
    headers = [heat.model.headerData(column, Qt.Orientation.Horizontal) for column in range(15)]
    assert headers == ["Symbol", "Net profit", "Return", "Max DD (equity)", "Total PnL", *ws.HEATMAP_COLUMNS[2:]]
    assert ws.HEATMAP_COLUMNS[1] == "Total PNL"
    assert heat.model.texts(0) == [
        "BTCUSDT",
        "-7.67",
        "-0.08%",
        "0.08%",
        "-7.67%",
        "-0.37",
        "0.43",
        "-0.33%",
        "52.2%",
        "+0.48%",
        "-1.22%",
        "-7.82%",
        "6",
        "4",
        "23",
    ]
    assert heat.model.texts(1)[:5] == ["ETHUSDT", "-13.40", "-0.13%", "0.14%", "-13.40%"]
    assert heat.model.texts(1)[-1] == "31"
    assert heat.summary.text() == "2 symbols · portfolio PnL -21.07% · Sharpe -0.41 · 54 trades"
    assert heat.status.text() == "Finished: 2 of 2 symbols backtested. Click a symbol to open its backtest."
    assert (heat.progress.value(), heat.progress.maximum()) == (2, 2)
    assert (heat.progress.isVisible(), heat.progress.text()) == (True, "2 of 2 symbols")
    # Losses are red, the worse one deeper; a win rate above 50 % is green; counts are not tinted.
    btc_pnl = heat.model.tint(0, HeatColumn.TOTAL_PNL)
    eth_pnl = heat.model.tint(1, HeatColumn.TOTAL_PNL)
    assert btc_pnl is not None and eth_pnl is not None
    assert _redness(eth_pnl) > _redness(btc_pnl) > 0
    win_rate = heat.model.tint(0, HeatColumn.WIN_RATE)
    assert win_rate is not None and _greenness(win_rate) > 0
    assert heat.model.tint(0, HeatColumn.TRADES) is None
    btc_profit = heat.model.tint(0, HeatColumn.NET_PROFIT)
    eth_profit = heat.model.tint(1, HeatColumn.NET_PROFIT)
    assert btc_profit is not None and eth_profit is not None
    assert _redness(eth_profit) > _redness(btc_profit) > 0


def _redness(colour: str) -> int:
    return int(colour[1:3], 16) - int(colour[3:5], 16)


def _greenness(colour: str) -> int:
    return int(colour[3:5], 16) - int(colour[1:3], 16)


def test_clicking_a_symbol_opens_its_backtest_with_the_runs_strategy_period_and_costs(
    view: tuple[HeatView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    heat, opened = view
    heat.form.set_values({"percent_fee": 0.05})
    run_to_end(qloop, heat)
    heat.form.set_values({"exchange_name": "demo", "start": datetime(2024, 2, 1, tzinfo=UTC)})  # later edits

    params_model = ws.strategy_params_model("sma-cross-market")
    assert params_model is not None
    defaults = params_model()
    rect = heat.table.visualRect(heat.model.index(1, HeatColumn.SYMBOL))
    qtbot.mouseClick(heat.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    assert opened == [
        ws.BacktestRequest(
            exchange_name="demo",
            symbol="ETHUSDT",
            strategy_name="sma-cross-market",
            start=START,
            end=END,
            percent_fee=0.05,
            params=defaults.model_dump(),
        )
    ]
    assert opened[0].params["fast"] == 20  # the form sends every parameter, as the backtest form does


def test_stop_ends_the_symbol_running_now_and_runs_no_other(
    view: tuple[HeatView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop
) -> None:
    heat, _opened = view
    closed: list[ws.ClosedResult] = []

    def stop_at_first_close(result: ws.TickResult) -> None:
        if isinstance(result, ws.ClosedResult):
            closed.append(result)
            if len(closed) == 1:
                heat.stop()

    ws.listen_signal_backtest(stop_at_first_close)
    run_to_end(qloop, heat)

    statistics = heat.statistics
    assert statistics is not None
    assert [(row.symbol, row.total_trades) for row in statistics.symbols] == [("BTCUSDT", 1)]
    assert [result.symbol for result in closed] == ["BTCUSDT"]
    assert heat.status.text() == "Stopped: 1 of 2 symbols backtested. Click a symbol to open its backtest."
    assert heat.run_button.isEnabled() and not heat.stop_button.isEnabled()


def test_no_symbol_keeps_run_disabled_with_a_message(view: tuple[HeatView, list[ws.BacktestRequest]]) -> None:
    heat, _opened = view
    heat.symbols.setText(" , ,")
    assert heat.symbols_error.text() == "Enter at least one symbol, e.g. BTCUSDT, ETHUSDT."
    assert not heat.run_button.isEnabled()
    assert heat.run() is None
    heat.symbols.setText("ETHUSDT, BTCUSDT, ETHUSDT")
    assert heat.symbol_list() == ["ETHUSDT", "BTCUSDT"]
    assert heat.run_button.isEnabled() and heat.symbols_error.isHidden()


def test_screenshots_of_a_heatmap_in_both_themes(
    view: tuple[HeatView, list[ws.BacktestRequest]], qloop: qasync.QEventLoop, qapp: QApplication
) -> None:
    heat, _opened = view
    heat.symbols.setText("BTCUSDT, ETHUSDT, SOLUSDT, BNBUSDT")
    run_to_end(qloop, heat)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for theme in ("dark", "light"):
            apply_theme(qapp, theme)
            qapp.processEvents()
            image = heat.grab().toImage()
            image.save(str(SHOTS / f"compare_heat_{theme}.png"))
            # The worst total PnL (the deepest red of its column) is painted red in either theme.
            worst = min(range(heat.model.rowCount()), key=lambda row: heat.model.row_at(row).total_pnl or 0.0)
            cell = heat.table.visualRect(heat.model.index(worst, HeatColumn.TOTAL_PNL))
            point = heat.table.viewport().mapTo(heat, QPoint(cell.left() + 3, cell.center().y()))
            colour = image.pixelColor(point)
            assert colour.red() > colour.green() + 40, (theme, colour.name())
    finally:
        qapp.setPalette(qapp.style().standardPalette())
        qapp.setStyleSheet("")

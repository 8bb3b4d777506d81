"""Each built-in strategy's indicators on its run tab, with the run's parameters: lines in their colours at a known
bar, the legend hiding one, the crosshair readout showing its value (issue 15 acceptance 4, run tab part)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qasync
from mouse import hover
from pixels import painted
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.app import demo_request
from ui.backtest.run_tab import RunTab
from ui.charts import DARK_PALETTE, LIGHT_PALETTE, CandleChart, ChartPalette
from ui.charts.candle_chart import format_price
from ui.main_window import MainWindow

SHOTS = Path("/tmp/ui_shots")
#: A bar of the day's run, away from both ends.
BAR = 700


def run_tab(qtbot: QtBot, qloop: qasync.QEventLoop, request: ws.BacktestRequest, palette: ChartPalette) -> RunTab:
    tab = RunTab(palette)
    qtbot.addWidget(tab)
    tab.resize(1300, 900)
    tab.show()
    qloop.run_until_complete(tab.run(request))
    assert tab.state == "Finished", tab.error_message
    return tab


def expected_values(qloop: qasync.QEventLoop, request: ws.BacktestRequest) -> dict[str, np.ndarray]:
    """The strategy's indicators computed here, over the day before the period and the period, from its start."""
    candles = qloop.run_until_complete(
        ws.fetch_candles("demo", request.symbol, request.start - timedelta(days=1), request.end)
    )
    first = int(np.searchsorted(candles["timestamp"], int(request.start.timestamp() * 1000)))
    values = ws.strategy_indicators(request.strategy_name, candles, request.params).from_candle(first)
    assert values.problems == ()
    return {series.name: series.values for series in values.series}


def pixel_in(chart: CandleChart, pane: str, x: float, y: float) -> QPoint:
    plot = chart.price_plot if pane == "price" else chart.indicators.panes[pane]
    return chart.graphics.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(x, y)))


def colour_near(image: QImage, point: QPoint, color: str, radius: int = 2) -> bool:
    return any(
        image.pixelColor(point.x() + dx, point.y() + dy) == QColor(color)
        for dx in range(-radius, radius + 1)
        for dy in range(-radius, radius + 1)
    )


CASES: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
    ("sma-cross-market", {"fast": 7, "slow": 30}, {"SMA fast": "price", "SMA slow": "price"}, "SMA fast"),
    ("managed-sma", {}, {"SMA fast": "price", "SMA slow": "price"}, "SMA slow"),
    ("rsi-reversion", {"oversold": 25.0}, {"RSI": "RSI"}, "RSI"),
    ("breakout", {}, {"Donchian upper": "price", "Donchian lower": "price", "ATR": "ATR"}, "ATR"),
]


@pytest.mark.parametrize(("strategy", "params", "lines", "hidden"), CASES, ids=[case[0] for case in CASES])
def test_a_builtins_indicators_are_on_its_run_tab(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    strategy: str,
    params: dict[str, Any],
    lines: dict[str, str],
    hidden: str,
) -> None:
    request = demo_request(days=1, strategy_name=strategy).model_copy(update={"params": params})
    tab = run_tab(qtbot, qloop, request, DARK_PALETTE)
    chart = tab.chart
    expected = expected_values(qloop, request)
    indicators = chart.indicators
    assert {name: item.series.pane for name, item in indicators.items.items()} == lines
    assert not indicators.problems_label.isVisible()
    assert set(indicators.panes) == set(lines.values()) - {"price"}
    chart.price_plot.getViewBox().setXRange(BAR - 120, BAR + 120, padding=0)
    qtbot.wait(50)
    image = chart.graphics.grab().toImage()
    SHOTS.mkdir(exist_ok=True)
    image.save(str(SHOTS / f"run_tab_indicators_{strategy}.png"))

    for name, pane in lines.items():
        item = indicators.items[name]
        assert np.array_equal(item.values(), expected[name], equal_nan=True)
        value = float(expected[name][BAR])
        assert colour_near(image, pixel_in(chart, pane, BAR, value), item.color), name

    # The crosshair over the bar: its readout ends with each line's value there.
    hover(chart.graphics, pixel_in(chart, "price", BAR, float(chart.candles()["close"][BAR])))
    readout = "UTC\n" + "  ".join(f"{name} {format_price(float(expected[name][BAR]))}" for name in lines)
    assert chart.readout.text().endswith(readout)

    # The legend hides one line: none of its pixels are left, and the readout drops it.
    colour = indicators.items[hidden].color
    assert painted(image, colour) > 100
    indicators.legend.boxes[hidden].setChecked(False)
    assert painted(chart.graphics.grab().toImage(), colour) == 0
    assert f"{hidden} " not in chart.readout.text()


def test_the_rsi_pane_draws_the_runs_levels_dashed(qtbot: QtBot, qloop: qasync.QEventLoop) -> None:
    request = demo_request(days=1, strategy_name="rsi-reversion").model_copy(
        update={"params": {"oversold": 25.0, "overbought": 80.0}}
    )
    tab = run_tab(qtbot, qloop, request, LIGHT_PALETTE)
    chart = tab.chart
    assert chart.indicators.items["RSI"].series.levels == (25.0, 80.0)
    chart.price_plot.getViewBox().setXRange(BAR - 120, BAR + 120, padding=0)
    qtbot.wait(50)
    image = chart.graphics.grab().toImage()
    image.save(str(SHOTS / "run_tab_indicators_rsi_light.png"))
    for level in (25.0, 80.0):
        start, end = pixel_in(chart, "RSI", BAR - 110, level), pixel_in(chart, "RSI", BAR + 110, level)
        shares = []
        for row in range(start.y() - 1, start.y() + 2):
            on = [image.pixelColor(x, row) == QColor(LIGHT_PALETTE.foreground) for x in range(start.x(), end.x())]
            shares.append(sum(on) / len(on))
        assert 0.3 < max(shares) < 0.9  # dashed


def test_an_indicator_function_that_raises_leaves_the_run_complete_and_says_so(
    qtbot: QtBot, qloop: qasync.QEventLoop
) -> None:
    qloop.run_until_complete(ws.prepare_backtest(demo_request(days=1)))
    builtin = next(schema for schema in ws.list_strategies() if schema.strategy_name == "sma-cross-market")

    def broken(candles: np.ndarray) -> dict[str, np.ndarray]:
        raise RuntimeError("no data")

    assert builtin.indicators is not None
    ws.add_strategy(
        builtin.model_copy(
            update={
                "strategy_name": "broken-indicators",
                "indicators": builtin.indicators.model_copy(update={"compute": broken}),
            }
        )
    )
    tab = run_tab(qtbot, qloop, demo_request(days=1, strategy_name="broken-indicators"), DARK_PALETTE)
    assert tab.trades.model.rowCount() > 0
    assert tab.chart.indicators.items == {}
    assert tab.chart.indicators.problems_label.isVisible()
    assert tab.chart.indicators.problems_label.text() == (
        'strategy "broken-indicators": the indicator function raised RuntimeError: no data; '
        'indicators "SMA fast", "SMA slow" not drawn'
    )


def test_a_stored_run_opens_with_its_indicators_built_with_its_parameters(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    request = demo_request(days=1).model_copy(update={"params": {"fast": 7, "slow": 30}})
    task = window.runs.task_of(window.runs.start(request))
    assert task is not None
    qloop.run_until_complete(task)
    (summary,) = window.history.list_runs()

    tab = qloop.run_until_complete(window.stored_runs.open(summary.id))
    assert tab is not None
    qtbot_wait_until(qloop, lambda: bool(tab.chart.indicators.items))

    candles = tab.chart.candles()
    fast = tab.chart.indicators.items["SMA fast"].values()
    assert fast[100] == pytest.approx(candles["close"][94:101].mean(), rel=1e-15)
    assert not np.isnan(fast[0])  # computed over the day before the period too, as the run's own chart


def qtbot_wait_until(qloop: qasync.QEventLoop, done: Callable[[], bool]) -> None:
    """Turn the event loop until ``done`` (the candles and indicators of a stored run load in the background)."""
    for _ in range(400):
        if done():
            return
        qloop.run_until_complete(asyncio.sleep(0.025))
    raise AssertionError("the stored run's indicators were never drawn")

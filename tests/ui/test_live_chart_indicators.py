"""Issue 15 acceptance 4, the live part: during a paper run the live chart draws the running strategy's indicators,
computed again as candles close (once per candle), with its legend and its crosshair values; pixel facts."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import qasync
from loop_helpers import on_loop, wait_until
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE, CandleChart
from ui.charts.candle_chart import format_price
from ui.live.chart import LiveChart
from ui.live.panel import LivePanel

SHOTS = Path("/tmp/habits")
START = datetime(2024, 1, 1, tzinfo=UTC)
MINUTE = 60_000
SYMBOL = "BTCUSDT"
STRATEGY = "paper-sma3"
LINE = "SMA 3"
COLOUR = "#ff00ff"


class MeanOfThree:
    """The indicator function: the mean of the last three closes; it records the newest candle of each call."""

    def __init__(self) -> None:
        self.newest: list[int] = []

    def __call__(self, candles: np.ndarray) -> dict[str, np.ndarray]:
        self.newest.append(int(candles["timestamp"][-1]))
        close = candles["close"]
        mean = np.full(len(close), np.nan)
        mean[2:] = (close[2:] + close[1:-1] + close[:-2]) / 3
        return {LINE: mean}


def pixel_of(chart: CandleChart, bar: float, y: float) -> QPoint:
    """Where the price-plot point (bar, height) lands in ``chart.grab()``."""
    scene = chart.price_plot.getViewBox().mapViewToScene(QPointF(bar, y))
    return chart.graphics.mapTo(chart, chart.graphics.mapFromScene(scene))


def colour_near(image: QImage, point: QPoint, colour: str, radius: int = 2) -> bool:
    wanted = QColor(colour)
    return any(
        image.pixelColor(point.x() + dx, point.y() + dy) == wanted
        for dx in range(-radius, radius + 1)
        for dy in range(-radius, radius + 1)
    )


def grab(chart: CandleChart, name: str) -> QImage:
    QApplication.processEvents()
    image = chart.grab().toImage()
    SHOTS.mkdir(parents=True, exist_ok=True)
    image.save(str(SHOTS / f"{name}.png"))
    return image


def test_a_paper_run_draws_its_strategy_s_indicator_on_the_live_chart(
    panel: LivePanel, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    mean = MeanOfThree()
    ws.add_strategy(
        strategy_name=STRATEGY,
        interval="1m",
        get_signal=lambda symbol, when: None,
        indicators=ws.IndicatorSpec(compute=mean, lines=(ws.IndicatorLine(name=LINE, color=COLOUR),)),
    )
    shown: list[int] = []  # the newest candle of each read the chart was given
    panel.candles.candles_loaded.connect(lambda _key, candles: shown.append(int(candles["timestamp"][-1])))
    done: list[Any] = []
    ws.listen_done_live(done.append)
    request = ws.PaperTradingRequest(
        strategy_name=STRATEGY, symbol=SYMBOL, source="demo", start=START, days=1, speed=600
    )
    assert qloop.run_until_complete(panel.start_paper(request))
    live = panel.chart
    chart = live.chart
    start_ms = int(START.timestamp() * 1000)
    wait_until(
        qloop, lambda: len(chart.candles()) > 0 and int(chart.candles()["timestamp"][-1]) >= start_ms + 30 * MINUTE
    )
    on_loop(qloop, panel.stop_all)
    wait_until(qloop, lambda: bool(done))
    panel.feed.flush()
    wait_until(qloop, lambda: not panel.candles.in_flight())

    # Computed once per new candle the chart was given, never twice for the same candles.
    assert mean.newest == sorted(set(shown))
    assert len(mean.newest) >= 2  # and again as candles arrived
    candles = chart.candles()
    close = candles["close"]
    bar = len(candles) - 10
    expected = (close[bar] + close[bar - 1] + close[bar - 2]) / 3
    newest = (close[-1] + close[-2] + close[-3]) / 3
    drawn = chart.indicators.items[LINE].values()
    assert len(drawn) == len(candles) and drawn[-1] == newest  # over the newest candles

    image = grab(chart, "live_indicator_dark")
    assert colour_near(image, pixel_of(chart, bar, expected), COLOUR)

    viewport = chart.graphics.viewport()
    at = chart.graphics.mapFromScene(chart.price_plot.getViewBox().mapViewToScene(QPointF(bar, expected)))
    qtbot.mouseMove(viewport, at)
    assert chart.readout.text().endswith(f"UTC\n{LINE} {format_price(expected)}")

    qtbot.mouseClick(chart.indicators.legend.boxes[LINE], Qt.MouseButton.LeftButton)
    assert not chart.indicators.is_shown(LINE)
    assert not colour_near(grab(chart, "live_indicator_hidden_dark"), pixel_of(chart, bar, expected), COLOUR)
    qtbot.mouseClick(chart.indicators.legend.boxes[LINE], Qt.MouseButton.LeftButton)

    chart.set_log_scale(True)  # the line follows the candles into log scale
    image = grab(chart, "live_indicator_log_dark")
    assert colour_near(image, pixel_of(chart, bar, math.log10(expected)), COLOUR)


def candles_from(first_minute: int, count: int) -> np.ndarray:
    """``count`` 1m candles from minute ``first_minute`` after START, closing at 42000 + their minute."""
    minutes = first_minute + np.arange(count)
    candles = np.zeros(count, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = int(START.timestamp() * 1000) + minutes * MINUTE
    candles["open"] = candles["close"] = 42000.0 + minutes
    candles["high"], candles["low"], candles["volume"] = candles["close"] + 5, candles["close"] - 5, 1.0
    return candles


def test_the_live_chart_computes_indicators_once_per_new_candle_and_keeps_a_hidden_line_hidden(
    qtbot: QtBot,
) -> None:
    mean = MeanOfThree()
    ws.add_strategy(
        strategy_name=STRATEGY,
        interval="1m",
        get_signal=lambda symbol, when: None,
        indicators=ws.IndicatorSpec(compute=mean, lines=(ws.IndicatorLine(name=LINE, color=COLOUR),)),
    )
    live = LiveChart(DARK_PALETTE)
    qtbot.addWidget(live)
    live.show_run((SYMBOL, STRATEGY))
    live.set_candles(candles_from(0, 300))
    live.set_candles(candles_from(0, 300))  # the same candles read again at the next tick: nothing computed
    indicators = live.chart.indicators
    assert len(mean.newest) == 1
    assert indicators.items[LINE].values()[-1] == 42000.0 + 298  # the mean of minutes 297, 298 and 299
    indicators.set_shown(LINE, False)
    live.set_candles(candles_from(1, 300))  # a candle closed
    assert len(mean.newest) == 2
    assert indicators.items[LINE].values()[-1] == 42000.0 + 299
    assert not indicators.is_shown(LINE)  # the trader's choice outlives the new candle
    assert not indicators.legend.boxes[LINE].isChecked()

    live.show_run((SYMBOL, "not-registered"))
    live.set_candles(candles_from(1, 300))
    assert indicators.items == {}
    assert indicators.problems_label.text() == (
        'indicators not drawn: strategy "not-registered" not found (source: prepare_backtest); '
        f'registered: ["{STRATEGY}"]'
    )

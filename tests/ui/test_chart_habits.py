"""Chart habits (issue 15): the log-scale price axis, the live chart following the newest candle until the trader
moves it, take-profit and stop-loss levels off the view written at its edge; exact facts and pixels, both themes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE, LIGHT_PALETTE, CandleChart, ChartPalette, SignalMarks
from ui.charts.log_scale import LevelLine, log_ticks
from ui.live.chart import EXIT_LABEL_POSITION, LiveChart

SHOTS = Path("/tmp/habits")
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MIN = 60_000
THEMES = [pytest.param(DARK_PALETTE, id="dark"), pytest.param(LIGHT_PALETTE, id="light")]


def candles_at(prices: list[float]) -> np.ndarray:
    """One up candle per price ``p``: open p/1.01, close p*1.01, low p/1.02, high p*1.02 (symmetric in log)."""
    price = np.array(prices)
    candles = np.zeros(len(prices), dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = T0 + np.arange(len(prices)) * MIN
    candles["open"], candles["close"] = price / 1.01, price * 1.01
    candles["low"], candles["high"], candles["volume"] = price / 1.02, price * 1.02, 1.0
    return candles


def flat_candles(first_minute: int, count: int, price: float = 42000.0) -> np.ndarray:
    """``count`` 1m candles from minute ``first_minute``: open and close at ``price`` ± 5, low and high ± 10."""
    candles = np.zeros(count, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = T0 + (first_minute + np.arange(count)) * MIN
    candles["open"] = price - 5
    candles["close"] = price + 5
    candles["low"], candles["high"], candles["volume"] = price - 10, price + 10, 100.0
    return candles


def grab(widget: CandleChart | LiveChart, name: str) -> QImage:
    QApplication.processEvents()
    image = widget.grab().toImage()
    SHOTS.mkdir(parents=True, exist_ok=True)
    image.save(str(SHOTS / f"{name}.png"))
    return image


def painted_rows(chart: CandleChart, image: QImage, x: int, colour: str) -> list[int]:
    """The rows of column ``x`` of the price plot (not the volume below it) painted exactly in ``colour``."""
    wanted = QColor(colour)
    box = chart.price_plot.getViewBox().sceneBoundingRect()
    top, bottom = (
        chart.graphics.mapTo(chart, chart.graphics.mapFromScene(point)).y()
        for point in (box.topLeft(), box.bottomLeft())
    )
    return [y for y in range(top, bottom) if image.pixelColor(x, y) == wanted]


def pixel_of(chart: CandleChart, x: float, y: float) -> QPoint:
    """Where the price-plot point (bar, height) lands in ``chart.grab()``."""
    scene = chart.price_plot.getViewBox().mapViewToScene(QPointF(x, y))
    return chart.graphics.mapTo(chart, chart.graphics.mapFromScene(scene))


def view_of(chart: CandleChart) -> list[float]:
    return [round(value, 3) for value in chart.price_plot.getViewBox().viewRange()[0]]


def one_long(
    entry_bar: int, price: float, take_profit: float, stop_loss: float, exit_bar: int | None = None
) -> SignalMarks:
    """A long position entered at bar ``entry_bar``, open, or closed at ``exit_bar`` at its take profit."""
    closed = exit_bar is not None
    return SignalMarks(
        position_ids=np.array(["p"]),
        entry_time=np.array([T0 + entry_bar * MIN]),
        entry_price=np.array([price]),
        is_long=np.array([True]),
        take_profit=np.array([take_profit]),
        stop_loss=np.array([stop_loss]),
        exit_time=np.array([float(T0 + exit_bar * MIN) if exit_bar is not None else math.nan]),
        exit_price=np.array([take_profit if closed else math.nan]),
        pnl_percentage=np.array([1.0 if closed else math.nan]),
        close_reason=np.array(["take_profit" if closed else ""]),
    )


# -- log scale ---------------------------------------------------------------------------------------------------


def test_log_ticks_are_round_prices_spread_evenly_on_a_log_axis() -> None:
    assert log_ticks(10.0, 1000.0, 6) == [20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
    assert log_ticks(40000.0, 44000.0, 8) == [40000.0, 40500.0, 41000.0, 41500.0, 42000.0, 43000.0, 44000.0]
    assert log_ticks(5.0, 5.0, 8) == []


@pytest.mark.parametrize("palette", THEMES)
def test_in_log_scale_a_candle_sits_at_the_log_of_its_price(qtbot: QtBot, palette: ChartPalette) -> None:
    """Candles at 10, 100 and 1000: in log scale the 100 candle is drawn half way between the other two (it is
    at 9 % of their distance in linear scale); a trade's marker and its TP/SL lines sit at their prices' logs."""
    chart = CandleChart(palette=palette)
    qtbot.addWidget(chart)
    chart.resize(900, 600)
    chart.show()
    qtbot.waitExposed(chart)
    prices = [100.0] * 30
    prices[10], prices[20] = 10.0, 1000.0
    chart.set_candles(candles_at(prices))
    chart.set_marks(one_long(15, 100.0, 200.0, 50.0))
    chart.price_plot.getViewBox().setXRange(-0.5, 29.5, padding=0)
    linear = grab(chart, f"log_scale_off_{palette.background[1:]}")
    assert chart.is_log_scale() is False

    qtbot.keyClick(chart, Qt.Key.Key_L)
    assert chart.is_log_scale() and chart.log_scale_box.isChecked()
    image = grab(chart, f"log_scale_on_{palette.background[1:]}")

    def centre_row(picture: QImage, bar: int) -> float:
        rows = painted_rows(chart, picture, pixel_of(chart, bar, 0.0).x(), palette.up)
        return (min(rows) + max(rows)) / 2

    low, middle, high = (centre_row(image, bar) for bar in (10, 5, 20))
    assert abs(middle - (low + high) / 2) <= 1.0
    assert abs(middle - pixel_of(chart, 5, 2.0).y()) <= 1.0  # log10(100) = 2
    linear_low, linear_high = (centre_row(linear, bar) for bar in (10, 20))
    linear_middle = centre_row(linear, 5)
    assert (linear_low - linear_middle) / (linear_low - linear_high) < 0.1  # 100 is near 10 on a linear axis
    layer = chart.marks_layer
    assert layer.entries_long.data["y"].tolist() == [2.0]
    _, take_profit_y = layer.take_profits.getData()
    assert take_profit_y.tolist() == [math.log10(200.0), math.log10(200.0)]
    assert chart.price_axis.tickStrings([1.0, 2.0, 3.0], 1.0, 1.0) == ["10", "100", "1000"]

    chart.log_scale_box.setChecked(False)  # the header's box switches back
    assert not chart.is_log_scale()
    assert layer.entries_long.data["y"].tolist() == [100.0]


def test_the_live_chart_draws_its_level_lines_at_the_log_of_their_price(qtbot: QtBot) -> None:
    chart = LiveChart(DARK_PALETTE)
    qtbot.addWidget(chart)
    chart.show_run(("BTCUSDT", "one-shot"))
    chart.set_candles(flat_candles(0, 300))
    chart.set_signal(signal_row(take_profit=42420.0))
    chart.set_price(42123.5)
    chart.chart.set_log_scale(True)
    assert chart.take_profit_line.value() == math.log10(42420.0)
    assert chart.stop_loss_line.value() == math.log10(41580.0)
    assert chart.price_line.value() == math.log10(42123.5)
    assert chart.line_labels()["take_profit"] == "TP 42420.00"  # the labels still say the price
    chart.chart.set_log_scale(False)
    assert chart.take_profit_line.value() == 42420.0


# -- following the newest candle ---------------------------------------------------------------------------------


def live_chart(qtbot: QtBot, palette: ChartPalette = DARK_PALETTE) -> LiveChart:
    """A shown live chart of a run of a registered strategy without indicators."""
    ws.add_strategy(strategy_name="one-shot", interval="1m", get_signal=lambda symbol, when: None)
    chart = LiveChart(palette)
    qtbot.addWidget(chart)
    chart.resize(1000, 560)
    chart.show()
    qtbot.waitExposed(chart)
    chart.show_run(("BTCUSDT", "one-shot"))
    return chart


def drag(qtbot: QtBot, chart: CandleChart, pixels: int) -> None:
    """Drag the price plot ``pixels`` to the right with the left mouse button, as a trader pans."""
    viewport = chart.graphics.viewport()
    start = viewport.rect().center()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 6):
        qtbot.mouseMove(viewport, start + QPoint(pixels * step // 5, 0))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(pixels, 0))


def test_the_live_chart_follows_new_candles_until_the_trader_drags_it_and_follow_resumes(qtbot: QtBot) -> None:
    live = live_chart(qtbot)
    chart = live.chart
    assert chart.is_following() and chart.follow_button.isVisible() and chart.follow_button.isChecked()
    live.set_candles(flat_candles(0, 300))
    assert view_of(chart) == [60.0, 302.0]  # the newest bar (299) and the right margin
    live.set_candles(flat_candles(0, 301))
    assert view_of(chart) == [61.0, 303.0]  # the new candle came into view, same zoom

    drag(qtbot, chart, 200)
    assert not chart.is_following() and not chart.follow_button.isChecked()
    assert chart.follow_button.text() == "Follow"
    dragged = view_of(chart)
    assert dragged[1] < 300  # the drag showed older bars
    shown = chart.visible_time_range()
    live.set_candles(flat_candles(1, 301))  # a new candle, the window slid by one
    assert chart.visible_time_range() == shown  # the view stays where the trader put it

    qtbot.mouseClick(chart.follow_button, Qt.MouseButton.LeftButton)
    assert chart.is_following() and chart.follow_button.isChecked()
    assert chart.follow_button.text() == "Following"
    assert view_of(chart) == [61.0, 303.0]  # back at the newest bar, with the trader's zoom
    live.set_candles(flat_candles(2, 302))
    assert view_of(chart) == [62.0, 304.0]


def test_a_key_zoom_stops_following_and_end_resumes_it(qtbot: QtBot) -> None:
    live = live_chart(qtbot)
    chart = live.chart
    live.set_candles(flat_candles(0, 300))
    qtbot.keyClick(chart, Qt.Key.Key_Plus)
    assert not chart.is_following()
    assert view_of(chart) == [84.2, 277.8]  # 0.8 of the 242 bars around the centre
    live.set_candles(flat_candles(0, 310))
    assert view_of(chart) == [84.2, 277.8]
    qtbot.keyClick(chart, Qt.Key.Key_End)
    assert view_of(chart) == [118.4, 312.0]  # the newest bar (309) at the right edge, the zoom kept
    assert chart.is_following() and chart.follow_button.text() == "Following"


def test_a_new_run_is_followed_again(qtbot: QtBot) -> None:
    live = live_chart(qtbot)
    live.set_candles(flat_candles(0, 300))
    qtbot.keyClick(live.chart, Qt.Key.Key_Left)
    assert not live.chart.is_following()
    live.show_run(("ETHUSDT", "one-shot"))
    assert live.chart.is_following()


# -- edge markers ------------------------------------------------------------------------------------------------


def signal_row(take_profit: float = 50000.0, stop_loss: float = 41580.0) -> ws.SignalRow:
    return ws.SignalRow(
        id="sig-1",
        position="long",
        note="",
        price_open=42000.0,
        price_take_profit=take_profit,
        price_stop_loss=stop_loss,
        minute_estimated_time=120,
        symbol="BTCUSDT",
        exchange_name="ladder",
        strategy_name="one-shot",
        frame_name="",
        scheduled_at=T0 + 10 * MIN,
        pending_at=T0 + 10 * MIN,
        is_scheduled=False,
    )


@pytest.mark.parametrize("palette", THEMES)
def test_a_take_profit_above_the_view_is_written_at_its_top_edge(qtbot: QtBot, palette: ChartPalette) -> None:
    """A take profit 19 % above the entry is not fitted into the price axis: a marker at the top edge says it."""
    live = live_chart(qtbot, palette)
    live.set_candles(flat_candles(0, 300))
    live.set_signal(signal_row(take_profit=50000.0))
    live.set_price(42005.0)
    image = grab(live, f"edge_marker_{palette.background[1:]}")
    assert live.edge_markers.shown() == {"take_profit": ("top", "▲ TP 50000.00")}
    marker = live.edge_markers.marker("take_profit")
    assert marker is not None
    box = live.chart.price_plot.getViewBox()
    top = box.sceneBoundingRect().top()
    assert abs(marker.sceneBoundingRect().top() - top) <= 1.0  # hanging from the top edge
    first, last = box.viewRange()[0]
    label_x = box.mapViewToScene(QPointF(first + (last - first) * EXIT_LABEL_POSITION, 0.0)).x()
    assert abs(marker.sceneBoundingRect().right() - label_x) <= 1.0  # where the line's label would be
    corner = marker.sceneBoundingRect().center().toPoint()
    at = live.chart.graphics.mapTo(live, live.chart.graphics.mapFromScene(corner))
    wanted = QColor(palette.take_profit)
    assert any(
        image.pixelColor(at.x() + dx, at.y() + dy) == wanted for dx in range(-30, 31) for dy in range(-6, 7)
    )  # written in the take profit's colour

    qtbot.keyClick(live.chart, Qt.Key.Key_Minus)  # zooming does not bring 50000 into view: still marked
    assert live.edge_markers.shown() == {"take_profit": ("top", "▲ TP 50000.00")}
    live.set_signal(signal_row(take_profit=42420.0))  # a take profit in view has its line, no marker
    QApplication.processEvents()
    assert live.edge_markers.shown() == {}
    live.set_signal(signal_row(take_profit=50000.0, stop_loss=30000.0))
    QApplication.processEvents()
    assert live.edge_markers.shown() == {
        "take_profit": ("top", "▲ TP 50000.00"),
        "stop_loss": ("bottom", "▼ SL 30000.00"),
    }
    grab(live, f"edge_markers_both_{palette.background[1:]}")
    live.set_signal(None)
    assert live.edge_markers.shown() == {}


def test_price_pane_guide_levels_and_a_new_timeframe_stay_in_log_scale(qtbot: QtBot) -> None:
    """A guide level declared on the price pane stands at log10 of its price, also when added in log scale; the
    candles of another timeframe are drawn in log scale too (the price axis spans log10 of their range)."""
    ws.add_strategy(
        strategy_name="guided",
        interval="1m",
        get_signal=lambda symbol, when: None,
        indicators=ws.IndicatorSpec(
            compute=lambda candles: {"Close": candles["close"].astype(float)},
            lines=(ws.IndicatorLine(name="Close", levels=(200.0,)),),
        ),
    )
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.resize(900, 600)
    chart.show()
    candles = candles_at([100.0] * 30 + [1000.0] * 30)
    chart.set_candles(candles)
    chart.set_indicators(ws.strategy_indicators("guided", candles))
    (guide,) = [item for item in chart.price_plot.items if isinstance(item, LevelLine)]
    assert guide.value() == 200.0
    chart.set_log_scale(True)
    assert guide.value() == math.log10(200.0)
    chart.set_indicators(ws.strategy_indicators("guided", candles))  # new lines, added in log scale
    (guide,) = [item for item in chart.price_plot.items if isinstance(item, LevelLine)]
    assert guide.value() == math.log10(200.0)

    chart.set_timeframe(5)
    chart.show_all()
    QApplication.processEvents()
    low, high = chart.price_plot.getViewBox().viewRange()[1]
    assert math.log10(100.0 / 1.02) - 0.2 < low < math.log10(100.0 / 1.02)
    assert math.log10(1000.0 * 1.02) < high < math.log10(1000.0 * 1.02) + 0.2


def test_end_resumes_following_the_newest_trade_of_a_running_backtest(qtbot: QtBot) -> None:
    chart = CandleChart()
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.show()
    chart.set_candles(candles_at([100.0] * 1000))
    chart.set_following(True)
    assert not chart.follow_button.isVisible()  # a backtest's chart follows its trades while it runs, no button
    qtbot.keyClick(chart, Qt.Key.Key_Left)
    assert not chart.is_following()
    chart.set_marks(one_long(490, 100.0, 101.0, 99.0, exit_bar=500))
    assert view_of(chart) == [735.8, 977.8]  # where the trader put it
    qtbot.keyClick(chart, Qt.Key.Key_End)
    assert chart.is_following()
    assert view_of(chart) == [318.5, 560.5]  # the newest exit (bar 500) at three quarters of the 242 bars

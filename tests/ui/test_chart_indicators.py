"""A strategy's indicators on the candle chart: lines in their colours, panes with guide levels, the legend, the
crosshair readout, the timeframe and the level of detail, read off the chart's pixels."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from mouse import hover
from pixels import painted
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE, LIGHT_PALETTE, CandleChart, ChartPalette
from ui.charts.indicators import round_range
from ui.themes import warning_colour

SHOTS = Path("/tmp/ui_shots")
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MIN = 60_000


def candles_of(count: int) -> np.ndarray:
    """A slow sine of 1m candles around 100 (a known value at every bar)."""
    candles = np.zeros(count, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = T0 + np.arange(count, dtype=np.int64) * MIN
    close = 100.0 + 5.0 * np.sin(np.arange(count) / 40.0)
    candles["open"] = np.concatenate(([100.0], close[:-1]))
    candles["close"] = close
    candles["high"] = np.maximum(candles["open"], close) + 0.2
    candles["low"] = np.minimum(candles["open"], close) - 0.2
    candles["volume"] = 1.0
    return candles


def lines(candles: np.ndarray) -> dict[str, np.ndarray]:
    """A line under the lows, and an oscillator from 0 to 100 with no value for its first 10 bars."""
    oscillator = 50.0 + 45.0 * np.cos(np.arange(len(candles)) / 25.0)
    oscillator[:10] = np.nan
    return {"Floor": candles["low"] - 1.0, "Osc": oscillator}


async def no_signal(symbol: str, when: datetime) -> None:
    return None


def values_for(candles: np.ndarray) -> ws.IndicatorValues:
    ws.add_strategy(
        strategy_name="drawn",
        interval="1m",
        get_signal=no_signal,
        indicators=ws.IndicatorSpec(
            compute=lines,
            lines=(ws.IndicatorLine(name="Floor"), ws.IndicatorLine(name="Osc", pane="Osc", levels=(20.0, 80.0))),
        ),
    )
    return ws.strategy_indicators("drawn", candles)


def shown_chart(qtbot: QtBot, palette: ChartPalette = DARK_PALETTE) -> CandleChart:
    chart = CandleChart(palette=palette)
    qtbot.addWidget(chart)
    chart.resize(1200, 760)
    chart.show()
    qtbot.waitExposed(chart)
    return chart


def pixel_in(chart: CandleChart, plot_name: str, x: float, y: float) -> QPoint:
    """Where the point (bar, value) of the price plot or of pane ``plot_name`` lands in ``chart.graphics.grab()``."""
    plot = chart.price_plot if plot_name == "price" else chart.indicators.panes[plot_name]
    scene = plot.getViewBox().mapViewToScene(QPointF(x, y))
    return chart.graphics.mapFromScene(scene)


def colour_near(image: QImage, point: QPoint, color: str, radius: int = 2) -> bool:
    wanted = QColor(color)
    return any(
        image.pixelColor(point.x() + dx, point.y() + dy) == wanted
        for dx in range(-radius, radius + 1)
        for dy in range(-radius, radius + 1)
    )


@pytest.mark.parametrize(("palette", "theme"), [(DARK_PALETTE, "dark"), (LIGHT_PALETTE, "light")])
def test_a_price_line_and_a_pane_with_dashed_levels_are_drawn_in_their_colours(
    qtbot: QtBot, palette: ChartPalette, theme: str
) -> None:
    candles = candles_of(600)
    chart = shown_chart(qtbot, palette)
    chart.set_candles(candles)
    chart.set_indicators(values_for(candles))
    chart.price_plot.getViewBox().setXRange(300, 420, padding=0)
    qtbot.wait(50)
    image = chart.graphics.grab().toImage()
    SHOTS.mkdir(exist_ok=True)
    image.save(str(SHOTS / f"chart_indicators_{theme}.png"))

    floor, osc = chart.indicators.items["Floor"], chart.indicators.items["Osc"]
    assert (floor.color, osc.color) == palette.indicators[:2]
    assert list(chart.indicators.panes) == ["Osc"]
    assert colour_near(image, pixel_in(chart, "price", 360, float(candles["low"][360]) - 1.0), floor.color)
    oscillator = 50.0 + 45.0 * np.cos(360 / 25.0)
    assert colour_near(image, pixel_in(chart, "Osc", 360, oscillator), osc.color)
    # The guide levels: dashed lines across the pane in the foreground colour.
    for level in (20.0, 80.0):
        start, end = pixel_in(chart, "Osc", 300, level), pixel_in(chart, "Osc", 420, level)
        shares = []
        for row in range(start.y() - 1, start.y() + 2):  # the mapped height lies within a pixel of the line
            on = [image.pixelColor(x, row) == QColor(palette.foreground) for x in range(start.x(), end.x())]
            shares.append(sum(on) / len(on))
        assert 0.3 < max(shares) < 0.9  # dashes: painted and gaps


def test_the_legend_hides_a_line_and_brings_it_back(qtbot: QtBot) -> None:
    candles = candles_of(600)
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_indicators(values_for(candles))
    chart.show_readout(300)
    colour = chart.indicators.items["Floor"].color
    assert painted(chart.graphics.grab().toImage(), colour) > 200

    chart.indicators.legend.boxes["Floor"].setChecked(False)

    assert painted(chart.graphics.grab().toImage(), colour) == 0
    assert not chart.indicators.is_shown("Floor")
    assert "Floor" not in chart.readout.text()
    chart.indicators.legend.boxes["Floor"].setChecked(True)
    assert painted(chart.graphics.grab().toImage(), colour) > 200
    assert chart.readout.text().endswith("UTC\nFloor 103.45  Osc 87.973")  # low 104.45 - 1; 50 + 45 cos(300/25)


def test_the_crosshair_readout_shows_each_lines_value_under_the_mouse(qtbot: QtBot) -> None:
    candles = candles_of(600)
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_indicators(values_for(candles))
    chart.price_plot.getViewBox().setXRange(0, 120, padding=0)
    qtbot.wait(50)

    hover(chart.graphics, pixel_in(chart, "price", 5, 100.0))
    assert chart.readout.text() == (
        "O 100.50  H 100.82  L 100.30  C 100.62  V 1.00  2024-01-01 00:05 UTC\nFloor 99.299  Osc –"
    )
    hover(chart.graphics, pixel_in(chart, "Osc", 50, 50.0))
    assert chart.readout.text().endswith("UTC\nFloor 103.50  Osc 31.273")  # 50 + 45 cos(50/25)
    assert chart.indicators.cross_lines[0].isVisible() and chart.indicators.cross_lines[0].value() == 50


def test_the_timeframe_shows_each_bars_last_value(qtbot: QtBot) -> None:
    candles = candles_of(600)
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    values = values_for(candles)
    chart.set_indicators(values)

    chart.set_timeframe(15)

    floor = values.series[0].values
    assert chart.indicators.items["Floor"].values().tolist() == floor[14::15].tolist()
    chart.show_readout(3)
    assert chart.readout.text().endswith("00:45 UTC\nFloor 103.76  Osc 18.059")  # the bar of 00:45 ends at minute 59
    chart.set_timeframe(1)
    assert chart.indicators.items["Floor"].values() is floor


def test_a_million_bars_are_drawn_one_min_max_stroke_per_pixel_column_keeping_a_spike(qtbot: QtBot) -> None:
    candles = candles_of(1_000_000)
    spike = np.full(len(candles), 104.0)
    spike[612_345] = 160.0  # one bar: at full view it shares a pixel column with about a thousand others
    ws.add_strategy(
        strategy_name="spiky",
        interval="1m",
        get_signal=no_signal,
        indicators=ws.IndicatorSpec(compute=lambda c: {"Spike": spike}, lines=(ws.IndicatorLine(name="Spike"),)),
    )
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_indicators(ws.strategy_indicators("spiky", candles))
    chart.show_all()
    qtbot.wait(50)
    image = chart.graphics.grab().toImage()

    item = chart.indicators.items["Spike"]
    assert item.last_bucket_size >= 512
    assert item.segment_count() < 2 * chart.price_plot.width()  # two per bucket: down its range, on to the next
    assert colour_near(image, pixel_in(chart, "price", 612_345, 155.0), item.color)


def test_problems_are_shown_above_the_chart_and_the_good_lines_drawn(qtbot: QtBot) -> None:
    candles = candles_of(100)
    ws.add_strategy(
        strategy_name="half-bad",
        interval="1m",
        get_signal=no_signal,
        indicators=ws.IndicatorSpec(
            compute=lambda c: {"Good": c["close"] + 1.0, "Short": np.zeros(3)},
            lines=(ws.IndicatorLine(name="Good"), ws.IndicatorLine(name="Short")),
        ),
    )
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_indicators(ws.strategy_indicators("half-bad", candles))
    assert chart.indicators.problems_label.isVisible()
    assert chart.indicators.problems_label.text() == (
        'strategy "half-bad", indicator "Short": has 3 values for 100 candles; not drawn'
    )
    assert list(chart.indicators.items) == ["Good"]
    assert list(chart.indicators.legend.boxes) == ["Good"]
    label = chart.indicators.problems_label
    assert painted(label.grab().toImage(), warning_colour(label.palette())) > 20


def test_new_indicators_replace_the_old_panes_and_lines(qtbot: QtBot) -> None:
    candles = candles_of(600)
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_indicators(values_for(candles))
    volume_height = chart.volume_plot.height()

    chart.set_indicators(ws.IndicatorValues())

    assert (chart.indicators.items, chart.indicators.panes) == ({}, {})
    assert not chart.indicators.legend.isVisible()
    assert not chart.indicators.problems_label.isVisible()
    assert [item for item in chart.price_plot.items if type(item).__name__ == "IndicatorLineItem"] == []
    qtbot.waitUntil(lambda: chart.volume_plot.height() < volume_height)  # the pane's room goes back to the others


def test_in_log_scale_a_price_line_is_drawn_at_the_log_of_its_values(qtbot: QtBot) -> None:
    candles = candles_of(600)
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_log_scale(True)
    chart.set_indicators(values_for(candles))  # lines added in log scale are drawn in it
    chart.price_plot.getViewBox().setXRange(300, 420, padding=0)
    qtbot.wait(50)
    floor = chart.indicators.items["Floor"]
    image = chart.graphics.grab().toImage()
    assert colour_near(
        image, pixel_in(chart, "price", 360, chart.price_y(float(candles["low"][360]) - 1.0)), floor.color
    )

    chart.set_log_scale(False)
    qtbot.wait(50)
    image = chart.graphics.grab().toImage()
    assert colour_near(image, pixel_in(chart, "price", 360, float(candles["low"][360]) - 1.0), floor.color)


def test_a_theme_switch_recolours_the_lines_but_not_one_with_its_own_colour(qtbot: QtBot) -> None:
    candles = candles_of(300)
    ws.add_strategy(
        strategy_name="coloured",
        interval="1m",
        get_signal=no_signal,
        indicators=ws.IndicatorSpec(
            compute=lambda c: {"Own": c["low"] - 1.0, "Themed": c["high"] + 1.0},
            lines=(ws.IndicatorLine(name="Own", color="#00ff00"), ws.IndicatorLine(name="Themed")),
        ),
    )
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_indicators(ws.strategy_indicators("coloured", candles))
    assert painted(chart.graphics.grab().toImage(), DARK_PALETTE.indicators[0]) > 100

    chart.set_palette(LIGHT_PALETTE)

    image = chart.graphics.grab().toImage()
    assert chart.indicators.items["Themed"].color == LIGHT_PALETTE.indicators[0]
    assert painted(image, DARK_PALETTE.indicators[0]) == 0
    assert painted(image, LIGHT_PALETTE.indicators[0]) > 100
    assert painted(image, "#00ff00") > 100


def test_new_values_of_the_same_lines_keep_the_panes_and_what_the_trader_hid(qtbot: QtBot) -> None:
    candles = candles_of(600)
    chart = shown_chart(qtbot)
    chart.set_candles(candles[:599])
    chart.set_indicators(values_for(candles[:599]))
    pane, item = chart.indicators.panes["Osc"], chart.indicators.items["Floor"]
    chart.indicators.legend.boxes["Floor"].setChecked(False)

    # A live chart's next candle: the candles and the indicators again, one longer.
    chart.set_candles(candles)
    chart.set_indicators(ws.strategy_indicators("drawn", candles))

    assert chart.indicators.panes["Osc"] is pane and chart.indicators.items["Floor"] is item
    assert len(item.values()) == 600 and item.values()[599] == candles["low"][599] - 1.0
    assert not chart.indicators.is_shown("Floor")
    assert not chart.indicators.legend.boxes["Floor"].isChecked()

    chart.set_indicators(ws.IndicatorValues(series=values_for_other(candles)))
    assert list(chart.indicators.items) == ["Floor"]
    assert not chart.indicators.is_shown("Floor")  # still the trader's choice for a line of that name


def values_for_other(candles: np.ndarray) -> tuple[ws.IndicatorSeries, ...]:
    return (ws.IndicatorSeries("Floor", "price", (), candles["low"] - 2.0),)


def test_the_overview_steps_build_the_lines_levels_before_the_full_view_needs_them(qtbot: QtBot) -> None:
    candles = candles_of(200_000)
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_indicators(values_for(candles))
    floor = chart.indicators.items["Floor"]
    assert floor.computed_levels() == [1]

    steps = list(chart.overview_steps())

    widest = max(chart.candle_item._levels.computed_levels())
    assert widest >= 128
    assert floor.computed_levels() == [2**power for power in range(widest.bit_length())]
    assert len(steps) == 3 * (widest.bit_length() - 1)  # the candles' level, then each line's, per bucket size
    chart.show_all()
    chart.grab()
    assert floor.last_bucket_size == widest
    assert floor.computed_levels()[-1] == widest  # the full view built nothing more


@pytest.mark.parametrize(
    ("low", "high", "fitted"),
    [(3.0, 97.0, (0.0, 100.0)), (412.0, 548.0, (400.0, 550.0)), (50.0, 50.0, (45.0, 55.0)), (0.0, 0.0, (-0.5, 0.5))],
)
def test_a_panes_value_axis_is_fitted_to_round_values(low: float, high: float, fitted: tuple[float, float]) -> None:
    assert round_range(low, high) == fitted


def test_a_pane_keeps_its_value_axis_while_its_lines_stay_within_it(qtbot: QtBot) -> None:
    candles = candles_of(2000)
    chart = shown_chart(qtbot)
    chart.set_candles(candles)
    chart.set_indicators(values_for(candles))  # Osc: 5 to 95 (50 + 45 cos), levels 20 and 80
    box = chart.indicators.panes["Osc"].getViewBox()
    chart.price_plot.getViewBox().setXRange(1000, 1400, padding=0)
    shown = box.viewRange()[1]
    assert shown == pytest.approx([0.5, 99.5])  # 5 to 95 (multiples of 5, half of 10) and 5 % padding
    for start in range(1010, 1400, 10):
        chart.price_plot.getViewBox().setXRange(start, start + 400, padding=0)
        assert box.viewRange()[1] == shown


def smas(candles: np.ndarray) -> dict[str, np.ndarray]:
    """Two price lines of BTC-sized values, as sma-cross-market draws them."""
    return {"SMA fast": candles["close"] * 1.0, "SMA slow": candles["close"] - 10.0}


def test_a_live_chart_s_readout_with_two_lines_shows_every_value_whole(qtbot: QtBot) -> None:
    """At a live chart's width in the 1440 px window the readout ran past the chart's edge and cut "SMA slow 42…".

    The lines' values are a second line of the readout: each line fits its width, and the chart does not widen.
    """
    chart = CandleChart(palette=DARK_PALETTE, follows="newest candle")
    qtbot.addWidget(chart)
    chart.resize(1000, 600)
    chart.show()
    qtbot.waitExposed(chart)
    candles = candles_of(600)
    for field in ("open", "high", "low", "close"):
        candles[field] += 42_000.0
    candles["volume"] = 1_234.5
    ws.add_strategy(
        strategy_name="two smas",
        interval="1m",
        get_signal=no_signal,
        indicators=ws.IndicatorSpec(
            compute=smas, lines=(ws.IndicatorLine(name="SMA fast"), ws.IndicatorLine(name="SMA slow"))
        ),
    )
    chart.set_candles(candles)
    chart.set_indicators(ws.strategy_indicators("two smas", candles))
    chart.show_readout(0)
    qtbot.wait(20)
    chart.grab().save(str(SHOTS / "live_readout_two_lines.png"))
    assert chart.readout.text() == (
        "O 42100.00  H 42100.20  L 42099.80  C 42100.00  V 1,234.50  2024-01-01 00:00 UTC\n"
        "SMA fast 42100.00  SMA slow 42090.00"
    )
    metrics = chart.readout.fontMetrics()
    for line in chart.readout.text().split("\n"):
        assert metrics.horizontalAdvance(line) <= chart.readout.width(), line
    assert chart.readout.height() >= 2 * metrics.lineSpacing()
    assert chart.width() == 1000 and chart.minimumSizeHint().width() < 1000

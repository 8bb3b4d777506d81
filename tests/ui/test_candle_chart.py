"""The candle chart: resampling, view control, level-of-detail and what its pixels show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE, LIGHT_PALETTE, CandleChart, ChartPalette, SignalMarks, resample

SHOTS = Path("/tmp/ui_shots")
T0 = 1_704_103_200_000  # 2024-01-01 10:00 UTC
MIN = 60_000
START = 1_704_067_200_000


def candles_of(prices: list[tuple[float, float, float, float, float]], start: int = T0) -> np.ndarray:
    candles = np.zeros(len(prices), dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = start + np.arange(len(prices)) * MIN
    for column, name in enumerate(("open", "high", "low", "close", "volume")):
        candles[name] = [row[column] for row in prices]
    return candles


def random_walk(count: int, seed: int = 7, start: int = T0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, count)))
    open_ = np.concatenate(([100.0], close[:-1]))
    candles = np.zeros(count, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = start + np.arange(count, dtype=np.int64) * MIN
    candles["open"], candles["close"] = open_, close
    candles["high"] = np.maximum(open_, close) * (1 + rng.random(count) * 0.001)
    candles["low"] = np.minimum(open_, close) * (1 - rng.random(count) * 0.001)
    candles["volume"] = rng.random(count) * 10
    return candles


def shown_chart(qtbot: QtBot, palette: ChartPalette = DARK_PALETTE, size: tuple[int, int] = (1200, 700)) -> CandleChart:
    chart = CandleChart(palette=palette)
    qtbot.addWidget(chart)
    chart.resize(*size)
    chart.show()
    qtbot.waitExposed(chart)
    return chart


def pixel_of(chart: CandleChart, x: float, y: float) -> QPoint:
    """Where the price-plot point (bar index, price) lands in ``chart.grab()``."""
    scene = chart.price_plot.getViewBox().mapViewToScene(QPointF(x, y))
    return chart.graphics.mapTo(chart, chart.graphics.mapFromScene(scene))


def has_colour_near(image: QImage, point: QPoint, color: str, radius: int = 3) -> bool:
    wanted = QColor(color)
    return any(
        image.pixelColor(point.x() + dx, point.y() + dy) == wanted
        for dx in range(-radius, radius + 1)
        for dy in range(-radius, radius + 1)
    )


# -- resample ------------------------------------------------------------------------------------------------


def test_resample_to_5m_aligns_buckets_to_the_epoch_with_exact_values() -> None:
    # 10:03 … 10:12: the first bucket (10:00) holds 10:03 and 10:04 only; 10:10 bucket holds 10:10…10:12.
    prices = [(float(10 + i), float(20 + i), float(5 + i), float(11 + i), float(i + 1)) for i in range(10)]
    candles = candles_of(prices, start=T0 + 3 * MIN)
    candles.flags.writeable = False
    five = resample(candles, 5)
    assert five["timestamp"].tolist() == [T0, T0 + 5 * MIN, T0 + 10 * MIN]
    assert five["open"].tolist() == [10.0, 12.0, 17.0]
    assert five["high"].tolist() == [21.0, 26.0, 29.0]
    assert five["low"].tolist() == [5.0, 7.0, 12.0]
    assert five["close"].tolist() == [12.0, 17.0, 20.0]
    assert five["volume"].tolist() == [3.0, 25.0, 27.0]


def test_resample_leaves_gaps_out_and_one_minute_is_a_copy() -> None:
    candles = candles_of([(1, 2, 0.5, 1.5, 1), (2, 3, 1, 2.5, 2)], start=T0)
    candles["timestamp"][1] = T0 + 180 * MIN  # three hours later
    hourly = resample(candles, 60)
    assert hourly["timestamp"].tolist() == [T0, T0 + 180 * MIN]
    assert hourly["close"].tolist() == [1.5, 2.5]
    same = resample(candles, 1)
    assert same.tolist() == candles.tolist()
    assert not np.shares_memory(same, candles)
    assert len(resample(candles[:0], 15)) == 0
    with pytest.raises(ValueError, match="at least 1"):
        resample(candles, 0)


def test_resample_to_a_day_matches_a_plain_reduction() -> None:
    candles = random_walk(3 * 1440 + 17)
    daily = resample(candles, 1440)
    assert len(daily) == 4
    second_day = candles[
        (candles["timestamp"] >= daily["timestamp"][1]) & (candles["timestamp"] < daily["timestamp"][2])
    ]
    assert daily["high"][1] == second_day["high"].max()
    assert daily["low"][1] == second_day["low"].min()
    assert daily["open"][1] == second_day["open"][0]
    assert daily["close"][1] == second_day["close"][-1]
    assert daily["volume"][1] == pytest.approx(second_day["volume"].sum(), rel=1e-12)


# -- view control --------------------------------------------------------------------------------------------


def test_center_on_keeps_the_zoom_and_centres_the_time(qtbot: QtBot) -> None:
    chart = shown_chart(qtbot)
    chart.set_candles(random_walk(5000))
    box = chart.price_plot.getViewBox()
    box.setXRange(100, 400, padding=0)
    target = T0 + 3000 * MIN
    chart.center_on(target)
    first, last = box.viewRange()[0]
    assert last - first == pytest.approx(300)
    assert (first + last) / 2 == pytest.approx(3000)
    left, right = chart.visible_time_range()
    assert (left + right) // 2 == target
    assert right - left == 300 * MIN


def test_keys_pan_by_a_tenth_and_zoom_around_the_centre(qtbot: QtBot) -> None:
    chart = shown_chart(qtbot)
    chart.set_candles(random_walk(5000))
    box = chart.price_plot.getViewBox()
    box.setXRange(1000, 2000, padding=0)
    qtbot.keyClick(chart, Qt.Key.Key_Right)
    assert box.viewRange()[0] == pytest.approx([1100, 2100])
    qtbot.keyClick(chart.graphics, Qt.Key.Key_Left)  # the plot area, focused after a click, pans too
    assert box.viewRange()[0] == pytest.approx([1000, 2000])
    qtbot.keyClick(chart, Qt.Key.Key_Plus)
    assert box.viewRange()[0] == pytest.approx([1100, 1900])
    qtbot.keyClick(chart, Qt.Key.Key_Minus)
    assert box.viewRange()[0] == pytest.approx([1000, 2000])


def test_a_timeframe_change_keeps_marks_at_their_times(qtbot: QtBot) -> None:
    chart = shown_chart(qtbot)
    chart.set_candles(random_walk(600))
    entry = T0 + 7 * MIN  # 10:07
    chart.set_marks(
        SignalMarks(
            position_ids=np.array(["a"]),
            entry_time=np.array([entry]),
            entry_price=np.array([100.0]),
            is_long=np.array([True]),
            take_profit=np.array([101.0]),
            stop_loss=np.array([99.0]),
            exit_time=np.array([float(T0 + 62 * MIN)]),
            exit_price=np.array([101.0]),
            pnl_percentage=np.array([0.8]),
            close_reason=np.array(["take_profit"]),
        )
    )
    chart.center_on(T0 + 300 * MIN)
    span_minutes = np.diff(chart.visible_time_range())[0]
    chart.timeframe_box.setCurrentIndex(chart.timeframe_box.findText("5m"))  # as the user picks it
    assert chart.timeframe_minutes() == 5
    entry_bar = int(chart.marks_layer.entries_long.data["x"][0])
    assert chart.candles()["timestamp"][entry_bar] == T0 + 5 * MIN  # the 10:05 bar holds 10:07
    assert chart.marks_layer.exits_win.data["x"][0] == 12  # 11:02 is in the 11:00 bar, the 13th
    assert np.diff(chart.visible_time_range())[0] == pytest.approx(span_minutes, abs=5 * MIN)
    chart.set_timeframe(60)
    assert chart.candles()["timestamp"][int(chart.marks_layer.entries_long.data["x"][0])] == T0
    with pytest.raises(ValueError, match="unsupported timeframe"):
        chart.set_timeframe(7)


def test_the_readout_and_the_time_axis_speak_utc(qtbot: QtBot) -> None:
    chart = shown_chart(qtbot)
    chart.set_candles(candles_of([(100, 110, 95, 105, 12.5)] * 3 + [(42000.5, 42010.25, 41990, 42001, 3.25)]))
    chart.show_readout(3)
    assert chart.readout.text() == "O 42000.50  H 42010.25  L 41990.00  C 42001.00  V 3.25  2024-01-01 10:03 UTC"
    chart.set_candles(random_walk(300))
    ticks = chart.time_axis.tickValues(0, 299, 1100)
    values = ticks[0][1]
    labels = chart.time_axis.tickStrings(values, 1.0, ticks[0][0])
    assert labels[:3] == ["10:00", "10:30", "11:00"]  # 300 minutes over ~10 labels: every 30


# -- level of detail and pixels ------------------------------------------------------------------------------


def test_a_million_candles_draw_as_pixel_columns_without_per_candle_items(qtbot: QtBot) -> None:
    chart = shown_chart(qtbot, size=(1600, 900))
    count = 1_000_000
    chart.set_candles(random_walk(count))
    chart.price_plot.getViewBox().setXRange(0, count - 1, padding=0)
    image = chart.grab().toImage()
    image.save(str(SHOTS / "chart_million.png"))
    item = chart.candle_item
    assert item.last_bucket_size >= count // 1600  # one bucket per pixel column, not one line per candle
    assert all(k & (k - 1) == 0 for k in item._levels.computed_levels())
    # Each stroke is one path for all the buckets of one colour.
    assert len(item._strokes) == 2
    assert sum(stroke.path.elementCount() for stroke in item._strokes) <= 2 * 2 * 1600
    assert len(chart.price_plot.getViewBox().addedItems) < 20
    centre = pixel_of(chart, count / 2, float(np.median(chart.candles()["close"])))
    assert image.pixelColor(centre).isValid()


def test_up_and_down_candles_and_a_winning_trade_have_their_colours(qtbot: QtBot) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for palette, name in ((DARK_PALETTE, "dark"), (LIGHT_PALETTE, "light")):
        chart = shown_chart(qtbot, palette)
        prices = [(104.0, 105.0, 103.0, 104.5, 2.0)] * 30
        prices[10] = (100.0, 111.0, 99.0, 110.0, 5.0)  # up
        prices[11] = (110.0, 111.0, 99.0, 100.0, 5.0)  # down
        chart.set_candles(candles_of(prices))
        chart.set_marks(
            SignalMarks(
                position_ids=np.array(["w"]),
                entry_time=np.array([T0 + 15 * MIN]),
                entry_price=np.array([101.0]),
                is_long=np.array([True]),
                take_profit=np.array([109.5]),
                stop_loss=np.array([100.5]),
                exit_time=np.array([float(T0 + 27 * MIN)]),
                exit_price=np.array([109.0]),
                pnl_percentage=np.array([7.7]),
                close_reason=np.array(["take_profit"]),
            )
        )
        chart.price_plot.getViewBox().setXRange(-0.5, 29.5, padding=0)
        QApplication.processEvents()
        image = chart.grab().toImage()
        image.save(str(SHOTS / f"chart_pixels_{name}.png"))
        assert image.pixelColor(pixel_of(chart, 10, 105.0)) == QColor(palette.up)
        assert image.pixelColor(pixel_of(chart, 11, 105.0)) == QColor(palette.down)
        assert has_colour_near(image, pixel_of(chart, 21, 105.0), palette.win)
        assert has_colour_near(image, pixel_of(chart, 20, 109.5), palette.take_profit)
        assert has_colour_near(image, pixel_of(chart, 20, 100.5), palette.stop_loss)
        assert image.pixelColor(pixel_of(chart, 5, 108.0)) == QColor(palette.background)


def test_zoomed_chart_with_tp_sl_and_a_cancelled_limit_order(qtbot: QtBot) -> None:
    chart = shown_chart(qtbot, size=(1400, 800))
    candles = random_walk(400, seed=11)
    chart.set_candles(candles)
    close = candles["close"]
    entries = np.array([40, 120, 250])
    exits = np.array([90, 170, 300])
    is_long = np.array([True, False, True])
    direction = np.where(is_long, 1.0, -1.0)
    created = np.array([190, 320])
    chart.set_marks(
        SignalMarks(
            position_ids=np.array(["a", "b", "c"]),
            entry_time=candles["timestamp"][entries],
            entry_price=close[entries],
            is_long=is_long,
            take_profit=close[entries] * (1 + 0.004 * direction),
            stop_loss=close[entries] * (1 - 0.003 * direction),
            exit_time=candles["timestamp"][exits].astype(np.float64),
            exit_price=close[exits],
            pnl_percentage=(close[exits] / close[entries] - 1) * 100 * direction,
            close_reason=np.array(["time_expired"] * 3),
            limit_ids=np.array(["l1", "l2"]),
            limit_created=candles["timestamp"][created],
            limit_ended=candles["timestamp"][[240, 360]].astype(np.float64),
            limit_price=close[created] * 0.998,
            limit_is_long=np.array([True, True]),
            limit_filled=np.array([False, False]),
            limit_cancel_reason=np.array(["timeout", "price_reject"]),
        )
    )
    chart.price_plot.getViewBox().setXRange(20, 380, padding=0)
    chart.show_readout(200)
    image = chart.grab().toImage()
    image.save(str(SHOTS / "chart_zoomed_tp_sl_limit.png"))
    assert chart.marks_layer.reason_labels() == ["timeout", "price_reject"]
    assert has_colour_near(image, pixel_of(chart, 215, float(close[190] * 0.998)), DARK_PALETTE.limit)


def test_show_all_fits_every_bar_into_the_view(qtbot: QtBot) -> None:
    chart = CandleChart()
    qtbot.addWidget(chart)
    candles = np.zeros(5000, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = START + np.arange(5000) * MIN
    candles["open"] = candles["close"] = 100.0
    candles["high"], candles["low"] = 101.0, 99.0
    chart.set_candles(candles)
    first, last = chart.visible_time_range()
    assert first > START  # a new chart shows its latest bars

    chart.show_all()

    first, last = chart.visible_time_range()
    assert first <= START
    assert last >= START + 4999 * MIN


def test_show_span_keeps_a_zoom_that_shows_the_trade_and_zooms_in_on_a_sliver(qtbot: QtBot) -> None:
    chart = shown_chart(qtbot)
    chart.set_candles(random_walk(5000))
    box = chart.price_plot.getViewBox()
    box.setXRange(100, 400, padding=0)
    chart.show_span(T0 + 2980 * MIN, T0 + 3019 * MIN)  # 40 bars in a 300-bar view: kept, centred
    first, last = box.viewRange()[0]
    assert (first, last) == (pytest.approx(2849.5), pytest.approx(3149.5))
    box.setXRange(0, 4999, padding=0)
    chart.show_span(T0 + 2980 * MIN, T0 + 3019 * MIN)  # 40 bars in the whole 5,000: a third of the view
    first, last = box.viewRange()[0]
    assert (first, last) == (pytest.approx(2939.5), pytest.approx(3059.5))
    chart.show_span(T0 + 3000 * MIN, T0 + 3004 * MIN)  # 5 bars, a sliver of 120: at least 60 bars in view
    first, last = box.viewRange()[0]
    assert (first, last) == (pytest.approx(2972.0), pytest.approx(3032.0))


def test_an_empty_chart_shows_no_axis_values_until_it_has_candles(qtbot: QtBot) -> None:
    """With no live run the price and volume axes both spanned 0-1: the volume's "1.0" sat on the price's "0".

    Without candles neither axis writes values; with candles both do, and they go again when the candles do.
    """
    chart = CandleChart(palette=DARK_PALETTE, follows="newest candle")
    qtbot.addWidget(chart)
    chart.resize(1380, 380)
    chart.show()
    qtbot.waitExposed(chart)
    axes = [chart.price_plot.getAxis("right"), chart.volume_plot.getAxis("right")]
    SHOTS.mkdir(parents=True, exist_ok=True)
    chart.grab().save(str(SHOTS / "empty_chart_axes.png"))
    assert [axis.style["showValues"] for axis in axes] == [False, False]
    chart.set_candles(random_walk(300))
    chart.grab().save(str(SHOTS / "filled_chart_axes.png"))
    assert [axis.style["showValues"] for axis in axes] == [True, True]
    chart.set_candles(np.empty(0, dtype=ws.CANDLE_DTYPE))
    assert [axis.style["showValues"] for axis in axes] == [False, False]

"""The candle chart of a run tab: price with trade marks, volume below, a crosshair readout and a timeframe choice.

The x axis of both panes is the bar index of the current timeframe, not time: bars sit one unit apart whatever gaps
the data has, and the axis labels map indices back to UTC times. Marks keep their times and are placed on the bar
that contains them each time the timeframe changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

import workstation as ws
from ui.charts.aggregate import MINUTE_MS, TIMEFRAMES, resample
from ui.charts.candle_item import (
    DARK_PALETTE,
    CandleItem,
    CandleLevels,
    ChartPalette,
    VolumeItem,
    bucket_size,
    cosmetic_pen,
)
from ui.charts.indicators import ChartIndicators
from ui.charts.log_scale import PriceAxis, log_prices, price_y
from ui.charts.marks import SignalMarks
from ui.charts.marks_items import SignalMarksLayer
from ui.themes import set_frame_colours

DAY_MS = 1440 * MINUTE_MS
#: Tick spacings the time axis may use, in minutes; months and years are calendar steps below.
TICK_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720, 1440, 2 * 1440, 7 * 1440, 14 * 1440)
TICK_MONTHS = (1, 3, 6, 12, 24, 60)
#: Pixels wanted between two time labels.
TICK_PIXELS = 110
#: Bars shown when candles arrive: the latest ones, zoomed in enough to read candles.
INITIAL_BARS = 240
PAN_FRACTION = 0.10
#: A trade shown (:meth:`CandleChart.show_span`) narrower than this share of the view is zoomed in on.
SLIVER_SHARE = 1 / 20
#: A trade zoomed in on fills this share of the view, and the view shows at least ``SPAN_MIN_BARS`` bars.
SPAN_SHARE = 1 / 3
SPAN_MIN_BARS = 60
ZOOM_FACTOR = 0.8
MIN_VISIBLE_BARS = 8
#: Empty bars right of the last candle, so that it is not cut by the price axis.
RIGHT_MARGIN_BARS = 3
#: While following a run, the view moves when the newest trade nears its edges and puts that trade here (a fraction
#: of the view from its left edge): the trades before it stay in view, and the view moves once every few hundred
#: bars rather than on every batch (each move repaints the chart).
FOLLOW_AT = 0.75
#: How close (a fraction of the view) to an edge the newest trade may come before the view moves.
FOLLOW_MARGIN = 0.05

#: What a following chart keeps in view: a backtest's newest closed trade (its candles are all there from the
#: start), or a live run's newest candle (its trades happen at the newest candles anyway).
FollowTarget = Literal["newest trade", "newest candle"]


def _utc(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)


def format_price(price: float) -> str:
    """Format a price with enough decimals for its size (2 for 42000.5, 6 for 0.001234)."""
    if not math.isfinite(price) or price == 0:
        return f"{price:.2f}"
    decimals = max(2, 4 - math.floor(math.log10(abs(price))))
    return f"{price:.{decimals}f}"


class TimeAxis(pg.AxisItem):  # type: ignore[misc]
    """A bottom axis over bar indices that labels round UTC times (10:00, 10:15, Jan 02, 2024-02-01)."""

    def __init__(self) -> None:
        super().__init__(orientation="bottom")
        self._timestamps = np.empty(0, dtype=np.int64)
        self._minutes = 1
        self._step_ms = MINUTE_MS

    def set_timestamps(self, timestamps: np.ndarray, minutes: int) -> None:
        """Label bars with these open times (epoch ms) of ``minutes``-long candles."""
        self._timestamps = timestamps
        self._minutes = minutes
        self.picture = None
        self.update()

    def tickValues(
        self,
        minVal: float,
        maxVal: float,
        size: float,
    ) -> list[tuple[float, list[float]]]:
        """Place ticks on the first bar at or after each round time in view."""
        stamps = self._timestamps
        count = len(stamps)
        first, last = max(0, math.ceil(minVal)), min(count - 1, math.floor(maxVal))
        if count == 0 or last < first:
            return []
        t0, t1 = int(stamps[first]), int(stamps[last])
        wanted = max(1.0, size / TICK_PIXELS)
        span_minutes = max((t1 - t0) / MINUTE_MS, float(self._minutes))
        times = self._round_times(t0, t1, span_minutes / wanted)
        bars = np.unique(np.searchsorted(stamps, times))
        bars = bars[(bars >= first) & (bars <= last)]
        return [(float(self._step_ms), bars.astype(np.float64).tolist())]

    def _round_times(self, t0: int, t1: int, minutes_per_tick: float) -> np.ndarray:
        for step in TICK_MINUTES:
            if step >= minutes_per_tick and step >= self._minutes:
                self._step_ms = step * MINUTE_MS
                # Weeks start on Monday: the epoch is a Thursday, Monday 1970-01-05 is 4 days later.
                offset = 4 * DAY_MS if step % (7 * 1440) == 0 else 0
                start = -(-(t0 - offset) // self._step_ms) * self._step_ms + offset
                result: np.ndarray = np.arange(start, t1 + 1, self._step_ms, dtype=np.int64)
                return result
        months_per_tick = minutes_per_tick / (30.44 * 1440)
        months = next((m for m in TICK_MONTHS if m >= months_per_tick), TICK_MONTHS[-1])
        self._step_ms = months * 30 * DAY_MS
        first_month = np.datetime64(t0, "ms").astype("datetime64[M]").astype(np.int64)
        first_month = -(-first_month // months) * months
        last_month = np.datetime64(t1, "ms").astype("datetime64[M]").astype(np.int64)
        month_starts = np.arange(first_month, last_month + 1, months).astype("datetime64[M]")
        calendar: np.ndarray = month_starts.astype("datetime64[ms]").astype(np.int64)
        return calendar

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        """Write each tick's time: the date for daily and longer steps, else the time (the date at midnight)."""
        stamps = self._timestamps
        if len(stamps) == 0:
            return ["" for _ in values]
        labels = []
        for value in values:
            moment = _utc(int(stamps[min(len(stamps) - 1, max(0, round(value)))]))
            if spacing >= DAY_MS:
                labels.append(moment.strftime("%Y-%m-%d"))
            elif moment.hour == 0 and moment.minute == 0:
                labels.append(moment.strftime("%b %d"))
            else:
                labels.append(moment.strftime("%H:%M"))
        return labels


class CandleChart(QWidget):
    """Candles of one symbol with the trades of a run, a volume pane, a crosshair readout and a timeframe box.

    Call :meth:`set_candles` (1m candles) first, then :meth:`set_marks` as often as the run produces results.
    Keys: Left/Right pan by a tenth of the view, +/- zoom around its centre, End follows the newest again, L switches
    the price axis between linear and log scale (also the header's Log box).

    While following (:meth:`set_following`), the view keeps ``follows`` in view: each :meth:`set_marks` the newest
    closed trade, or (a live chart, whose owner puts each new candle at the right edge while :meth:`is_following`)
    the newest candle; the trader moving the view (mouse drag or wheel, keys, :meth:`center_on`) stops following,
    End or the header's Follow button (shown when following the newest candle) resumes it.
    """

    #: The bar under the mouse as a dict (timestamp, open, high, low, close, volume), or None off the data.
    crosshair_moved = Signal(object)
    #: Whether prices are drawn in log scale now: items drawn over the candles place their prices with
    #: :meth:`price_y` again.
    log_scale_changed = Signal(bool)

    def __init__(
        self,
        parent: QWidget | None = None,
        palette: ChartPalette = DARK_PALETTE,
        follows: FollowTarget = "newest trade",
    ) -> None:
        super().__init__(parent)
        self._palette = palette
        self._minute_candles = np.empty(0, dtype=ws.CANDLE_DTYPE)
        self._candles = self._minute_candles
        self._timestamps = np.empty(0, dtype=np.int64)
        self._levels = CandleLevels(self._candles)
        self._minutes = 1
        self._marks = SignalMarks()
        self._following = False
        self._follows: FollowTarget = follows
        self._log_scale = False
        self._readout_bar = -1

        self.timeframe_box = QComboBox()
        for label, minutes in TIMEFRAMES:
            self.timeframe_box.addItem(label, minutes)
        self.timeframe_box.currentIndexChanged.connect(self._on_timeframe_chosen)
        self.readout = QLabel()
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # With a strategy's indicators the readout grows long: it never widens the chart (its values take a second
        # line instead).
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.log_scale_box = QCheckBox("Log")
        self.log_scale_box.setToolTip("Logarithmic price scale (L)")
        self.log_scale_box.toggled.connect(self.set_log_scale)
        self.follow_button = QToolButton()
        self.follow_button.setText("Follow")
        self.follow_button.setCheckable(True)
        self.follow_button.setToolTip("Keep the newest candle in view (End); moving the view stops it")
        self.follow_button.clicked.connect(self.set_following)
        self.follow_button.setVisible(follows == "newest candle")
        header = QHBoxLayout()
        header.addWidget(self.timeframe_box)
        header.addWidget(self.log_scale_box)
        header.addWidget(self.follow_button)
        header.addWidget(self.readout, 1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.installEventFilter(self)
        self.time_axis = TimeAxis()
        self.price_axis = PriceAxis()
        self.price_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=0, axisItems={"right": self.price_axis})
        self.volume_plot: pg.PlotItem = self.graphics.addPlot(row=1, col=0, axisItems={"bottom": self.time_axis})
        self.graphics.ci.layout.setRowStretchFactor(0, 4)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self.graphics.ci.layout.setVerticalSpacing(0)
        for plot in (self.price_plot, self.volume_plot):
            plot.hideAxis("left")
            plot.showAxis("right")
            plot.getAxis("right").setWidth(70)
            plot.getAxis("right").setStyle(showValues=False)  # until there are candles (see _show_timeframe)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            box = plot.getViewBox()
            box.setMouseEnabled(x=True, y=False)
            box.enableAutoRange(x=False, y=True)
            box.setAutoVisible(y=True)
        self.price_plot.hideAxis("bottom")
        self.volume_plot.setXLink(self.price_plot)

        self.candle_item = CandleItem(palette)
        self.volume_item = VolumeItem(palette)
        self.price_plot.addItem(self.candle_item)
        self.volume_plot.addItem(self.volume_item)
        self.marks_layer = SignalMarksLayer(self.price_plot, palette)
        self.indicators = ChartIndicators(self.graphics, self.price_plot, self.volume_plot, palette)
        header.insertWidget(header.indexOf(self.readout), self.indicators.legend)
        self.indicators.legend.toggled.connect(lambda _name, _shown: self._refresh_readout())

        self._cross_x = pg.InfiniteLine(angle=90, movable=False)
        self._cross_y = pg.InfiniteLine(angle=0, movable=False)
        self._cross_volume = pg.InfiniteLine(angle=90, movable=False)
        for plot, line in (
            (self.price_plot, self._cross_x),
            (self.price_plot, self._cross_y),
            (self.volume_plot, self._cross_volume),
        ):
            line.setZValue(10)
            line.setVisible(False)  # until the mouse is over the plots
            plot.addItem(line, ignoreBounds=True)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.price_plot.getViewBox().sigXRangeChanged.connect(self._on_x_range_changed)
        for plot in (self.price_plot, self.volume_plot):
            # Emitted for the mouse's drags and wheel turns only, not for the ranges set here.
            plot.getViewBox().sigRangeChangedManually.connect(self._on_view_moved_by_user)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.indicators.problems_label)
        layout.addWidget(self.graphics, 1)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # A plain QWidget paints no style sheet background unless asked to.
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.set_palette(palette)

    # -- public API ------------------------------------------------------------------------------------------

    def set_candles(self, candles: np.ndarray) -> None:
        """Show these oldest-first 1m candles (``ws.CANDLE_DTYPE``, never written) in the current timeframe."""
        self._minute_candles = candles
        self._show_timeframe(self._minutes)
        count = len(self._candles)
        self._set_x_range(count - INITIAL_BARS, count - 1 + RIGHT_MARGIN_BARS)
        if count:
            self.show_readout(count - 1)

    def set_indicators(self, values: ws.IndicatorValues) -> None:
        """Draw a strategy's indicators (computed over the candles of :meth:`set_candles`), replacing any before.

        Lines of the ``price`` pane go over the candles; each other pane is drawn below them, linked on time, with
        its guide levels dashed. Every line is re-aggregated with the timeframe (the value of each bar's last
        minute), has a check box in the legend and its value in the crosshair readout; ``values.problems`` are
        shown above the chart.
        """
        self.indicators.set_values(values)
        self.indicators.set_timeframe(self._minute_candles["timestamp"], self._minutes)
        self._refresh_readout()

    @property
    def marks(self) -> SignalMarks:
        """Return the trade marks the chart shows (the last :meth:`set_marks`)."""
        return self._marks

    def set_marks(self, marks: SignalMarks) -> None:
        """Replace every trade mark; cheap enough to call on each batch of a running backtest.

        While following, the view then moves, keeping its zoom, if the newest closed trade's exit is near or past
        one of its edges.
        """
        self._marks = marks
        self._place_marks()
        if self._following and self._follows == "newest trade":
            self._follow_newest_trade()

    def set_following(self, following: bool) -> None:
        """Keep the newest closed trade or candle in view from now on (True, moving the view there), or leave the
        view alone."""
        self._set_following(following)
        if not following:
            return
        if self._follows == "newest trade":
            self._follow_newest_trade()
        elif len(self._candles):
            first, last = self._x_range()
            right = len(self._candles) - 1 + RIGHT_MARGIN_BARS
            self._set_x_range(right - (last - first), right)

    def is_following(self) -> bool:
        """Tell whether the view follows the newest closed trade or candle (the trader has not moved it since)."""
        return self._following

    def set_log_scale(self, log_scale: bool) -> None:
        """Draw prices in log scale (True: equal price ratios are equal heights) or linear scale."""
        if log_scale == self._log_scale:
            return
        self._log_scale = log_scale
        self.log_scale_box.setChecked(log_scale)
        self.price_axis.set_log_scale(log_scale)
        # pyqtgraph's own items (PlotDataItem) transform themselves, including those added later: its PlotItem
        # tells them the state of this box. Not through PlotItem.setLogMode, which would also auto-range the time.
        with QSignalBlocker(self.price_plot.ctrl.logYCheck):
            self.price_plot.ctrl.logYCheck.setChecked(log_scale)
        for item in self.price_plot.items:
            if hasattr(item, "setLogMode"):
                item.setLogMode(False, log_scale)
        self.marks_layer.set_log_scale(log_scale)
        # The crosshair's price line stays on the price under the mouse.
        crossed = float(self._cross_y.value())
        if not log_scale:
            self._cross_y.setPos(10.0**crossed)
        elif crossed > 0:
            self._cross_y.setPos(math.log10(crossed))
        self._show_levels()
        self._place_marks()
        self.log_scale_changed.emit(log_scale)

    def is_log_scale(self) -> bool:
        """Tell whether prices are drawn in log scale."""
        return self._log_scale

    def price_y(self, price: float) -> float:
        """Return the height in the price plot at which ``price`` is drawn now (log10 of it in log scale)."""
        return price_y(price, self._log_scale)

    def set_timeframe(self, minutes: int) -> None:
        """Re-aggregate to ``minutes`` (1, 5, 15, 60, 240 or 1440), keeping the time in the middle and the time span."""
        index = self.timeframe_box.findData(minutes)
        if index < 0:
            raise ValueError(f"unsupported timeframe {minutes} minutes; choose one of {[m for _, m in TIMEFRAMES]}")
        if index != self.timeframe_box.currentIndex():
            self.timeframe_box.setCurrentIndex(index)  # emits, and _on_timeframe_chosen re-aggregates

    def timeframe_minutes(self) -> int:
        """Return the length of one bar in minutes."""
        return self._minutes

    def overview_steps(self) -> Iterator[None]:
        """Build, one per step, the coarse levels a view of every bar will draw; the caller yields between steps.

        Drawing the whole range needs buckets of up to hundreds of bars; built all at once for a year of 1m
        candles that is tens of ms of work in one go, which a running GUI should not spend between two frames.
        The indicator lines' levels are built the same way, a line per step.
        """
        widest = bucket_size(len(self._candles) / max(1, self.price_plot.width()))
        bars_per_bucket = 2
        while bars_per_bucket <= widest:
            self._levels.level(bars_per_bucket)
            yield
            for item in self.indicators.items.values():
                item.prepare_level(bars_per_bucket)
                yield
            bars_per_bucket *= 2

    def show_all(self) -> None:
        """Fit every bar into the view (the overview of a finished run)."""
        count = len(self._candles)
        if count:
            self._set_x_range(-0.5, count - 1 + RIGHT_MARGIN_BARS)

    def center_on(self, timestamp_ms: int) -> None:
        """Put the bar holding ``timestamp_ms`` in the middle of the view, keeping the zoom (bars in view).

        This is the trader's choice of view (a trade clicked): the view stops following the newest trade.
        """
        self._set_following(False)
        if len(self._candles) == 0:
            return
        first, last = self._x_range()
        half = (last - first) / 2
        middle = self._bar_of_time(timestamp_ms)
        self._set_x_range(middle - half, middle + half)

    def show_span(self, start_ms: int, end_ms: int) -> None:
        """Put the bars from ``start_ms`` to ``end_ms`` (a trade) in the middle of the view.

        The zoom is kept while the trade takes a fair part of the view; a trade that would be a sliver in it (a
        two-hour trade in a month's view) is zoomed in on, so that it takes a third of the view. Like
        :meth:`center_on`, the view then stops following the newest trade.
        """
        self._set_following(False)
        if len(self._candles) == 0:
            return
        first, last = self._x_range()
        start, end = self._bar_of_time(start_ms), self._bar_of_time(end_ms)
        span = end - start + 1
        width = last - first
        if span < width * SLIVER_SHARE:
            width = max(span / SPAN_SHARE, SPAN_MIN_BARS)
        middle = (start + end) / 2
        self._set_x_range(middle - width / 2, middle + width / 2)

    def visible_time_range(self) -> tuple[int, int]:
        """Return the times (epoch ms) at the left and right edges of the view."""
        first, last = self._x_range()
        return self._time_at(first), self._time_at(last)

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour the chart (dark or light theme)."""
        self._palette = palette
        self.graphics.setBackground(palette.background)
        for plot in (self.price_plot, self.volume_plot):
            for side in ("right", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(palette.foreground))
                axis.setTextPen(pg.mkPen(palette.foreground))
        cross = cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DotLine)
        for line in (self._cross_x, self._cross_y, self._cross_volume):
            line.setPen(cross)
        self.candle_item.set_palette(palette)
        self.volume_item.set_palette(palette)
        self.marks_layer.set_palette(palette)
        self.indicators.set_palette(palette)
        set_frame_colours(self, palette.background, palette.foreground)

    def entry_marker_count(self) -> int:
        """Return the number of entry markers drawn (one per opened position)."""
        return self.marks_layer.entry_count()

    def exit_marker_count(self) -> int:
        """Return the number of exit markers drawn (one per closed position)."""
        return self.marks_layer.exit_count()

    def candles(self) -> np.ndarray:
        """Return the candles drawn now, in the current timeframe."""
        return self._candles

    def bar_of_time(self, timestamp_ms: int) -> int:
        """Return the index of the bar that contains ``timestamp_ms`` (clamped to the data)."""
        return self._bar_of_time(timestamp_ms)

    # -- keys ------------------------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handle_key(event.key()):
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The plot area has the focus after a click; its own key handling would swallow the chart's keys.
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self._handle_key(event.key())
        return False

    def _handle_key(self, key: int) -> bool:
        if key == Qt.Key.Key_End:
            self.set_following(True)
            return True
        if key == Qt.Key.Key_L:
            self.set_log_scale(not self._log_scale)
            return True
        first, last = self._x_range()
        span = last - first
        middle = (first + last) / 2
        if key == Qt.Key.Key_Left:
            self._set_x_range(first - span * PAN_FRACTION, last - span * PAN_FRACTION)
        elif key == Qt.Key.Key_Right:
            self._set_x_range(first + span * PAN_FRACTION, last + span * PAN_FRACTION)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            half = span * ZOOM_FACTOR / 2
            self._set_x_range(middle - half, middle + half)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            half = span / ZOOM_FACTOR / 2
            self._set_x_range(middle - half, middle + half)
        else:
            return False
        self._set_following(False)
        return True

    # -- internals -------------------------------------------------------------------------------------------

    def _on_timeframe_chosen(self, index: int) -> None:
        minutes = int(self.timeframe_box.itemData(index))
        if minutes == self._minutes:
            return
        middle_time = self._time_at(sum(self._x_range()) / 2)
        first, last = self._x_range()
        span_minutes = (last - first) * self._minutes
        self._show_timeframe(minutes)
        if len(self._candles):
            middle = self._bar_of_time(middle_time)
            half = span_minutes / minutes / 2
            self._set_x_range(middle - half, middle + half)

    def _show_timeframe(self, minutes: int) -> None:
        self._minutes = minutes
        # The 1m candles are drawn as given (never written), sparing a copy of a possibly huge array.
        self._candles = self._minute_candles if minutes == 1 else resample(self._minute_candles, minutes)
        # searchsorted copies a strided column on every call: keep one contiguous copy of the times.
        self._timestamps = np.ascontiguousarray(self._candles["timestamp"])
        self._show_levels()
        self.time_axis.set_timestamps(self._timestamps, minutes)
        self.indicators.set_timeframe(self._minute_candles["timestamp"], minutes)
        count = len(self._candles)
        for plot in (self.price_plot, self.volume_plot):
            # Without candles the axes' default 0-1 ranges put the volume's "1.0" on the price's "0": no values.
            plot.getAxis("right").setStyle(showValues=count > 0)
            if count == 0:
                continue
            plot.getViewBox().setLimits(
                xMin=-0.5 - count * 0.05,
                xMax=count - 0.5 + count * 0.05,
                minXRange=MIN_VISIBLE_BARS,
            )
        self._place_marks()

    def _show_levels(self) -> None:
        drawn = log_prices(self._candles) if self._log_scale else self._candles
        levels = self._levels = CandleLevels(drawn)
        self.candle_item.set_levels(levels)
        self.volume_item.set_levels(levels)

    def _on_view_moved_by_user(self, _mask: object) -> None:
        self._set_following(False)

    def _set_following(self, following: bool) -> None:
        self._following = following
        self.follow_button.setChecked(following)
        # A checked tool button looks much like an unchecked one in some styles: the text says it too.
        self.follow_button.setText("Following" if following else "Follow")

    def _follow_newest_trade(self) -> None:
        exits = self._marks.exit_time
        closed = exits[~np.isnan(exits)]
        if len(closed) == 0 or len(self._candles) == 0:
            return
        bar = self._bar_of_time(int(closed.max()))
        first, last = self._x_range()
        span = last - first
        if first + span * FOLLOW_MARGIN <= bar <= last - span * FOLLOW_MARGIN:
            return
        left = bar - span * FOLLOW_AT
        self._set_x_range(left, left + span)

    def _place_marks(self) -> None:
        count = len(self._candles)
        if count == 0:
            self.marks_layer.set_marks(SignalMarks(), self._bars_of_times, 0, math.nan)
            return
        self.marks_layer.set_marks(self._marks, self._bars_of_times, count - 1, float(self._candles["close"][-1]))

    def _bars_of_times(self, times: np.ndarray) -> np.ndarray:
        # Integer needles: float ones would make numpy convert the whole int64 haystack (a year: 525,600) each call.
        bars = np.searchsorted(self._timestamps, times.astype(np.int64), side="right") - 1
        result: np.ndarray = np.clip(bars, 0, max(0, len(self._candles) - 1))
        return result

    def _bar_of_time(self, timestamp_ms: int) -> int:
        return int(self._bars_of_times(np.array([timestamp_ms], dtype=np.float64))[0])

    def _time_at(self, bar: float) -> int:
        """Time at a fractional bar index, extrapolated by the timeframe beyond the data."""
        stamps = self._candles["timestamp"]
        if len(stamps) == 0:
            return 0
        nearest = min(len(stamps) - 1, max(0, math.floor(bar)))
        return int(stamps[nearest]) + round((bar - nearest) * self._minutes * MINUTE_MS)

    def _x_range(self) -> tuple[float, float]:
        first, last = self.price_plot.getViewBox().viewRange()[0]
        return float(first), float(last)

    def _set_x_range(self, first: float, last: float) -> None:
        self.price_plot.getViewBox().setXRange(first, last, padding=0)

    def _on_x_range_changed(self, _box: object, x_range: tuple[float, float]) -> None:
        self.marks_layer.set_x_range(float(x_range[0]), float(x_range[1]))

    def _on_mouse_moved(self, position: QPointF) -> None:
        box = self.price_plot.getViewBox()
        count = len(self._candles)
        plots = (self.price_plot, self.volume_plot, *self.indicators.panes.values())
        if count == 0 or not any(plot.sceneBoundingRect().contains(position) for plot in plots):
            return
        point = box.mapSceneToView(position)
        verticals = (self._cross_x, self._cross_volume, *self.indicators.cross_lines)
        bar = min(count - 1, max(0, round(point.x())))
        for line in verticals:
            line.setVisible(True)
            line.setPos(bar)
        self._cross_y.setVisible(True)
        self._cross_y.setPos(point.y())
        self.show_readout(bar)

    def show_readout(self, bar: int) -> None:
        """Write the OHLCV and time of ``bar`` in the readout and emit :attr:`crosshair_moved`."""
        self._readout_bar = bar
        candle = self._candles[bar]
        stamp = int(candle["timestamp"])
        # The indicators' values are a second line: on one line with the bar's a strategy's lines ran past the
        # chart's edge at the window's width and were cut mid-number.
        indicators = "  ".join(
            f"{name} {'–' if math.isnan(value) else format_price(value)}"
            for name, value in self.indicators.values_at(bar)
        )
        self.readout.setText(
            f"O {format_price(float(candle['open']))}  H {format_price(float(candle['high']))}  "
            f"L {format_price(float(candle['low']))}  C {format_price(float(candle['close']))}  "
            f"V {float(candle['volume']):,.2f}  {_utc(stamp).strftime('%Y-%m-%d %H:%M')} UTC"
            + (f"\n{indicators}" if indicators else "")
        )
        self.crosshair_moved.emit({name: candle[name].item() for name in ws.CANDLE_DTYPE.names or ()})

    def _refresh_readout(self) -> None:
        if 0 <= self._readout_bar < len(self._candles):
            self.show_readout(self._readout_bar)

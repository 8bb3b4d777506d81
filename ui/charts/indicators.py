"""A strategy's indicators on the candle chart: lines over the candles, panes of their own below, a legend.

Each line is drawn like the candles (DESIGN §3.15, ``candle_item``): only the bars in view, and when a bar is
narrower than a pixel, one min–max stroke per bucket of ``k`` bars (``k`` a power of two) from levels computed once
per timeframe, so a million candles with several lines pan as smoothly as the candles alone. The values are
re-aggregated with the chart's timeframe: a bar shows the value of its last minute (what the indicator said when
the bar closed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.PlotCurveItem import arrayToLineSegments
from pyqtgraph.Qt import internals as qt_internals
from PySide6.QtCore import QLineF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QTransform
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QStyleOptionGraphicsItem, QWidget

import workstation as ws
from ui.charts.aggregate import bucket_bounds
from ui.charts.candle_item import ChartPalette, bucket_size, cosmetic_pen
from ui.charts.log_scale import LevelLine, price_y
from ui.widgets.status_label import StatusLabel

#: Zoomed in to single bars, an indicator line is drawn this many times, each one pixel below the last: a line this
#: thick at the cost of as many 1-pixel ones. Qt strokes a wider pen through its general path stroker, which takes
#: seconds for the zigzag of a thousand min/max strokes (measured: 5 s at 2 px against 6 ms at 1 px for a full view
#: of a million bars). Zoomed out, the min/max strokes of neighbouring pixel columns make a solid band at 1 pixel.
LINE_PIXELS = 2
#: Above the candles (0), below the trade marks (1 and up).
LINE_Z = 0.5
#: Stretch of the price pane, of each indicator pane and of the volume pane (Qt shares out the room above each
#: pane's preferred height: at 500 pixels these give the panes 226, 129 and 102).
PRICE_STRETCH = 4
PANE_STRETCH = 3
VOLUME_STRETCH = 1


def _halve(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge neighbouring buckets' extremes pairwise, NaN ignored (an odd last bucket stays alone)."""
    pairs = len(low) // 2
    first, second = slice(0, 2 * pairs, 2), slice(1, 2 * pairs, 2)
    merged_low = np.fmin(low[first], low[second])
    merged_high = np.fmax(high[first], high[second])
    if len(low) % 2:
        merged_low, merged_high = np.append(merged_low, low[-1]), np.append(merged_high, high[-1])
    return merged_low, merged_high


class LineLevels:
    """The lowest and highest value of one line per bucket of ``k`` bars, ``k`` = 1, 2, 4, …, computed on first use."""

    def __init__(self, values: np.ndarray) -> None:
        self.count = len(values)
        #: The (lowest, highest) per bucket of each ``k`` built so far.
        self.levels: dict[int, tuple[np.ndarray, np.ndarray]] = {1: (values, values)}

    def level(self, bars_per_bucket: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (lowest, highest) per bucket of ``bars_per_bucket`` bars (NaN: no value in the bucket)."""
        found = self.levels.get(bars_per_bucket)
        if found is None:
            found = self.levels[bars_per_bucket] = _halve(*self.level(bars_per_bucket // 2))
        return found

    def value_range(self, first_bar: float, last_bar: float) -> tuple[float, float] | None:
        """Return (lowest, highest) value of the bars from ``first_bar`` to ``last_bar``, or None if none has one."""
        start = max(0, math.floor(first_bar))
        stop = min(self.count, math.ceil(last_bar) + 1)
        if stop <= start:
            return None
        # A coarse level keeps auto-ranging O(pixels), as for the candles.
        k = bucket_size((stop - start) / 4096)
        low, high = self.level(k)
        lows, highs = low[start // k : -(-stop // k)], high[start // k : -(-stop // k)]
        if np.isnan(lows).all():
            return None
        return float(np.nanmin(lows)), float(np.nanmax(highs))


class IndicatorLineItem(pg.GraphicsObject):  # type: ignore[misc]
    """One indicator line, x in bar index, drawn with min/max level of detail; NaN values leave a gap."""

    def __init__(self, series: ws.IndicatorSeries, color: str) -> None:
        super().__init__()
        self.series = series
        self.color = color
        self._values = np.empty(0)
        self._log_scale = False
        self._levels = LineLevels(self._values)
        self._bounds = QRectF()
        self._cache_key: tuple[int, int, int] | None = None
        self._segments = qt_internals.PrimitiveArray(QLineF, 4)
        #: The bucket size of the last paint (tests check the level of detail, not timings).
        self.last_bucket_size = 0
        self.setZValue(LINE_Z)

    def set_values(self, values: np.ndarray) -> None:
        """Draw these values, one per bar of the chart's timeframe."""
        self._values = values
        self._relevel()

    def values(self) -> np.ndarray:
        """Return the values drawn, one per bar."""
        return self._values

    def prepare_level(self, bars_per_bucket: int) -> None:
        """Build the min/max buckets of ``bars_per_bucket`` bars now (see ``CandleChart.overview_steps``)."""
        self._levels.level(bars_per_bucket)

    def computed_levels(self) -> list[int]:
        """Return the ``k`` of every min/max level built so far (tests check the structure, not timings)."""
        return sorted(self._levels.levels)

    def set_color(self, color: str) -> None:
        """Draw the line in ``color``."""
        self.color = color
        self.update()

    def setLogMode(self, x: bool, y: bool) -> None:
        """Draw log10 of the values (a price pane in log scale) or the values."""
        if y != self._log_scale:
            self._log_scale = y
            self._relevel()

    def _relevel(self) -> None:
        self.prepareGeometryChange()
        drawn = self._values
        if self._log_scale:
            with np.errstate(invalid="ignore", divide="ignore"):
                drawn = np.where(drawn > 0, np.log10(drawn), np.nan)
        self._levels = LineLevels(drawn)
        # fmin/fmax pass over NaN without a copy of the values; they give NaN only when every value is NaN.
        low, high = (float(np.fmin.reduce(drawn)), float(np.fmax.reduce(drawn))) if len(drawn) else (np.nan, np.nan)
        extremes = [] if math.isnan(low) else [low, high]
        extremes += self._drawn_levels()
        if extremes:
            low, high = min(extremes), max(extremes)
            self._bounds = QRectF(-0.5, low, float(len(drawn)), high - low)
        else:
            self._bounds = QRectF()
        self._cache_key = None
        self.update()

    def _drawn_levels(self) -> list[float]:
        """The heights of the line's guide levels (log10 of them in log scale)."""
        return [price_y(level, self._log_scale) for level in self.series.levels]

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def dataBounds(
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: tuple[float, float] | None = None,
    ) -> tuple[float, float] | None:
        """Let the view box fit the value axis to the values in view and the line's guide levels."""
        if self._levels.count == 0:
            return None
        if ax == 0:
            return -0.5, self._levels.count - 0.5
        first, last = orthoRange if orthoRange is not None else (0, self._levels.count - 1)
        shown = self._levels.value_range(first, last)
        extremes = [*(shown or ()), *self._drawn_levels()]
        return (min(extremes), max(extremes)) if extremes else None

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        count = self._levels.count
        view = self.viewRect()
        pixels_per_bar = abs(painter.deviceTransform().m11())
        if count == 0 or view is None or pixels_per_bar == 0:
            return
        k = bucket_size(1.0 / pixels_per_bar)
        start = max(0, math.floor(view.left()) - 1)
        stop = min(count, math.ceil(view.right()) + 2)
        if stop <= start:
            return
        first_bucket, end_bucket = start // k, -(-stop // k)
        key = (k, first_bucket, end_bucket)
        if key != self._cache_key:
            self._build(k, first_bucket, end_bucket)
            self._cache_key = key
        self.last_bucket_size = k
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(cosmetic_pen(self.color))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        transform = painter.transform()
        for pixel in range(LINE_PIXELS if k == 1 else 1):
            painter.setTransform(transform * QTransform.fromTranslate(0, pixel))
            painter.drawLines(*self._segments.drawargs())
        painter.setTransform(transform)

    def segment_count(self) -> int:
        """Return the number of line segments of the last drawing."""
        return len(self._segments)

    def _build(self, k: int, first_bucket: int, end_bucket: int) -> Any:
        low, high = self._levels.level(k)
        low, high = low[first_bucket:end_bucket], high[first_bucket:end_bucket]
        first_bar = (first_bucket + np.arange(len(low))) * k
        x = (first_bar + np.minimum(first_bar + k, self._levels.count) - 1) / 2.0
        # Segments written straight into an array of QLineF (pyqtgraph's own curves do the same): Qt draws these
        # several times faster than one long polyline, and no QPainterPath is built on each pan.
        if k == 1:
            # Between neighbouring bars that both have a value (a NaN leaves a gap).
            return arrayToLineSegments(x, low, connect="finite", finiteCheck=True, out=self._segments)
        xs, ys = _column_strokes(x, low, high)
        return arrayToLineSegments(xs, ys, connect="pairs", finiteCheck=True, out=self._segments)


def _column_strokes(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the point pairs that draw buckets of a line narrower than two pixels: per bucket, a vertical stroke over
    its range, and a short step over from the bucket before.

    The vertical stroke reaches to the bucket before where the line jumped past it (a steep rise or fall stays
    unbroken), and the step is level at the bucket before's middle, held within this stroke (a flat line is a flat
    line). A noisy line fills each pixel column once, half the pixels of a zigzag through every low and high (which
    the raster engine pays for: 4 ms against 2 ms a line at full view).
    """
    before_low = np.concatenate(([np.nan], low[:-1]))
    before_high = np.concatenate(([np.nan], high[:-1]))
    bottom, top = np.fmin(low, before_high), np.fmax(high, before_low)
    step = np.clip((before_low + before_high) / 2, bottom, top)
    before_x = np.concatenate(([np.nan], x[:-1]))
    # A bucket without a value has NaN in low: its stroke and its step are left out (finiteCheck drops the pairs).
    bottom[np.isnan(low)] = np.nan
    xs = np.column_stack((x, x, before_x, x)).ravel()
    ys = np.column_stack((bottom, top, step, step)).ravel()
    return xs, ys


def _swatch(color: str) -> QIcon:
    pixmap = QPixmap(16, 4)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class IndicatorLegend(QWidget):
    """A check box per indicator line, with a sample of its colour: unchecking one hides the line."""

    toggled = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, QCheckBox] = {}

    def set_lines(self, lines: list[tuple[str, str]]) -> None:
        """Offer these (name, colour) lines, each shown."""
        for box in self.boxes.values():
            self._layout.removeWidget(box)
            box.deleteLater()
        self.boxes = {}
        for name, color in lines:
            box = QCheckBox(name)
            box.setChecked(True)
            box.setIcon(_swatch(color))
            box.setToolTip(f"Show or hide {name}")
            box.toggled.connect(lambda shown, name=name: self.toggled.emit(name, shown))
            self._layout.addWidget(box)
            self.boxes[name] = box
        self.setVisible(bool(lines))

    def recolour(self, colours: dict[str, str]) -> None:
        """Give each line's sample its colour now."""
        for name, color in colours.items():
            self.boxes[name].setIcon(_swatch(color))


def _layout_of(values: ws.IndicatorValues) -> list[tuple[str, str, tuple[float, ...], str | None]]:
    """What decides a chart's items, panes and legend: each line's name, pane, levels and colour."""
    return [(series.name, series.pane, series.levels, series.color) for series in values.series]


def round_range(low: float, high: float) -> tuple[float, float]:
    """Widen ``low``…``high`` to multiples of half the power of ten below its span.

    3–97 becomes 0–100 and 412–548 becomes 400–550; a single value gets a step on either side (50 is 45–55).
    """
    span = high - low or abs(high) or 1.0
    step = 10.0 ** math.floor(math.log10(span)) / 2
    bottom, top = math.floor(low / step) * step, math.ceil(high / step) * step
    return (bottom - step, top + step) if bottom == top else (bottom, top)


class ChartIndicators:
    """The indicators of one candle chart: their items, their panes between the candles and the volume, the legend.

    The chart calls :meth:`set_values`, then :meth:`set_timeframe` each time its bars change; the panes are linked
    to the price pane on time.
    """

    def __init__(
        self,
        graphics: pg.GraphicsLayoutWidget,
        price_plot: pg.PlotItem,
        volume_plot: pg.PlotItem,
        palette: ChartPalette,
    ) -> None:
        self._graphics = graphics
        self._price_plot = price_plot
        self._volume_plot = volume_plot
        self._palette = palette
        self.legend = IndicatorLegend()
        self.legend.setVisible(False)
        self.legend.toggled.connect(self.set_shown)
        # In the theme's warning colour, as a run tab's status after errors.
        self.problems_label = StatusLabel()
        self.problems_label.set_warning(True)
        self.problems_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems_label.setVisible(False)
        self.values = ws.IndicatorValues()
        self.items: dict[str, IndicatorLineItem] = {}
        self.panes: dict[str, pg.PlotItem] = {}
        self._guides: list[pg.InfiniteLine] = []
        #: What was added to the price plot (the panes take theirs with them).
        self._on_price: list[pg.GraphicsObject] = []
        self.cross_lines: list[pg.InfiniteLine] = []
        #: The names of the lines the trader hid, kept for the next indicators of the chart.
        self._hidden: set[str] = set()
        #: The value range each pane was fitted to last.
        self._pane_ranges: dict[str, tuple[float, float]] = {}
        price_plot.getViewBox().sigXRangeChanged.connect(lambda _box, _range: self.fit_panes())

    def set_values(self, values: ws.IndicatorValues) -> None:
        """Replace every indicator line with those of ``values`` and show its problems above the chart.

        A line the trader hid stays hidden. The same lines again (a live chart's new candle) only take their new
        values: the panes and the legend stay as they are.
        """
        self.problems_label.setText("\n".join(values.problems))
        self.problems_label.setVisible(bool(values.problems))
        if _layout_of(values) == _layout_of(self.values):
            self.values = values
            for series in values.series:
                self.items[series.name].series = series
            return
        self._clear()
        self.values = values
        for series in values.series:
            item = IndicatorLineItem(series, self._colour_of(series))
            self.items[series.name] = item
            plot = self._plot_of(series.pane)
            plot.addItem(item)
            for level in series.levels:
                guide = LevelLine(level)
                guide.setZValue(LINE_Z)
                plot.addItem(guide, ignoreBounds=True)
                self._guides.append(guide)
            if plot is self._price_plot:
                self._on_price += [item, *self._guides[len(self._guides) - len(series.levels) :]]
        self._lay_out_panes()
        self.legend.set_lines([(name, item.color) for name, item in self.items.items()])
        for name in self._hidden & set(self.items):
            self.set_shown(name, False)
        self.set_palette(self._palette)

    def set_timeframe(self, minute_timestamps: np.ndarray, minutes: int) -> None:
        """Show each line on the bars of ``minutes`` built from these 1m candle times (its last value per bar).

        A line whose length does not match the candles (values of an older candle set) is left empty until the
        next :meth:`set_values`.
        """
        last = None if minutes == 1 else bucket_bounds(minute_timestamps, minutes)[1]
        for item in self.items.values():
            values = item.series.values
            if len(values) != len(minute_timestamps):
                item.set_values(np.empty(0))
            else:
                item.set_values(values if last is None else values[last])
        self.fit_panes()

    def set_shown(self, name: str, shown: bool) -> None:
        """Show or hide the line called ``name`` (the legend's check box follows)."""
        if shown:
            self._hidden.discard(name)
        else:
            self._hidden.add(name)
        self.items[name].setVisible(shown)
        self.fit_panes()
        box = self.legend.boxes[name]
        if box.isChecked() != shown:
            box.setChecked(shown)

    def is_shown(self, name: str) -> bool:
        """Tell whether the line called ``name`` is shown."""
        return bool(self.items[name].isVisible())

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour the lines that have no colour of their own, the guide levels and the panes' axes."""
        self._palette = palette
        for item in self.items.values():
            item.set_color(self._colour_of(item.series))
        self.legend.recolour({name: item.color for name, item in self.items.items()})
        for guide in self._guides:
            guide.setPen(cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DashLine))
        for line in self.cross_lines:
            line.setPen(cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DotLine))
        for plot in self.panes.values():
            for side in ("right", "top"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(palette.foreground))
                axis.setTextPen(pg.mkPen(palette.foreground))

    def values_at(self, bar: int) -> list[tuple[str, float]]:
        """Return (name, value) of each shown line at ``bar`` of the timeframe (NaN where it has no value)."""
        return [
            (name, float(item.values()[bar]))
            for name, item in self.items.items()
            if item.isVisible() and 0 <= bar < len(item.values())
        ]

    def fit_panes(self) -> None:
        """Fit each pane's value axis to its shown lines in view and their levels, widened to round values.

        The round ends keep the axis (and its labels) still while the trader pans, as long as the lines stay within
        them, instead of following every wiggle (and redrawing the axis on every frame).
        """
        first, last = self._price_plot.getViewBox().viewRange()[0]
        for pane, plot in self.panes.items():
            extremes: list[float] = []
            for item in self.items.values():
                if item.series.pane == pane and item.isVisible():
                    extremes += item.dataBounds(1, orthoRange=(first, last)) or ()
            if not extremes:
                continue
            fitted = round_range(min(extremes), max(extremes))
            if fitted != self._pane_ranges.get(pane):
                self._pane_ranges[pane] = fitted
                plot.getViewBox().setYRange(*fitted, padding=0.05)

    def _colour_of(self, series: ws.IndicatorSeries) -> str:
        if series.color is not None:
            return series.color
        uncoloured = [s.name for s in self.values.series if s.color is None]
        cycle = self._palette.indicators
        return cycle[uncoloured.index(series.name) % len(cycle)]

    def _plot_of(self, pane: str) -> pg.PlotItem:
        if pane == ws.PRICE_PANE:
            return self._price_plot
        plot = self.panes.get(pane)
        if plot is None:
            plot = self.panes[pane] = pg.PlotItem()
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            # A line without labels on top: where the pane above ends. Unlinked from the time, it is drawn once, not
            # again at every pan as a time axis is.
            plot.showAxis("top")
            plot.getAxis("top").setStyle(showValues=False, tickLength=0)
            plot.getAxis("top").setHeight(1)
            plot.getAxis("top").unlinkFromView()
            plot.showAxis("right")
            plot.getAxis("right").setWidth(self._price_plot.getAxis("right").width())
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setLabel("right", pane)
            box = plot.getViewBox()
            box.setMouseEnabled(x=True, y=False)
            # Fitted by _fit_panes to round values: pyqtgraph's auto range would move the axis at every pan.
            box.enableAutoRange(x=False, y=False)
            plot.setXLink(self._price_plot)
            cross = pg.InfiniteLine(angle=90, movable=False)
            cross.setZValue(10)
            cross.setVisible(False)
            plot.addItem(cross, ignoreBounds=True)
            self.cross_lines.append(cross)
        return plot

    def _lay_out_panes(self) -> None:
        layout = self._graphics.ci
        layout.removeItem(self._volume_plot)
        for row, plot in enumerate(self.panes.values(), start=1):
            layout.addItem(plot, row=row, col=0)
            layout.layout.setRowStretchFactor(row, PANE_STRETCH)
        volume_row = len(self.panes) + 1
        layout.addItem(self._volume_plot, row=volume_row, col=0)
        layout.layout.setRowStretchFactor(0, PRICE_STRETCH)
        layout.layout.setRowStretchFactor(volume_row, VOLUME_STRETCH)

    def _clear(self) -> None:
        for item in self._on_price:
            self._price_plot.removeItem(item)
        layout = self._graphics.ci
        for plot in self.panes.values():
            layout.removeItem(plot)
        # Rows the panes leave behind keep no height.
        for row in range(1, layout.layout.rowCount()):
            layout.layout.setRowStretchFactor(row, 0)
        self.items, self.panes, self._guides, self._on_price, self.cross_lines = {}, {}, [], [], []
        self._pane_ranges = {}

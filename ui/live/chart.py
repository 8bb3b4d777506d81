"""The chart of the run in front: its candles as they close, its open signal's levels, the price, its trades.

Built on the run tab's ``CandleChart`` (candles, volume, timeframes, crosshair, trade marks, log scale). On top:
horizontal lines at the open signal's entry, take profit and stop loss, and at the latest price; a take profit or
stop loss outside the view is written at the edge it lies beyond. The chart follows the newest candle (same zoom)
until the trader moves the view; then new candles leave it on the same times, until End or Follow resumes.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStyleOptionGraphicsItem, QVBoxLayout, QWidget

import workstation as ws
from ui.charts.candle_chart import RIGHT_MARGIN_BARS, CandleChart, format_price
from ui.charts.candle_item import DARK_PALETTE, ChartPalette, cosmetic_pen
from ui.charts.marks import SignalMarks
from ui.charts.marks_edge import EdgeLevel, EdgeMarkers
from ui.live.runs import RunKey
from ui.themes import set_frame_colours

#: Where along the line its label sits (0 left, 1 right): the price next to the price axis, as trading terminals
#: show it, the signal's levels a little further in, so an entry near the price does not hide the price.
PRICE_LABEL_POSITION = 0.995
LEVEL_LABEL_POSITION = 0.86
#: TP and SL write their labels further left than the entry's: a stop trailed or moved to breakeven lies at or next
#: to the entry, and the two labels would cover each other.
EXIT_LABEL_POSITION = 0.7
#: Levels this far from the entry (a fraction of it) are not fitted into the price axis: a take profit 40 % away
#: would flatten the candles to a line. They are still drawn when in view, and always written in the header.
FITTED_LEVEL_DISTANCE = 0.05


class LevelBounds(pg.GraphicsObject):  # type: ignore[misc]
    """Draws nothing; tells the price axis the open signal's levels, so it fits them together with the candles.

    Only the price axis: the time axis ignores it, and it counts whatever bars are in view.
    """

    def __init__(self) -> None:
        super().__init__()
        self._levels: tuple[float, float] | None = None

    def set_levels(self, levels: list[float]) -> None:
        """Fit ``levels`` (none: nothing) into the price axis from now on."""
        self._levels = (min(levels), max(levels)) if levels else None
        self.informViewBoundsChanged()

    def dataBounds(
        self, axis: int, frac: float = 1.0, orthoRange: tuple[float, float] | None = None
    ) -> tuple[float, float] | None:
        return self._levels if axis == 1 else None

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        return


def _level_line(z: float, label_position: float = LEVEL_LABEL_POSITION) -> pg.InfiniteLine:
    # Anchored by the label's right end, just above the line: a label never runs past the price axis.
    options = {"position": label_position, "anchors": [(1, 1), (1, 1)]}
    line = pg.InfiniteLine(angle=0, movable=False, label="", labelOpts=options)
    line.setZValue(z)
    line.setVisible(False)
    return line


class LiveChart(QWidget):
    """Candles of the followed run with its open signal's levels, its latest price and its past trades."""

    def __init__(self, palette: ChartPalette = DARK_PALETTE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key: RunKey | None = None
        self.signal: ws.SignalRow | None = None
        self.price: float | None = None
        #: The candles the indicators were computed over, as (count, newest candle's time); None: not computed.
        self._indicators_of: tuple[int, int] | None = None
        self._palette = palette

        self.title = QLabel("No live run", self)
        title_font = self.title.font()
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.levels_text = QLabel(self)
        self.levels_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel(self)
        header = QHBoxLayout()
        header.setContentsMargins(6, 2, 6, 0)
        header.addWidget(self.title)
        header.addSpacing(16)
        header.addWidget(self.levels_text, 1)
        header.addWidget(self.status)

        self.chart = CandleChart(self, palette, follows="newest candle")
        self.chart.log_scale_changed.connect(self._place_levels)
        plot = self.chart.price_plot
        self.entry_line = _level_line(6)
        self.take_profit_line = _level_line(6, EXIT_LABEL_POSITION)
        self.stop_loss_line = _level_line(6, EXIT_LABEL_POSITION)
        self.price_line = _level_line(7, PRICE_LABEL_POSITION)
        for line in (self.entry_line, self.take_profit_line, self.stop_loss_line, self.price_line):
            # A line's own bounds are (0, 0) on the price axis; the bounds item below keeps the levels in view.
            plot.addItem(line, ignoreBounds=True)
        self._level_bounds = LevelBounds()
        plot.addItem(self._level_bounds)
        # Where the level's own label would be: not at the price label, which may sit at the same edge.
        self.edge_markers = EdgeMarkers(plot, palette.background, EXIT_LABEL_POSITION)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.chart, 1)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.set_palette(palette)

    # -- public API ------------------------------------------------------------------------------------------

    def show_run(self, key: RunKey | None) -> None:
        """Follow ``key``: its candles, signal and marks arrive next; until then the chart is empty."""
        self.key = key
        self.title.setText("No live run" if key is None else f"{key[1]} · {key[0]}")
        self.status.setText("" if key is None else "Loading candles…")
        self.signal = None
        self.price = None
        self.chart.set_marks(SignalMarks())
        self.chart.set_candles(np.empty(0, dtype=ws.CANDLE_DTYPE))
        self.chart.set_indicators(ws.IndicatorValues())
        self._indicators_of = None
        self.chart.set_following(True)
        self._place_levels()

    def set_candles(self, candles: np.ndarray) -> None:
        """Show the run's newest 1m candles: the newest at the right edge (same zoom) while following, else the
        times shown."""
        chart = self.chart
        first, last = chart.price_plot.getViewBox().viewRange()[0]
        old = chart.candles()
        newest_bar = len(old) - 1
        newest_time = int(old["timestamp"][-1]) if len(old) else 0
        chart.set_candles(candles)
        self._show_indicators(candles)
        count = len(chart.candles())
        self.status.setText("" if len(candles) else "No closed candle yet")
        if newest_bar >= 0 and count:
            if chart.is_following():
                right = count - 1 + RIGHT_MARGIN_BARS
                self._set_x_range(right - (last - first), right)
            else:
                # The window slid by as many bars as the old newest bar moved: the same times, to the fraction of a bar.
                slid = chart.bar_of_time(newest_time) - newest_bar
                self._set_x_range(first + slid, last + slid)
        self._place_levels()

    def set_signal(self, signal: ws.SignalRow | None) -> None:
        """Draw the entry, TP and SL lines of the run's open position or waiting limit order (None: flat)."""
        self.signal = signal
        self._place_levels()

    def set_price(self, price: float | None) -> None:
        """Draw the line of the latest price (None: hide it)."""
        self.price = price
        self._place_levels()

    def set_marks(self, marks: SignalMarks) -> None:
        """Mark the run's past and current trades on the candles."""
        self.chart.set_marks(marks)

    def show_failure(self, message: str) -> None:
        """Say why the candles could not be read (the chart keeps what it showed)."""
        self.status.setText(f"Candles unavailable: {message}")

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour the chart and its lines (dark or light theme)."""
        self._palette = palette
        self.chart.set_palette(palette)
        self.edge_markers.set_background(palette.background)
        for line, colour, style in (
            (self.entry_line, palette.foreground, Qt.PenStyle.DashLine),
            (self.take_profit_line, palette.take_profit, Qt.PenStyle.DashLine),
            (self.stop_loss_line, palette.stop_loss, Qt.PenStyle.DashLine),
            (self.price_line, palette.limit, Qt.PenStyle.DotLine),
        ):
            line.setPen(cosmetic_pen(colour, 1.5, style))
            line.label.setColor(colour)
            line.label.fill = pg.mkBrush(palette.background)
        set_frame_colours(self, palette.background, palette.foreground)
        self._place_levels()

    def line_labels(self) -> dict[str, str]:
        """Return the texts of the lines shown now, by line: ``entry``, ``take_profit``, ``stop_loss``, ``price``."""
        lines = {
            "entry": self.entry_line,
            "take_profit": self.take_profit_line,
            "stop_loss": self.stop_loss_line,
            "price": self.price_line,
        }
        return {name: line.label.format for name, line in lines.items() if line.isVisible()}

    # -- internals -------------------------------------------------------------------------------------------

    def _show_indicators(self, candles: np.ndarray) -> None:
        """Draw the run's strategy's indicators over ``candles``, computed again only when a candle closed since.

        The candles are read at every tick; the indicators change only with a new candle, and computing them is the
        strategy author's code, run on the GUI thread: once per candle, over the chart's few hundred candles.
        """
        if self.key is None:
            return
        computed_of = (len(candles), int(candles["timestamp"][-1]) if len(candles) else 0)
        if computed_of == self._indicators_of:
            return
        self._indicators_of = computed_of
        try:
            values = ws.strategy_indicators(self.key[1], candles)
        except ws.SchemaNotFoundError as exc:
            # A run listed from its events whose strategy is not registered here: candles only, and why.
            values = ws.IndicatorValues(problems=(f"indicators not drawn: {exc}",))
        self.chart.set_indicators(values)

    def _set_x_range(self, first: float, last: float) -> None:
        self.chart.price_plot.getViewBox().setXRange(first, last, padding=0)

    def _place_levels(self) -> None:
        signal = self.signal
        y = self.chart.price_y
        levels: list[float] = []
        edges: list[EdgeLevel] = []
        if signal is None:
            self.levels_text.setText("Flat" if self.key is not None else "")
            for line in (self.entry_line, self.take_profit_line, self.stop_loss_line):
                line.setVisible(False)
        else:
            waiting = signal.pending_at is None
            entry_name = "Limit" if waiting else "Entry"
            for line, name, level in (
                (self.entry_line, entry_name, signal.price_open),
                (self.take_profit_line, "TP", signal.price_take_profit),
                (self.stop_loss_line, "SL", signal.price_stop_loss),
            ):
                line.setPos(y(level))
                line.label.setFormat(f"{name} {format_price(level)}")
                # Towards the entry: the outermost level is at the edge of the view, where a label would be cut.
                towards_entry = 0.0 if level > signal.price_open else 1.0
                line.label.anchors = [(1.0, towards_entry), (1.0, towards_entry)]
                line.label.updatePosition()
                line.setVisible(True)
                if abs(level - signal.price_open) <= FITTED_LEVEL_DISTANCE * signal.price_open:
                    levels.append(y(level))
            edges = [
                EdgeLevel(
                    "take_profit",
                    "TP",
                    format_price(signal.price_take_profit),
                    y(signal.price_take_profit),
                    self._palette.take_profit,
                ),
                EdgeLevel(
                    "stop_loss",
                    "SL",
                    format_price(signal.price_stop_loss),
                    y(signal.price_stop_loss),
                    self._palette.stop_loss,
                ),
            ]
            side = signal.position.upper() + (" limit order" if waiting else "")
            self.levels_text.setText(
                f"{side} · {entry_name.lower()} {format_price(signal.price_open)} · "
                f"TP {format_price(signal.price_take_profit)} · SL {format_price(signal.price_stop_loss)}"
            )
        price = self.price
        if price is not None and math.isfinite(price):
            self.price_line.setPos(y(price))
            self.price_line.label.setFormat(format_price(price))
            self.price_line.setVisible(True)
        else:
            self.price_line.setVisible(False)
        self._level_bounds.set_levels(levels)
        self.edge_markers.set_levels(tuple(edges))

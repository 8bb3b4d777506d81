"""The pyqtgraph items that draw a run's positions and limit orders over the candles.

A run has thousands of trades and the marks are replaced on every batch while it runs, so there is one item per
kind of mark, never one per trade: scatter items for markers, and ``connect="pairs"`` curves whose every two points
are one segment (entry→exit connectors per win/loss colour, TP, SL and effective entry step lines, limit orders).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from ui.charts.candle_item import ChartPalette, cosmetic_pen
from ui.charts.marks import SignalMarks

#: Cancel reasons are written next to their order only when at most this many bars are in view.
REASON_LABEL_MAX_BARS = 400
#: And for at most this many orders, so that zooming into a busy stretch stays cheap.
MAX_REASON_LABELS = 40

MARKER_SIZE = 13
#: Marker sizes by bars in view: full size while single candles are readable, smaller as the view widens, so an
#: overview of a month of trades still shows its candles.
MARKER_SIZES: tuple[tuple[float, int], ...] = ((600.0, MARKER_SIZE), (5000.0, 8), (math.inf, 5))

#: Maps epoch-ms times (float64, no NaN) to the bar index that contains them.
BarOf = Callable[[np.ndarray], np.ndarray]


def _pairs(x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interleave segment ends as (x0, x1, x0', x1', …) for a ``connect="pairs"`` curve."""
    x = np.empty(2 * len(x0))
    y = np.empty(2 * len(x0))
    x[0::2], x[1::2], y[0::2], y[1::2] = x0, x1, y0, y1
    return x, y


def _step_lines(
    start_x: np.ndarray,
    start_level: np.ndarray,
    end_x: np.ndarray,
    change_owner: np.ndarray,
    change_x: np.ndarray,
    change_level: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the segments of step lines, one per position, for a ``connect="pairs"`` curve.

    Position ``i`` holds ``start_level[i]`` from ``start_x[i]`` and each of its changes (``change_owner == i``, in
    time order) from ``change_x`` on, until its next change or ``end_x[i]``; a vertical riser joins two levels.
    """
    owner = np.concatenate((np.arange(len(start_x)), change_owner))
    order = np.argsort(owner, kind="stable")  # each position's start first, then its changes in order
    owner = owner[order]
    x = np.concatenate((start_x, change_x))[order]
    level = np.concatenate((start_level, change_level))[order]
    continued = owner[1:] == owner[:-1]
    ends = end_x[owner]
    ends[:-1][continued] = x[1:][continued]
    risen = continued & (level[1:] != level[:-1])
    riser_x = x[1:][risen]
    flat = _pairs(x, ends, level, level)
    risers = _pairs(riser_x, riser_x, level[:-1][risen], level[1:][risen])
    return np.concatenate((flat[0], risers[0])), np.concatenate((flat[1], risers[1]))


def partial_marker_sizes(share: np.ndarray, marker_size: int) -> np.ndarray:
    """Return the sizes (pixels) of partial exit markers: from 0.6 of an entry marker up, growing with the share
    closed (``share`` in %), 1.5 of it for a whole position (a diamond looks smaller than a triangle of its size).

    Whole pixels: pyqtgraph renders one image per distinct size, and a year's partial closes have thousands of
    distinct shares.
    """
    sizes: np.ndarray = np.round(marker_size * (0.6 + 0.9 * share / 100))
    return sizes


def _show_points(item: pg.ScatterPlotItem, x: np.ndarray, y: np.ndarray, size: np.ndarray | None = None) -> None:
    """Make ``item`` show exactly the points ``x``, ``y`` (with their own ``size``, if given); when they extend the
    points shown, only add the new ones.

    pyqtgraph styles every point it is given in Python: replacing a running year's thousands of marks on every
    redraw costs tens of ms, adding the few new ones almost nothing.
    """
    shown = len(item.data)
    data = item.data
    if (
        0 < shown <= len(x)
        and np.array_equal(data["x"], x[:shown])
        and np.array_equal(data["y"], y[:shown])
        and (size is None or np.array_equal(data["size"], size[:shown]))
    ):
        if len(x) > shown:
            new = {} if size is None else {"size": size[shown:]}
            item.addPoints(x=x[shown:], y=y[shown:], **new)
        return
    item.setData(x=x, y=y, **({} if size is None else {"size": size}))


class SignalMarksLayer:
    """Draw :class:`SignalMarks` on a price plot whose x axis is the bar index.

    Entries are ▲ (long) / ▼ (short) at the entry price, averaging entries smaller ▲ / ▼ at their price, exits ● at
    the close price in the win or loss colour, partial exits ◆ in the colour of their kind (profit: win, loss: loss)
    sized by the share of the position they closed; a connector joins entry and exit. TP and SL are step lines over
    the position's life that follow every trailing move and breakeven; a position that averaged in has its effective
    entry as a dotted step line. Limit orders are dashed segments from creation to fill or cancel, and a cancelled
    order ends in an ✕ with its reason when zoomed in. Positions still open run to the last candle (their connector is
    coloured by the unrealised result).
    """

    def __init__(self, plot: pg.PlotItem, palette: ChartPalette) -> None:
        self._plot = plot
        self._marker_size = MARKER_SIZE
        self.entries_long = pg.ScatterPlotItem(symbol="t1", size=MARKER_SIZE, pxMode=True)
        self.entries_short = pg.ScatterPlotItem(symbol="t", size=MARKER_SIZE, pxMode=True)
        self.exits_win = pg.ScatterPlotItem(symbol="o", size=MARKER_SIZE - 3, pxMode=True)
        self.exits_loss = pg.ScatterPlotItem(symbol="o", size=MARKER_SIZE - 3, pxMode=True)
        self.cancelled = pg.ScatterPlotItem(symbol="x", size=MARKER_SIZE, pxMode=True)
        self.averaging_long = pg.ScatterPlotItem(symbol="t1", size=MARKER_SIZE - 2, pxMode=True)
        self.averaging_short = pg.ScatterPlotItem(symbol="t", size=MARKER_SIZE - 2, pxMode=True)
        self.partials_profit = pg.ScatterPlotItem(symbol="d", pxMode=True)
        self.partials_loss = pg.ScatterPlotItem(symbol="d", pxMode=True)
        self.effective_entries = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
        self.connectors_win = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
        self.connectors_loss = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
        self.take_profits = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
        self.stop_losses = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
        self.limit_orders = pg.PlotCurveItem(connect="pairs", skipFiniteCheck=True)
        layers = (
            (self.take_profits, 1),
            (self.stop_losses, 1),
            (self.limit_orders, 1),
            (self.effective_entries, 1),
            (self.connectors_win, 2),
            (self.connectors_loss, 2),
            (self.exits_win, 3),
            (self.exits_loss, 3),
            (self.cancelled, 3),
            (self.partials_profit, 3),
            (self.partials_loss, 3),
            (self.averaging_long, 4),
            (self.averaging_short, 4),
            (self.entries_long, 4),
            (self.entries_short, 4),
        )
        for item, z in layers:
            item.setZValue(z)
            # Marks must not stretch the price axis: the candles in view decide it.
            plot.addItem(item, ignoreBounds=True)
        self._labels: list[pg.TextItem] = []
        self._cancel_x = np.empty(0)
        self._cancel_price = np.empty(0)
        self._cancel_reason = np.empty(0, dtype=str)
        self._partial_share: dict[pg.ScatterPlotItem, np.ndarray] = {
            self.partials_profit: np.empty(0),
            self.partials_loss: np.empty(0),
        }
        self._x_range = (0.0, 0.0)
        self._log_scale = False
        self.set_palette(palette)

    def set_log_scale(self, log_scale: bool) -> None:
        """Place prices at their log10 from the next :meth:`set_marks` on (the price axis is in log scale)."""
        self._log_scale = log_scale

    def _y(self, prices: np.ndarray) -> np.ndarray:
        """Return the heights of ``prices`` on the price axis."""
        heights: np.ndarray = np.log10(prices) if self._log_scale else prices
        return heights

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour every mark."""
        self._palette = palette
        # An outline tells a marker from the candle of the same colour under it.
        outlined = (
            (self.entries_long, palette.up),
            (self.entries_short, palette.down),
            (self.averaging_long, palette.up),
            (self.averaging_short, palette.down),
            (self.exits_win, palette.win),
            (self.exits_loss, palette.loss),
            (self.partials_profit, palette.win),
            (self.partials_loss, palette.loss),
        )
        for markers, colour in outlined:
            markers.setPen(pg.mkPen(palette.foreground))
            markers.setBrush(pg.mkBrush(colour))
        self.cancelled.setPen(pg.mkPen(None))
        self.effective_entries.setPen(cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DotLine))
        self.cancelled.setBrush(pg.mkBrush(palette.limit))
        self.connectors_win.setPen(cosmetic_pen(palette.win, 2))
        self.connectors_loss.setPen(cosmetic_pen(palette.loss, 2))
        self.take_profits.setPen(cosmetic_pen(palette.take_profit))
        self.stop_losses.setPen(cosmetic_pen(palette.stop_loss))
        self.limit_orders.setPen(cosmetic_pen(palette.limit, 1, Qt.PenStyle.DashLine))
        for label in self._labels:
            label.setColor(QColor(palette.limit))

    def set_marks(self, marks: SignalMarks, bar_of: BarOf, last_bar: int, last_close: float) -> None:
        """Replace every mark; ``bar_of`` places times on bars, open positions run to ``last_bar``/``last_close``."""
        y = self._y
        closed = marks.is_closed
        entry_x = bar_of(marks.entry_time.astype(np.float64)).astype(np.float64)
        exit_x = np.full(len(closed), float(last_bar))
        exit_x[closed] = bar_of(marks.exit_time[closed])
        exit_price = y(np.where(closed, marks.exit_price, last_close))
        entry_price = y(marks.entry_price)
        long = marks.is_long
        _show_points(self.entries_long, entry_x[long], entry_price[long])
        _show_points(self.entries_short, entry_x[~long], entry_price[~long])
        win = marks.win
        _show_points(self.exits_win, exit_x[closed & win], exit_price[closed & win])
        _show_points(self.exits_loss, exit_x[closed & ~win], exit_price[closed & ~win])
        unrealised_win = np.where(long, last_close > marks.entry_price, last_close < marks.entry_price)
        connector_win = np.where(closed, win, unrealised_win)
        for curve, mask in ((self.connectors_win, connector_win), (self.connectors_loss, ~connector_win)):
            curve.setData(*_pairs(entry_x[mask], exit_x[mask], entry_price[mask], exit_price[mask]))
        owner = marks.level_position
        change_x = bar_of(marks.level_time.astype(np.float64)).astype(np.float64)
        for curve, start, change in (
            (self.take_profits, marks.take_profit, marks.level_take_profit),
            (self.stop_losses, marks.stop_loss, marks.level_stop_loss),
        ):
            curve.setData(*_step_lines(entry_x, y(start), exit_x, owner, change_x, y(change)))
        averaged = marks.averaged
        averaged_changes = averaged[owner]
        self.effective_entries.setData(
            *_step_lines(
                entry_x[averaged],
                entry_price[averaged],
                exit_x[averaged],
                # The averaged positions' own indices among themselves.
                (np.cumsum(averaged) - 1)[owner[averaged_changes]],
                change_x[averaged_changes],
                y(marks.level_entry[averaged_changes]),
            )
        )
        averaging_x = bar_of(marks.averaging_time.astype(np.float64)).astype(np.float64)
        averaging_long = marks.averaging_is_long
        averaging_price = y(marks.averaging_price)
        _show_points(self.averaging_long, averaging_x[averaging_long], averaging_price[averaging_long])
        _show_points(self.averaging_short, averaging_x[~averaging_long], averaging_price[~averaging_long])
        partial_x = bar_of(marks.partial_time.astype(np.float64)).astype(np.float64)
        profit = marks.partial_is_profit
        for markers, mask in ((self.partials_profit, profit), (self.partials_loss, ~profit)):
            share = self._partial_share[markers] = marks.partial_share[mask]
            _show_points(
                markers, partial_x[mask], y(marks.partial_price[mask]), partial_marker_sizes(share, self._marker_size)
            )

        ended = ~np.isnan(marks.limit_ended)
        created_x = bar_of(marks.limit_created.astype(np.float64)).astype(np.float64)
        ended_x = np.full(len(ended), float(last_bar))
        ended_x[ended] = bar_of(marks.limit_ended[ended])
        limit_price = y(marks.limit_price)
        self.limit_orders.setData(*_pairs(created_x, ended_x, limit_price, limit_price))
        cancelled = marks.limit_cancelled
        self._cancel_x = ended_x[cancelled]
        self._cancel_price = limit_price[cancelled]
        self._cancel_reason = marks.limit_cancel_reason[cancelled]
        _show_points(self.cancelled, self._cancel_x, self._cancel_price)
        self._place_labels()

    def set_x_range(self, first_bar: float, last_bar: float) -> None:
        """Show cancel reasons for the orders in view when zoomed in enough (call on every x range change)."""
        self._x_range = (first_bar, last_bar)
        self._scale_markers(last_bar - first_bar)
        self._place_labels()

    def marker_size(self) -> int:
        """Return the size (pixels) entry markers are drawn at now."""
        return self._marker_size

    def _scale_markers(self, bars_in_view: float) -> None:
        size = next(size for most_bars, size in MARKER_SIZES if bars_in_view <= most_bars)
        if size == self._marker_size:
            return  # resizing every spot is not free: only when the view crosses a threshold
        self._marker_size = size
        for markers in (self.entries_long, self.entries_short, self.cancelled):
            markers.setSize(size)
        for markers in (self.exits_win, self.exits_loss):
            markers.setSize(max(3, size - 3))
        for markers in (self.averaging_long, self.averaging_short):
            markers.setSize(max(3, size - 2))
        for markers, share in self._partial_share.items():
            markers.setSize(partial_marker_sizes(share, size))

    def entry_count(self) -> int:
        """Return the number of entry markers drawn (one per position, open or closed)."""
        return int(len(self.entries_long.data) + len(self.entries_short.data))

    def exit_count(self) -> int:
        """Return the number of exit markers drawn (one per closed position)."""
        return int(len(self.exits_win.data) + len(self.exits_loss.data))

    def averaging_count(self) -> int:
        """Return the number of averaging entry markers drawn."""
        return int(len(self.averaging_long.data) + len(self.averaging_short.data))

    def partial_sizes(self) -> list[float]:
        """Return the sizes (pixels) of the partial exit markers drawn, profits first, each in time order."""
        return [float(size) for markers in self._partial_share for size in markers.data["size"]]

    def reason_labels(self) -> list[str]:
        """Return the texts of the cancel reasons shown now."""
        return [label.toPlainText() for label in self._labels if label.isVisible()]

    def _place_labels(self) -> None:
        first, last = self._x_range
        shown = np.empty(0, dtype=np.intp)
        if last - first <= REASON_LABEL_MAX_BARS:
            in_view = (self._cancel_x >= first) & (self._cancel_x <= last)
            shown = np.flatnonzero(in_view)[:MAX_REASON_LABELS]
        while len(self._labels) < len(shown):
            label = pg.TextItem(color=QColor(self._palette.limit), anchor=(0.5, 1.3))
            label.setZValue(5)
            self._plot.addItem(label, ignoreBounds=True)
            self._labels.append(label)
        for label, index in zip(self._labels, shown, strict=False):
            label.setText(str(self._cancel_reason[index]))
            label.setPos(float(self._cancel_x[index]), float(self._cancel_price[index]))
            label.setVisible(True)
        for label in self._labels[len(shown) :]:
            label.setVisible(False)

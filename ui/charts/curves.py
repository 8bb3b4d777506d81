"""Charts of a run's result: the equity curve over its underwater curve, and the histogram of trade PnL."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

import workstation as ws
from ui.charts.aggregate import MINUTE_MS
from ui.charts.candle_item import DARK_PALETTE, ChartPalette, cosmetic_pen

#: Opacity (0–255) of the area under the underwater curve and of histogram bars.
FILL_ALPHA = 110


def step_edges(series: ws.RunSeries) -> tuple[np.ndarray, np.ndarray]:
    """Return the step edges in epoch seconds and the values between them for a ``stepMode="center"`` curve.

    The curve starts at 0 at the frame start, jumps at each partial close and each close (``step_times``), and holds
    its last value to the frame end
    (``frame_end`` + 1 minute, where the last position closes at the latest).
    """
    edges_ms = np.concatenate(([series.frame_start], series.step_times, [series.frame_end + MINUTE_MS]))
    return edges_ms / 1000.0, np.concatenate(([0.0], series.equity))


def _translucent(color: str) -> QColor:
    fill = QColor(color)
    fill.setAlpha(FILL_ALPHA)
    return fill


def _style_plot(plot: pg.PlotItem, palette: ChartPalette) -> None:
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setPen(pg.mkPen(palette.foreground))
        axis.setTextPen(pg.mkPen(palette.foreground))


def account_curves(account: ws.AccountReport) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the account's equity curve as times (epoch seconds), equity in money, and drawdown in % of its peak.

    The drawdown is ``(equity − running peak) / running peak × 100`` (≤ 0), the peak starting at the first point.
    """
    times = np.array([point.timestamp for point in account.equity_curve], dtype=np.float64) / 1000.0
    equity = np.array([point.value for point in account.equity_curve], dtype=np.float64)
    peak = np.maximum.accumulate(equity) if len(equity) else equity
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peak > 0, (equity - peak) / peak * 100.0, 0.0)
    return times, equity, drawdown


class EquityCurves(QWidget):
    """A run's equity in money (with buy and hold dashed) and its drawdown in % of the equity peak below.

    A run without an account (stored before runs had one) shows its net PnL % stepped at each close instead. Both
    panes share the time axis (UTC). ``set_series(None)`` empties them.
    """

    def __init__(self, parent: QWidget | None = None, palette: ChartPalette = DARK_PALETTE) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.equity_plot: pg.PlotItem = self.graphics.addPlot(
            row=0, col=0, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)}
        )
        self.underwater_plot: pg.PlotItem = self.graphics.addPlot(
            row=1, col=0, axisItems={"bottom": pg.DateAxisItem(utcOffset=0)}
        )
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        self.equity_plot.hideAxis("bottom")
        self.equity_plot.setLabel("left", "Net PnL %")
        self.underwater_plot.setLabel("left", "Drawdown %")
        self.underwater_plot.setXLink(self.equity_plot)
        for plot in (self.equity_plot, self.underwater_plot):
            plot.setMenuEnabled(False)
            plot.getAxis("left").setWidth(60)
            # Money and small percentages are read as they are, not rescaled to "(x0.001)" units.
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.legend = self.equity_plot.addLegend(offset=(10, 10))
        self.equity_curve = pg.PlotCurveItem(name="Strategy")
        self.buy_and_hold_curve = pg.PlotCurveItem(name="Buy and hold")
        self.underwater_curve = pg.PlotCurveItem(fillLevel=0.0)
        # The equity's own range sets the scale: the asset held often moves far more than a strategy investing a
        # part of the balance, and would flatten its curve; the line is clipped and the legend writes its last value.
        self.equity_plot.addItem(self.buy_and_hold_curve, ignoreBounds=True)
        self.equity_plot.addItem(self.equity_curve)
        self.underwater_plot.addItem(self.underwater_curve)
        self._zero_lines = [pg.InfiniteLine(pos=0.0, angle=0, movable=False) for _ in range(2)]
        self.equity_plot.addItem(self._zero_lines[0], ignoreBounds=True)
        self.underwater_plot.addItem(self._zero_lines[1], ignoreBounds=True)
        #: Off (the default): the equity's own range sets the scale and buy and hold is clipped to it; on: the scale
        #: takes in all of buy and hold too, to compare the two at a glance when the asset moved far more.
        self.scale_to_buy_and_hold = QCheckBox("Scale to buy and hold", self)
        self.scale_to_buy_and_hold.toggled.connect(self._scale_to_buy_and_hold)
        self._legend_names = ("Strategy", "Buy and hold")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.scale_to_buy_and_hold, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.graphics)
        self.set_palette(palette)

    def _scale_to_buy_and_hold(self, scaled: bool) -> None:
        # pyqtgraph takes whether an item sets the range when it is added: the line is added again.
        self.equity_plot.removeItem(self.buy_and_hold_curve)
        self.equity_plot.addItem(self.buy_and_hold_curve, ignoreBounds=not scaled)
        self._name_curves(*self._legend_names)
        self.equity_plot.enableAutoRange()

    def set_series(self, series: ws.RunSeries | None, account: ws.AccountReport | None = None) -> None:
        """Draw the account's equity in money when there is one, else the net PnL % of ``series``; None: nothing."""
        if account is not None and account.equity_curve:
            self._draw_account(account)
            return
        if series is None:
            for curve in (self.equity_curve, self.buy_and_hold_curve, self.underwater_curve):
                curve.clear()
            return
        self.equity_plot.setLabel("left", "Net PnL %")
        self.underwater_plot.setLabel("left", "Drawdown %")
        self._name_curves("Strategy", "Buy and hold")
        self._zero_lines[0].setValue(0.0)
        edges, equity = step_edges(series)
        self.equity_curve.setData(edges, equity, stepMode="center")
        self.underwater_curve.setData(edges, np.concatenate(([0.0], series.underwater)), stepMode="center")
        if series.buy_and_hold is None:
            self.buy_and_hold_curve.clear()
        else:
            self.buy_and_hold_curve.setData(edges[[0, -1]], np.array([0.0, series.buy_and_hold]))
        for plot in (self.equity_plot, self.underwater_plot):
            plot.enableAutoRange()

    def _draw_account(self, account: ws.AccountReport) -> None:
        times, equity, drawdown = account_curves(account)
        self.equity_plot.setLabel("left", "Equity")
        self.underwater_plot.setLabel("left", "Drawdown %")
        held = account.buy_and_hold_curve
        self._name_curves(
            "Equity", "Buy and hold (the starting balance)" if not held else f"Buy and hold: {held[-1].value:,.2f}"
        )
        # The first line marks the starting balance: above it the account gained.
        self._zero_lines[0].setValue(account.starting_balance)
        self.equity_curve.setData(times, equity)
        self.underwater_curve.setData(times, drawdown)
        if not held:
            self.buy_and_hold_curve.clear()
        else:
            self.buy_and_hold_curve.setData(
                np.array([point.timestamp / 1000 for point in held]), np.array([point.value for point in held])
            )
        for plot in (self.equity_plot, self.underwater_plot):
            plot.enableAutoRange()

    def _name_curves(self, equity: str, buy_and_hold: str) -> None:
        """Name the two curves in the legend (an account's equity, or a run's net PnL %)."""
        self._legend_names = (equity, buy_and_hold)
        for sample, label in self.legend.items:
            label.setText(equity if sample.item is self.equity_curve else buy_and_hold)

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour the curves (dark or light theme)."""
        self.graphics.setBackground(palette.background)
        for plot in (self.equity_plot, self.underwater_plot):
            _style_plot(plot, palette)
        self.legend.setLabelTextColor(palette.foreground)
        # pyqtgraph keeps the new colour for labels written later: the shown ones are written again to take it
        # (else they stay in pyqtgraph's default grey, pale on the light theme's white).
        for _sample, label in self.legend.items:
            label.setText(label.text)
        self.equity_curve.setPen(cosmetic_pen(palette.win, 2))
        self.buy_and_hold_curve.setPen(cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DashLine))
        self.underwater_curve.setPen(cosmetic_pen(palette.loss))
        self.underwater_curve.setBrush(_translucent(palette.loss))
        for line in self._zero_lines:
            line.setPen(cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DotLine))


class PnlHistogram(QWidget):
    """How many trades ended with each net PnL %: bins below zero in the loss colour, the rest in the win colour."""

    def __init__(self, parent: QWidget | None = None, palette: ChartPalette = DARK_PALETTE) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.plot: pg.PlotItem = self.graphics.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "Net PnL % per trade")
        self.plot.setLabel("left", "Trades")
        self.loss_bars = pg.BarGraphItem(x0=[], x1=[], height=[])
        self.win_bars = pg.BarGraphItem(x0=[], x1=[], height=[])
        self.plot.addItem(self.loss_bars)
        self.plot.addItem(self.win_bars)
        self._zero_line = pg.InfiniteLine(pos=0.0, angle=90, movable=False)
        self.plot.addItem(self._zero_line, ignoreBounds=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self._palette = palette
        self._edges = np.empty(0)
        self._counts = np.empty(0, dtype=np.int64)
        self.set_palette(palette)

    def set_series(self, series: ws.RunSeries | None) -> None:
        """Draw the histogram of ``series``, or nothing when None."""
        if series is None or len(series.histogram_counts) == 0:
            self._edges, self._counts = np.empty(0), np.empty(0, dtype=np.int64)
        else:
            self._edges = np.asarray(series.histogram_edges, dtype=np.float64)
            self._counts = np.asarray(series.histogram_counts)
        self._draw()
        self.plot.enableAutoRange()

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour the bars (dark or light theme)."""
        self._palette = palette
        self.graphics.setBackground(palette.background)
        _style_plot(self.plot, palette)
        self._zero_line.setPen(cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DotLine))
        self._draw()

    def _draw(self) -> None:
        left, right = self._edges[:-1], self._edges[1:]
        losing = (left + right) / 2 < 0
        for bars, mask, color in (
            (self.loss_bars, losing, self._palette.loss),
            (self.win_bars, ~losing, self._palette.win),
        ):
            bars.setOpts(
                x0=left[mask],
                x1=right[mask],
                height=self._counts[mask],
                pen=cosmetic_pen(color),
                brush=_translucent(color),
            )

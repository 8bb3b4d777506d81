"""The equity curves of compared runs on one chart, each normalised to its starting balance (100 = where it began).

Runs of different periods or balances are compared by what their money did: the x axis is days since each run's
frame start, the y axis the equity in % of the starting balance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

import workstation as ws
from ui.charts.candle_item import DARK_PALETTE, ChartPalette, cosmetic_pen

DAY_MS = 86_400_000
#: The colours of the compared runs' curves, in order (the first run takes the palette's win colour).
RUN_COLOURS = ("#f5a623", "#bd10e0", "#50e3c2", "#e94b3c", "#7ed321")
#: Opacity (0–255) of the legend's backdrop.
LEGEND_ALPHA = 210


@dataclass(frozen=True, slots=True)
class NormalisedEquity:
    """One run's equity over days since its frame start, in % of its starting balance."""

    title: str
    days: np.ndarray
    percent: np.ndarray


def normalised_equity(title: str, account: ws.AccountReport) -> NormalisedEquity:
    """Return a run's account equity (marked to market daily and at each trade) in % of its starting balance, over
    days since its first point (the frame's start)."""
    times = np.array([point.timestamp for point in account.equity_curve], dtype=np.float64)
    values = np.array([point.value for point in account.equity_curve], dtype=np.float64)
    start = times[0] if len(times) else 0.0
    return NormalisedEquity(title, (times - start) / DAY_MS, values / account.starting_balance * 100.0)


def normalised_balance(title: str, series: ws.RunSeries, starting_balance: float) -> NormalisedEquity:
    """Return a run's balance at each close in % of ``starting_balance``, for a run without an account.

    The balance is ``starting_balance`` plus the net money of the trades closed so far (``series.equity_money``),
    as a fixed cost per trade books it, over days since the frame's start.
    """
    times = np.concatenate(([series.frame_start], series.step_times)).astype(np.float64)
    values = starting_balance + np.concatenate(([0.0], series.equity_money))
    return NormalisedEquity(title, (times - series.frame_start) / DAY_MS, values / starting_balance * 100.0)


class EquityOverlay(QWidget):
    """The compared runs' equity curves overlaid, normalised to each one's starting balance, with a legend."""

    def __init__(self, palette: ChartPalette = DARK_PALETTE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.plot: pg.PlotItem = self.graphics.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "Days since the run's start")
        self.plot.setLabel("left", "Equity, % of start")
        for side in ("left", "bottom"):
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(10, -10))  # bottom left: the curves start at the top left
        self._start_line = pg.InfiniteLine(pos=100.0, angle=0, movable=False)
        self.plot.addItem(self._start_line, ignoreBounds=True)
        self.curves: list[pg.PlotCurveItem] = []
        self._palette = palette
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics)
        self.set_palette(palette)

    def set_runs(self, runs: Sequence[NormalisedEquity]) -> None:
        """Draw one curve per run, in order, replacing any drawn before."""
        for curve in self.curves:
            self.plot.removeItem(curve)
            self.legend.removeItem(curve)
        self.curves = []
        for index, run in enumerate(runs):
            curve = pg.PlotCurveItem(run.days, run.percent, name=run.title)
            self.plot.addItem(curve)
            self.curves.append(curve)
            curve.setPen(cosmetic_pen(self._colour(index), 2))
        self.plot.enableAutoRange()

    def _colour(self, index: int) -> str:
        return self._palette.win if index == 0 else RUN_COLOURS[(index - 1) % len(RUN_COLOURS)]

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour the chart (dark or light theme)."""
        self._palette = palette
        self.graphics.setBackground(palette.background)
        for side in ("left", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(pg.mkPen(palette.foreground))
            axis.setTextPen(pg.mkPen(palette.foreground))
        self.legend.setLabelTextColor(palette.foreground)
        # The curves all start at 100 where the legend sits: its backdrop keeps the names readable over them.
        backdrop = QColor(palette.background)
        backdrop.setAlpha(LEGEND_ALPHA)
        self.legend.setBrush(backdrop)
        for _sample, label in self.legend.items:
            label.setText(label.text)
        self._start_line.setPen(cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DotLine))
        for index, curve in enumerate(self.curves):
            curve.setPen(cosmetic_pen(self._colour(index), 2))

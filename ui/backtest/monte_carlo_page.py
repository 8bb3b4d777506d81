"""The Robustness page of a run tab: Monte Carlo paths of the run's closed trades (``ws.simulate_monte_carlo``).

The 2 × 1,000 paths take tens of milliseconds to a second of numpy for a long run: they are drawn in a worker thread
(``asyncio.to_thread``), so the window stays responsive; the page says what it is drawing meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QStyle, QVBoxLayout, QWidget

import workstation as ws
from ui.charts.candle_item import DARK_PALETTE, ChartPalette, cosmetic_pen
from ui.widgets.formatting import HINT_TEXT
from ui.widgets.statistics_table import Cell, CellTableModel, CopyableTableView

#: The ways of drawing paths, as the selector names them.
WAYS = {
    "reshuffled": "Trade order reshuffled",
    "resampled": "Trades resampled with replacement",
}
#: The ways as the figures table heads their rows.
WAY_ROWS = {"reshuffled": "Reshuffled", "resampled": "Resampled"}
#: Opacity (0–255) of the 5–95 % band.
BAND_ALPHA = 70


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _percent(value: float) -> str:
    return f"{value:.2f}%"


class MonteCarloPage(QWidget):
    """Equity bands over trade number and the distribution of max drawdown, for either way of drawing the trades.

    ``await compute(trades, starting_balance, compounding=...)`` draws the paths off the GUI thread and shows them;
    ``report_shown`` is emitted once they are drawn.
    """

    report_shown = Signal()

    HEADER = ("Paths", "5 %", "50 %", "95 %")

    def __init__(self, palette: ChartPalette = DARK_PALETTE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: ws.MonteCarloReport | None = None
        self._palette = palette
        self.status = QLabel("No closed trades yet: the paths are drawn from a run's closed trades.", self)
        self.status.setWordWrap(True)
        self.way = QComboBox(self)
        for key, title in WAYS.items():
            self.way.addItem(title, key)
        self.way.currentIndexChanged.connect(self._draw)
        self.graphics = pg.GraphicsLayoutWidget()
        self.bands_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=0)
        self.drawdown_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=1)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self.bands_plot.setLabel("bottom", "Trade number")
        self.bands_plot.setLabel("left", "Equity")
        self.drawdown_plot.setLabel("bottom", "Max drawdown, % of peak")
        self.drawdown_plot.setLabel("left", "Paths")
        for plot in (self.bands_plot, self.drawdown_plot):
            plot.setMenuEnabled(False)
            plot.getAxis("left").setWidth(70)
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)  # money and drawdowns as they are, not "(x0.001)"
        self.legend = self.bands_plot.addLegend(offset=(-10, -10))
        # The band between the 5 % and 95 % edges is shaded; the legend names it by its (dotted) edges.
        self.high_curve = pg.PlotCurveItem(name="5–95 %")
        self.low_curve = pg.PlotCurveItem()
        self.band = pg.FillBetweenItem(self.low_curve, self.high_curve)
        self.median_curve = pg.PlotCurveItem(name="Median")
        self.actual_curve = pg.PlotCurveItem(name="This run")
        self.bands_plot.addItem(self.band)
        self.bands_plot.addItem(self.low_curve)
        self.bands_plot.addItem(self.high_curve)
        self.bands_plot.addItem(self.median_curve)
        self.bands_plot.addItem(self.actual_curve)
        self.drawdown_bars = pg.BarGraphItem(x0=[], x1=[], height=[])
        self.drawdown_plot.addItem(self.drawdown_bars)
        # One line at each of the 5, 50 and 95 % percentiles of the drawdowns.
        self.percentile_lines = [
            pg.InfiniteLine(angle=90, movable=False, label=f"{share} %", labelOpts={"position": position})
            for share, position in ((5, 0.96), (50, 0.88), (95, 0.80))
        ]
        for line in self.percentile_lines:
            line.hide()
            self.drawdown_plot.addItem(line, ignoreBounds=True)
        self.figures = CellTableModel(self)
        self.figures.set_cells(self.HEADER, [])
        self.table = CopyableTableView(self)
        self.table.setModel(self.figures)
        self.table.verticalHeader().hide()
        top = QHBoxLayout()
        top.addWidget(self.way)
        top.addWidget(self.status, 1)
        # The figures beside the charts, as wide as their texts: eight short rows read at a glance.
        body = QHBoxLayout()
        body.addWidget(self.graphics, 1)
        body.addWidget(self.table, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        self.set_palette(palette)

    async def compute(
        self, trades: Sequence[ws.TradeInMoney], starting_balance: float, *, compounding: bool, seed: int = 0
    ) -> None:
        """Draw the paths of ``trades`` in a worker thread, then show them (nothing to draw without a trade)."""
        if not trades:
            self.status.setText("No closed trades: the paths are drawn from a run's closed trades.")
            return
        how = "compounding each trade's return on the equity" if compounding else "adding each trade's money"
        self.status.setText(
            f"Drawing {ws.MONTE_CARLO_PATHS:,} reshuffled and {ws.MONTE_CARLO_PATHS:,} resampled paths of "
            f"{len(trades):,} trades, {how}…"
        )
        report = await asyncio.to_thread(
            ws.simulate_monte_carlo, trades, starting_balance, compounding=compounding, seed=seed
        )
        self.show_report(report)

    def show_report(self, report: ws.MonteCarloReport) -> None:
        """Show ``report``: the selected way's bands and drawdowns, and the figures of both ways."""
        self.report = report
        how = "each trade's return compounded on the equity" if report.compounding else "each trade's money added"
        self.status.setText(
            f"{report.paths:,} paths each way of {report.trade_count:,} closed trades from "
            f"{_money(report.starting_balance)}, {how} (seed {report.seed})"
        )
        rows: list[list[Cell]] = []
        for key, title in WAY_ROWS.items():
            paths = report.reshuffled if key == "reshuffled" else report.resampled
            rows.append([Cell(title, bold=True), Cell(""), Cell(""), Cell("")])
            rows.append([Cell("Final equity"), *(Cell(_money(v), numeric=True) for v in self._finals(paths))])
            rows.append([Cell("Max drawdown"), *(Cell(_percent(v), numeric=True) for v in paths.drawdown_percentiles)])
            spent = Cell(_percent(paths.spent_share), numeric=True, tooltip="Paths whose equity was spent")
            rows.append([Cell("Equity spent"), Cell("", foreground=HINT_TEXT), spent, Cell("")])
        self.figures.set_cells(self.HEADER, rows)
        self.table.resizeColumnsToContents()
        frame = 2 * self.table.frameWidth()
        # Room for a vertical scroll bar too: a short page scrolls the rows, never the columns.
        scroll_bar = self.table.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.table.setFixedWidth(self.table.horizontalHeader().length() + frame + scroll_bar + 4)
        self.table.setMaximumHeight(
            self.table.verticalHeader().length() + self.table.horizontalHeader().height() + frame
        )
        self._draw()
        self.report_shown.emit()

    @staticmethod
    def _finals(paths: ws.MonteCarloPaths) -> tuple[float, float, float]:
        return float(paths.low[-1]), float(paths.median[-1]), float(paths.high[-1])

    def selected_paths(self) -> ws.MonteCarloPaths | None:
        """Return the paths the selector shows (None before a report)."""
        if self.report is None:
            return None
        return self.report.reshuffled if self.way.currentData() == "reshuffled" else self.report.resampled

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour the charts (dark or light theme)."""
        self._palette = palette
        self.graphics.setBackground(palette.background)
        for plot in (self.bands_plot, self.drawdown_plot):
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(palette.foreground))
                axis.setTextPen(pg.mkPen(palette.foreground))
        self.legend.setLabelTextColor(palette.foreground)
        backdrop = QColor(palette.background)
        backdrop.setAlpha(210)
        self.legend.setBrush(backdrop)
        for _sample, label in self.legend.items:
            label.setText(label.text)
        band = QColor(palette.win)
        band.setAlpha(BAND_ALPHA)
        self.band.setBrush(band)
        for edge in (self.low_curve, self.high_curve):
            edge.setPen(cosmetic_pen(palette.win, 1, Qt.PenStyle.DotLine))
        self.median_curve.setPen(cosmetic_pen(palette.win, 2))
        self.actual_curve.setPen(cosmetic_pen(palette.foreground, 1.5, Qt.PenStyle.DashLine))
        for line in self.percentile_lines:
            line.setPen(cosmetic_pen(palette.foreground, 1, Qt.PenStyle.DashLine))
            line.label.setColor(palette.foreground)
        self._draw()

    def _draw(self) -> None:
        paths = self.selected_paths()
        if paths is None or self.report is None:
            return
        x = paths.trade_numbers.astype(np.float64)
        self.low_curve.setData(x, paths.low)
        self.high_curve.setData(x, paths.high)
        self.median_curve.setData(x, paths.median)
        self.actual_curve.setData(x, self.report.actual)
        loss = QColor(self._palette.loss)
        loss.setAlpha(BAND_ALPHA * 2)
        self.drawdown_bars.setOpts(
            x0=paths.drawdown_edges[:-1],
            x1=paths.drawdown_edges[1:],
            height=paths.drawdown_counts,
            pen=cosmetic_pen(self._palette.loss),
            brush=loss,
        )
        for line, value in zip(self.percentile_lines, paths.drawdown_percentiles, strict=True):
            line.setValue(value)
            line.show()
        # The legend sits in the right-hand corner the paths leave empty: below them when they rise, above when
        # they fall.
        rising = paths.median[-1] >= paths.median[0]
        corner = (1, 1) if rising else (1, 0)
        self.legend.anchor(itemPos=corner, parentPos=corner, offset=(-10, -10) if rising else (-10, 10))
        for plot in (self.bands_plot, self.drawdown_plot):
            plot.enableAutoRange()

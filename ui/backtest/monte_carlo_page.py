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
from PySide6.QtWidgets import QComboBox, QLabel, QSplitter, QVBoxLayout, QWidget

import workstation as ws
from ui.charts.candle_item import DARK_PALETTE, ChartPalette, cosmetic_pen
from ui.widgets.formatting import HINT_TEXT
from ui.widgets.statistics_table import Cell, CellTableModel, CopyableTableView

#: The ways of drawing paths, as the selector names them.
WAYS = {
    "reshuffled": "Trade order reshuffled",
    "resampled": "Trades resampled with replacement",
}
#: The ways as the figures table heads its first column.
WAY_ROWS = {"reshuffled": "Reshuffled", "resampled": "Resampled"}
#: Heights (share of the plot from its bottom) of the 5, 50 and 95 % labels of the drawdowns' percentile lines: far
#: enough apart that close lines' labels do not overlap on a short plot.
PERCENTILE_LABEL_HEIGHTS = {5: 0.9, 50: 0.62, 95: 0.34}
#: Opacity (0–255) of the 5–95 % band.
BAND_ALPHA = 70


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _whole_money(value: float) -> str:
    return f"{value:,.0f}"


def _percent(value: float) -> str:
    return f"{value:.2f}%"


class MonteCarloPage(QWidget):
    """Equity bands over trade number and the distribution of max drawdown, for either way of drawing the trades.

    ``await compute(trades, starting_balance, compounding=...)`` draws the paths off the GUI thread and shows them;
    ``report_shown`` is emitted once they are drawn.
    """

    report_shown = Signal()

    PERCENTILES = ("5 %", "50 %", "95 %")

    def __init__(self, palette: ChartPalette = DARK_PALETTE, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: ws.MonteCarloReport | None = None
        self._palette = palette
        self.status = QLabel("No closed trades yet: the paths are drawn from a run's closed trades.", self)
        self.status.setWordWrap(True)
        # The bands' key is one line beside the charts: a legend inside the short plot covered much of the bands, one
        # above it took the plots' height.
        self.key = QLabel(self)
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self.way = QComboBox(self)
        for key, title in WAYS.items():
            self.way.addItem(title, key)
        # As narrow as the figures below it (the full name shows when the list opens).
        self.way.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.way.setMinimumContentsLength(16)
        self.way.currentIndexChanged.connect(self._draw)
        self.graphics = pg.GraphicsLayoutWidget()
        self.bands_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=0)
        self.drawdown_plot: pg.PlotItem = self.graphics.addPlot(row=0, col=1)
        # Equal halves: the drawdowns' axis title and percentile labels need as much room as the bands.
        self.graphics.ci.layout.setColumnStretchFactor(0, 1)
        self.graphics.ci.layout.setColumnStretchFactor(1, 1)
        self.bands_plot.setLabel("bottom", "Trade number")
        self.bands_plot.setLabel("left", "Equity")
        self.drawdown_plot.setLabel("bottom", "Max DD, % of peak")
        self.drawdown_plot.setLabel("left", "Paths")
        for plot in (self.bands_plot, self.drawdown_plot):
            plot.setMenuEnabled(False)
            for side in ("left", "bottom"):
                plot.getAxis(side).enableAutoSIPrefix(False)  # money and drawdowns as they are, not "(x0.001)"
        # The band between the 5 % and 95 % edges is shaded; the key names it by its (dotted) edges.
        self.high_curve = pg.PlotCurveItem()
        self.low_curve = pg.PlotCurveItem()
        self.band = pg.FillBetweenItem(self.low_curve, self.high_curve)
        self.median_curve = pg.PlotCurveItem()
        self.actual_curve = pg.PlotCurveItem()
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
            for share, position in PERCENTILE_LABEL_HEIGHTS.items()
        ]
        for line in self.percentile_lines:
            line.hide()
            self.drawdown_plot.addItem(line, ignoreBounds=True)
        self.figures = CellTableModel(self)
        self.figures.set_cells((WAY_ROWS["reshuffled"], *self.PERCENTILES), [])
        self.table = CopyableTableView(self)
        self.table.setModel(self.figures)
        self.table.verticalHeader().hide()
        # The selector, the selected way's figures (three rows, as wide as their texts) and what was drawn in a
        # column beside the charts: in the run tab's short details pane the charts keep its whole height and most of
        # its width (the splitter gives the column more when wanted).
        column_widget = QWidget(self)
        column = QVBoxLayout(column_widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.way)
        column.addWidget(self.table)
        column.addWidget(self.key)
        column.addWidget(self.status)
        column.addStretch(1)
        self.body = QSplitter(Qt.Orientation.Horizontal, self)
        self.body.setChildrenCollapsible(False)
        self.body.addWidget(column_widget)
        self.body.addWidget(self.graphics)
        self.body.setStretchFactor(0, 0)
        self.body.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.body, 1)
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
        self._draw()
        # The column as wide as the figures, the charts the rest.
        self.body.setSizes([self.table.width(), max(self.body.width() - self.table.width(), 1)])
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
        self.key.setText(
            " ".join(
                f'<span style="color:{colour}">{line}</span>&nbsp;{name}&nbsp;'
                for line, colour, name in (
                    ("┈┈", palette.win, "5–95 %"),
                    ("━━", palette.win, "Median"),
                    ("╌╌", palette.foreground, "This run"),
                )
            )
        )
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

    def _show_figures(self, paths: ws.MonteCarloPaths) -> None:
        """Show the figures of the selected way: final equity, max drawdown and the share of spent paths."""
        spent = Cell(_percent(paths.spent_share), numeric=True, tooltip="Paths whose equity was spent")
        rows = [
            [Cell("Final equity"), *(Cell(_whole_money(v), numeric=True) for v in self._finals(paths))],
            [Cell("Max drawdown"), *(Cell(_percent(v), numeric=True) for v in paths.drawdown_percentiles)],
            [Cell("Equity spent"), Cell("", foreground=HINT_TEXT), spent, Cell("")],
        ]
        self.figures.set_cells((WAY_ROWS[str(self.way.currentData())], *self.PERCENTILES), rows)
        self.table.resizeColumnsToContents()
        frame = 2 * self.table.frameWidth()
        self.table.setFixedWidth(self.table.horizontalHeader().length() + frame)
        self.status.setMaximumWidth(self.table.width())
        self.way.setMaximumWidth(self.table.width())
        self.table.setMaximumHeight(
            self.table.verticalHeader().length() + self.table.horizontalHeader().height() + frame
        )

    def _draw(self) -> None:
        paths = self.selected_paths()
        if paths is None or self.report is None:
            return
        self._show_figures(paths)
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
        for plot in (self.bands_plot, self.drawdown_plot):
            plot.enableAutoRange()

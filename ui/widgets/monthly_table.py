"""Net PnL % of each calendar month of a run, one row per year, as in the HTML report."""

from __future__ import annotations

import math

from PySide6.QtWidgets import QHeaderView, QVBoxLayout, QWidget

import workstation as ws
from ui.widgets.formatting import GAIN_TEXT, GAIN_TINT, LOSS_TEXT, LOSS_TINT, MONTH_NAMES, signed
from ui.widgets.statistics_table import Cell, CellTableModel, CopyableTableView


def _percent_cell(value: float) -> Cell:
    if value > 0:
        return Cell(signed(value, 2) + "%", numeric=True, foreground=GAIN_TEXT, background=GAIN_TINT)
    if value < 0:
        return Cell(signed(value, 2) + "%", numeric=True, foreground=LOSS_TEXT, background=LOSS_TINT)
    return Cell(signed(value, 2) + "%", numeric=True)


class MonthlyReturnsTable(QWidget):
    """Years × (Jan … Dec, Total): signed percent, tinted green for a gain and red for a loss, empty without trades.

    The total of a year is the left-to-right sum of its months, as the report adds them.
    """

    HEADER = (*MONTH_NAMES, "Total")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CellTableModel(self)
        self.model.set_cells(self.HEADER, [])
        self.table = CopyableTableView(self)
        self.table.setAlternatingRowColors(False)  # the tints carry the meaning; stripes would muddle them
        self.table.setModel(self.model)
        # Every month as wide as its text ("-78.60%"): stretched to the view, narrow tabs cut the figures short.
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    def set_monthly(self, monthly: ws.MonthlyReturns) -> None:
        """Show the monthly returns of one run (``RunSeries.monthly_returns``)."""
        rows = []
        for row, total in zip(monthly.table.tolist(), monthly.year_totals, strict=True):
            cells = [Cell("", numeric=True) if math.isnan(value) else _percent_cell(value) for value in row]
            cells.append(Cell("", numeric=True) if total is None else _percent_cell(total))
            rows.append(cells)
        self.model.set_cells(self.HEADER, rows, row_titles=[str(year) for year in monthly.years])

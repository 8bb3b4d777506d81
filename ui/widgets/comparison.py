"""Two or more runs side by side: one row per figure, one column per run, the better value in bold."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QVBoxLayout, QWidget

import workstation as ws
from ui.widgets.formatting import NOT_AVAILABLE, best_of, minute_time
from ui.widgets.statistics_table import Cell, CellTableModel, CopyableTableView

DELTA_HEADER = "Δ (B − A)"


def run_title(series: ws.RunSeries) -> str:
    """Return the column title of a run: ``strategy · symbol · first day → last day`` of its frame (UTC)."""
    first_day = minute_time(series.frame_start)[:10]
    last_day = minute_time(series.frame_end)[:10]
    return f"{series.strategy_name} · {series.symbol} · {first_day} → {last_day}"


def _delta(first: ws.StatisticFigure, second: ws.StatisticFigure) -> str:
    if first.value is None or second.value is None:
        return NOT_AVAILABLE
    return first.measure.change(second.value - first.value)


class ComparisonView(QWidget):
    """The statistics of several runs side by side, with the same texts as each run's own statistics table.

    In every row where one way is better, the best value is bold (all of them on a tie, none when all are equal).
    With exactly two runs a last column gives B − A in the figure's unit (percentages in percentage points).
    Figures that need a run's series (net PnL in money, buy-and-hold, exposure, times) are shown only when every
    run has its series, so each row compares like with like.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CellTableModel(self)
        self.model.set_cells(["Figure"], [])
        self.table = CopyableTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    def set_runs(self, runs: Sequence[tuple[str, ws.BacktestStatistics, ws.RunSeries | None]]) -> None:
        """Show ``runs`` as ``(title, statistics, series)``, first run in the first column (A), then B, …."""
        with_series = all(series is not None for _, _, series in runs)
        columns = [ws.statistics_figures(stats, series if with_series else None) for _, stats, series in runs]
        compare_two = len(runs) == 2
        header = ["Figure", *(title for title, _, _ in runs), *([DELTA_HEADER] if compare_two else [])]
        rows = []
        for figures in zip(*columns, strict=True):
            first = figures[0]
            winners = best_of([figure.value for figure in figures], first.direction)
            cells = [Cell(first.label, tooltip=first.direction)]
            cells += [Cell(figure.text, numeric=True, bold=place in winners) for place, figure in enumerate(figures)]
            if compare_two:
                cells.append(Cell(_delta(figures[0], figures[1]), numeric=True))
            rows.append(cells)
        self.model.set_cells(header, rows)
        # A few dozen rows: fit every column once per comparison so no title or value is cut.
        self.table.resizeColumnsToContents()

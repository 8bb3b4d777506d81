"""Two or more runs side by side: one row per figure, one column per run, the better value in bold."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

import workstation as ws
from ui.charts.candle_item import DARK_PALETTE, ChartPalette
from ui.compare.equity_overlay import EquityOverlay, normalised_balance, normalised_equity
from ui.widgets.formatting import NOT_AVAILABLE, best_of, minute_time
from ui.widgets.statistics_table import Cell, CellTableModel, CopyableTableView

DELTA_HEADER = "Δ (B − A)"
#: What a run without an account started with, unless told: the account's default balance.
DEFAULT_STARTING_BALANCE: float = ws.AccountSettings.model_fields["starting_balance"].default


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
    """Several runs side by side: their equity curves overlaid, then their figures with the same texts as each run's
    own statistics table.

    The chart draws each run's equity normalised to its starting balance (``ui.compare.equity_overlay``). The table
    reads as a run's statistics page: the account figures first when every run has an account, then the per-trade
    figures, each group under its title. In every row where one way is better, the best value is bold (all of them
    on a tie, none when all are equal). With exactly two runs a last column gives B − A in the figure's unit
    (percentages in percentage points). Figures that need a run's series (buy-and-hold, times, …) are shown only when
    every run has its series, so each row compares like with like.
    """

    def __init__(self, parent: QWidget | None = None, palette: ChartPalette = DARK_PALETTE) -> None:
        super().__init__(parent)
        self.overlay = EquityOverlay(palette, self)
        self.model = CellTableModel(self)
        self.model.set_cells(["Figure"], [])
        self.table = CopyableTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.overlay)
        splitter.addWidget(self.table)
        splitter.setSizes([300, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def set_runs(
        self,
        runs: Sequence[tuple[str, ws.BacktestStatistics, ws.RunSeries | None]],
        accounts: Sequence[ws.AccountReport | None] | None = None,
        starting_balances: Sequence[float] | None = None,
    ) -> None:
        """Show ``runs`` as ``(title, statistics, series)``, first run in the first column (A), then B, ….

        ``accounts`` are the runs' accounts in the same order (None: runs without one); ``starting_balances`` what
        each run started with (by default the account's default), which normalises the curve of a run without one.
        """
        run_accounts = list(accounts) if accounts is not None else [None] * len(runs)
        balances = list(starting_balances) if starting_balances is not None else [DEFAULT_STARTING_BALANCE] * len(runs)
        with_series = all(series is not None for _, _, series in runs)
        with_accounts = all(account is not None for account in run_accounts)
        groups = [
            ws.run_figures(stats, series if with_series else None, account if with_accounts else None)
            for (_, stats, series), account in zip(runs, run_accounts, strict=True)
        ]
        compare_two = len(runs) == 2
        header = ["Figure", *(title for title, _, _ in runs), *([DELTA_HEADER] if compare_two else [])]
        rows = []
        for run_groups in zip(*groups, strict=True):
            rows.append([Cell(run_groups[0].title, bold=True), *(Cell("") for _ in header[1:])])
            for figures in zip(*(group.figures for group in run_groups), strict=True):
                rows.append(_figure_row(figures, compare_two))
        self.model.set_cells(header, rows)
        # A few dozen rows: fit every column once per comparison so no title or value is cut.
        self.table.resizeColumnsToContents()
        curves = []
        for (title, _, series), account, balance in zip(runs, run_accounts, balances, strict=True):
            if account is not None and account.equity_curve:
                curves.append(normalised_equity(title, account))
            elif series is not None:
                curves.append(normalised_balance(title, series, balance))
        self.overlay.set_runs(curves)

    def set_palette(self, palette: ChartPalette) -> None:
        """Draw the chart in ``palette`` (a theme change)."""
        self.overlay.set_palette(palette)


def _figure_row(figures: Sequence[ws.StatisticFigure], compare_two: bool) -> list[Cell]:
    first = figures[0]
    winners = best_of([figure.value for figure in figures], first.direction)
    cells = [Cell(first.label, tooltip=first.direction)]
    cells += [Cell(figure.text, numeric=True, bold=place in winners) for place, figure in enumerate(figures)]
    if compare_two:
        cells.append(Cell(_delta(figures[0], figures[1]), numeric=True))
    return cells

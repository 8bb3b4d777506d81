"""Fault 12: the report's "Expected Yearly Returns" is explained where it is shown.

Issue 13 saw thousands of percent (SPEC §11.2's linear extrapolation); by backtest-kit 19.5's rules (issue 15) such a
run has none, and the note says why.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from backtest_runs import RSI_REVERSION_FEBRUARY, engine_results
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from signal_factory import closed_result, signal_row

import workstation as ws
from ui.widgets.statistics_table import StatisticsTable
from workstation.reports.figures import yearly_returns_note
from workstation.reports.html import render_backtest_html
from workstation.reports.statistics import compute_backtest_statistics

NOTE = "backtest-kit 19.5 gives none for this run: 1,375 trades a year are more than 365."


@pytest.fixture(scope="module")
def month_of_rsi_reversion() -> tuple[ws.BacktestStatistics, ws.RunSeries]:
    """The statistics and series of the run issue 13 reported fault 12 on."""

    async def run() -> tuple[ws.BacktestStatistics, ws.RunSeries]:
        await engine_results(RSI_REVERSION_FEBRUARY)
        symbol, strategy_name = RSI_REVERSION_FEBRUARY.symbol, RSI_REVERSION_FEBRUARY.strategy_name
        return await ws.Backtest.get_data(symbol, strategy_name), await ws.Backtest.get_series(symbol, strategy_name)

    return asyncio.run(run())


def test_the_html_report_explains_the_figure_under_its_table(
    month_of_rsi_reversion: tuple[ws.BacktestStatistics, ws.RunSeries],
) -> None:
    statistics, series = month_of_rsi_reversion
    page = render_backtest_html(statistics, series)
    assert '<tr><th>Expected Yearly Returns</th><td class="num">N/A</td>' in page
    assert re.findall(r'<p class="note">.*?</p>', page) == [
        f'<p class="note"><b>Expected Yearly Returns:</b> {NOTE}</p>'
    ]


def test_the_window_explains_it_on_the_figure_s_row(
    qtbot: QtBot, month_of_rsi_reversion: tuple[ws.BacktestStatistics, ws.RunSeries]
) -> None:
    table = StatisticsTable()
    qtbot.addWidget(table)
    table.set_statistics(*month_of_rsi_reversion)
    row = [table.model.index(r, 0).data() for r in range(table.model.rowCount())].index("Expected Yearly Returns")
    tips = [table.model.index(row, column).data(Qt.ItemDataRole.ToolTipRole) for column in range(3)]
    assert tips == [NOTE, NOTE, NOTE]
    assert table.model.index(row - 1, 1).data(Qt.ItemDataRole.ToolTipRole) is None


@pytest.mark.parametrize(
    ("pnls", "days", "note"),
    [
        ([1.0, -0.5], 30, "backtest-kit 19.5 gives none for this run: 2 trades are fewer than 10."),
        ([1.0, -0.5] * 5, 7, "backtest-kit 19.5 gives none for this run: 7.0 days of trades are fewer than 14."),
        ([1.0, -0.5] * 5, 30, "Not a forecast: the run's compounded equity carried over a year's worth of its trades."),
    ],
)
def test_the_note_says_how_to_read_the_figure_or_why_there_is_none(pnls: list[float], days: int, note: str) -> None:
    closed = [trade(index, len(pnls), pnl, days) for index, pnl in enumerate(pnls)]
    statistics = compute_backtest_statistics(closed)
    assert (statistics.expected_yearly_returns is None) == note.startswith("backtest-kit")
    assert yearly_returns_note(statistics) == note


T0 = 1_704_067_200_000
DAY = 86_400_000


def trade(index: int, count: int, pnl: float, days: int) -> ws.ClosedResult:
    """The ``index``-th of ``count`` trades an hour long, spread so the first opens at T0 and the last closes
    ``days`` later."""
    opened = T0 + index * (days * DAY - 3_600_000) // (count - 1)
    closed_at = opened + 3_600_000
    signal = signal_row(f"t{index}", pending_at=opened, prices=(100.0, 101.0, 99.0))
    return closed_result(signal, at=closed_at, price=100.0 + pnl, pnl=pnl)

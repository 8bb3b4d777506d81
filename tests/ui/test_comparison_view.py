"""Runs side by side: same texts as each run's statistics, B − A per figure, the better value in bold (pytest-qt)."""

from __future__ import annotations

from pathlib import Path

import pytest
from account_factory import account
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from test_statistics_widgets import cell_texts, run, winners_only
from test_trade_table import MINUTE, T0, four_trades, make_closed, screenshot_dir

from ui.widgets import ComparisonView, StatisticsTable, run_title
from workstation.reports.series import compute_run_series

# Run A: four mixed trades; run B: two winners. Columns: figure, A, B, Δ (B − A). Below 10 trades backtest-kit 19.5
# gives no deviation, ratio or price profile; trades without excursions (these) no peak or fall.
EXPECTED = [
    ["Per trade (% of each position)", "", "", ""],
    ["Total signals", "4", "2", "-2"],
    ["Win rate", "50.00% (2W / 2L)", "100.00% (2W / 0L)", "+50.00 pp"],
    ["Average PNL", "+0.88%", "+0.88%", "0.00 pp"],
    ["Total PNL", "+3.50%", "+1.75%", "-1.75 pp"],
    ["Standard Deviation Per Trade", "N/A", "N/A", "N/A"],
    ["Sharpe Ratio", "N/A", "N/A", "N/A"],
    ["Annualized Sharpe Ratio", "N/A", "N/A", "N/A"],
    ["Certainty Ratio", "N/A", "N/A", "N/A"],
    ["Expected Yearly Returns", "N/A", "N/A", "N/A"],
    ["Avg Peak PNL", "N/A", "N/A", "N/A"],
    ["Avg Max Drawdown PNL", "N/A", "N/A", "N/A"],
    ["Sortino Ratio", "N/A", "N/A", "N/A"],
    ["Calmar Ratio", "N/A", "N/A", "N/A"],
    ["Recovery Factor", "N/A", "N/A", "N/A"],
    ["Expectancy", "N/A", "N/A", "N/A"],
    ["Median PNL", "+0.500%", "+0.875%", "+0.375 pp"],
    ["Avg Duration", "393.9 min", "22.5 min", "-371.4 min"],
    ["Avg Win Duration", "52.5 min", "22.5 min", "-30.0 min"],
    ["Avg Loss Duration", "735.2 min", "N/A", "N/A"],
    ["Avg Consecutive Win PNL", "+7.750%", "+1.750%", "-6.000 pp"],
    ["Avg Consecutive Loss PNL", "-12.000%", "N/A", "N/A"],
    ["Trend", "N/A", "N/A", "N/A"],
    ["Trend Strength", "N/A", "N/A", "N/A"],
    ["Trend Confidence (R²)", "N/A", "N/A", "N/A"],
    ["Buyer Pressure", "N/A", "N/A", "N/A"],
    ["Seller Pressure", "N/A", "N/A", "N/A"],
    ["Buyer Strength", "N/A", "N/A", "N/A"],
    ["Seller Strength", "N/A", "N/A", "N/A"],
    ["Pressure Imbalance", "N/A", "N/A", "N/A"],
    ["Median Step Size", "N/A", "N/A", "N/A"],
    ["Profit Factor", "1.292", "N/A", "N/A"],
    ["Max Consecutive Wins", "1", "2", "+1"],
    ["Max Consecutive Losses", "2", "0", "-2"],
    ["Average Win", "+7.75%", "+0.88%", "-6.88 pp"],
    ["Average Loss", "-6.00%", "N/A", "N/A"],
    ["Best Trade", "+12.50%", "+1.25%", "-11.25 pp"],
    ["Worst Trade", "-10.00%", "+0.50%", "+10.50 pp"],
    ["Total Fees", "0.80", "0.40", "-0.40"],
    ["Net PNL (money)", "+3.34", "+1.75", "-1.59"],
    ["Buy & Hold Return", "+2.50%", "+2.50%", "0.00 pp"],
    ["Exposure", "52.50%", "1.50%", "-51.00 pp"],
    ["Average Holding (min)", "393.9", "22.5", "-371.4"],
    ["Longest Flat Stretch (min)", "956.0", "2926.0", "+1970.0"],
]

# Where one way is better and the runs differ, the better value is bold: 1 is run A, 2 is run B.
EXPECTED_BOLD = {
    "Win rate": [2],
    "Total PNL": [1],
    "Avg Consecutive Win PNL": [1],
    "Max Consecutive Losses": [2],
    "Average Win": [1],
    "Total Fees": [2],
    "Net PNL (money)": [1],
}


def bold_columns(view: ComparisonView) -> dict[str, list[int]]:
    found = {}
    for row in range(view.model.rowCount()):
        columns = [
            column
            for column in range(1, view.model.columnCount())  # the figures' values, not a group's title
            if view.model.index(row, column).data(Qt.ItemDataRole.FontRole) is not None
        ]
        if columns:
            found[view.model.index(row, 0).data()] = columns
    return found


@pytest.fixture
def view(qtbot: QtBot) -> ComparisonView:
    widget = ComparisonView()
    qtbot.addWidget(widget)
    return widget


def test_two_runs_side_by_side_with_their_difference(view: ComparisonView, qtbot: QtBot, tmp_path: Path) -> None:
    first, second = run(four_trades()), run(winners_only())
    view.set_runs([("run A", *first), ("run B", *second)])
    header = [view.model.headerData(c, Qt.Orientation.Horizontal) for c in range(view.model.columnCount())]
    assert header == ["Figure", "run A", "run B", "Δ (B − A)"]
    assert cell_texts(view.model) == EXPECTED
    assert bold_columns(view) == EXPECTED_BOLD
    assert view.model.index(4, 0).data(Qt.ItemDataRole.ToolTipRole) == "higher is better"
    right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    assert {view.model.index(4, c).data(Qt.ItemDataRole.TextAlignmentRole) for c in (1, 2, 3)} == {right}

    view.resize(720, 760)
    view.show()
    qtbot.waitExposed(view)
    view.grab().save(str(screenshot_dir(tmp_path) / "comparison_view.png"))
    metrics = view.table.fontMetrics()
    for column, title in enumerate(header):
        widest = max([metrics.horizontalAdvance(row[column]) for row in EXPECTED] + [metrics.horizontalAdvance(title)])
        assert view.table.columnWidth(column) > widest


def test_each_column_reads_as_the_runs_own_statistics_table(view: ComparisonView, qtbot: QtBot) -> None:
    first, second = run(four_trades()), run(winners_only())
    view.set_runs([("run A", *first), ("run B", *second)])
    for column, (statistics, series) in enumerate([first, second], start=1):
        single = StatisticsTable()
        qtbot.addWidget(single)
        single.set_statistics(statistics, series)
        assert [row[column] for row in cell_texts(view.model)] == [row[1] for row in cell_texts(single.model)]


def test_three_runs_have_no_difference_column_and_ties_are_all_bold(view: ComparisonView) -> None:
    third = run(
        [
            make_closed("t-1", pnl=-1.0, pending_at=T0, close_timestamp=T0 + 10 * MINUTE, close_reason="stop_loss"),
            make_closed("t-2", pnl=4.5, pending_at=T0 + 20 * MINUTE, close_timestamp=T0 + 50 * MINUTE),
        ]
    )
    view.set_runs([("A", *run(four_trades())), ("B", *run(winners_only())), ("C", *third)])
    assert [view.model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == ["Figure", "A", "B", "C"]
    assert view.model.columnCount() == 4
    texts = {row[0]: row[1:] for row in cell_texts(view.model)}
    assert texts["Total PNL"] == ["+3.50%", "+1.75%", "+3.50%"]
    assert texts["Profit Factor"] == ["1.292", "N/A", "4.500"]
    bold = bold_columns(view)
    assert bold["Total PNL"] == [1, 3]  # a tie for the best: both bold
    assert bold["Profit Factor"] == [3]  # N/A takes no part
    assert bold["Max Consecutive Losses"] == [2]  # lower is better
    assert bold["Avg Consecutive Loss PNL"] == [3]  # closer to 0 is better: -1.000 % beats -12.000 %
    assert bold["Average PNL"] == [3]
    assert "Best Trade" not in bold  # neither way is better


def test_series_figures_need_every_runs_series(view: ComparisonView) -> None:
    first = run(four_trades())
    view.set_runs([("A", *first), ("B", run(winners_only())[0], None)])
    assert [row[0] for row in cell_texts(view.model)][-2:] == ["Worst Trade", "Total Fees"]
    assert view.model.rowCount() == 39


def test_no_runs_leave_an_empty_table(view: ComparisonView) -> None:
    view.set_runs([("A", *run(four_trades()))])
    view.set_runs([])
    assert view.model.rowCount() == 0
    assert view.model.headerData(0, Qt.Orientation.Horizontal) == "Figure"


def test_run_title_names_strategy_symbol_and_period() -> None:
    series = compute_run_series(
        four_trades(),
        symbol="ETHUSDT",
        strategy_name="sma-cross-market",
        exchange_name="demo",
        frame_start=T0,
        frame_end=T0 + 90 * 1440 * MINUTE - MINUTE,
        first_close=None,
        last_close=None,
    )
    assert run_title(series) == "sma-cross-market · ETHUSDT · 2024-01-01 → 2024-03-30"


def test_runs_with_accounts_read_the_account_first_and_overlay_normalised_equity(view: ComparisonView) -> None:
    """A: 10,000 → 10,500 → 10,200 (max drawdown 300 / 10,500 = 2.857 %); B: 2,000 → 2,300.

    Normalised to their starting balances: A 100 → 105 → 102, B 100 → 115, over days since T0 (1 day = 1440 min).
    """
    first, second = run(four_trades()), run(winners_only())
    accounts = [
        account(
            10_000.0,
            [(0, 10_000.0), (1440, 10_500.0), (2880, 10_200.0)],
            max_drawdown_percent=300 / 10_500 * 100,
            max_drawdown_money=300.0,
            exposure_percent=52.5,
            fees_paid=0.8,
        ),
        account(2_000.0, [(0, 2_000.0), (720, 2_300.0)], exposure_percent=1.5, fees_paid=0.4),
    ]

    view.set_runs([("run A", *first), ("run B", *second)], accounts=accounts)

    rows = cell_texts(view.model)
    assert rows[:14] == [
        ["Account", "", "", ""],
        ["Net profit", "+200.00", "+300.00", "+100.00"],
        ["Return", "+2.00%", "+15.00%", "+13.00 pp"],
        ["Max drawdown", "2.86%", "0.00%", "-2.86 pp"],
        ["Max drawdown (money)", "300.00", "0.00", "-300.00"],
        ["CAGR", "N/A", "N/A", "N/A"],
        ["Exposure", "52.50%", "1.50%", "-51.00 pp"],
        ["Fees paid", "0.80", "0.40", "-0.40"],
        ["Sharpe ratio (daily)", "N/A", "N/A", "N/A"],
        ["Sortino ratio (daily)", "N/A", "N/A", "N/A"],
        ["Longest drawdown (days)", "0.0", "0.0", "0.0"],
        ["Starting balance → final equity", "10,000.00 → 10,200.00", "2,000.00 → 2,300.00", "-7,900.00"],
        ["Equity spent", "never", "never", "N/A"],
        ["Per trade (% of each position)", "", "", ""],
    ]
    assert bold_columns(view)["Return"] == [2]
    assert bold_columns(view)["Max drawdown"] == [2]
    curves = view.overlay.curves
    assert [curve.name() for curve in curves] == ["run A", "run B"]
    assert curves[0].getData()[0].tolist() == [0.0, 1.0, 2.0]
    assert curves[0].getData()[1].tolist() == [100.0, 105.0, 102.0]
    assert curves[1].getData()[0].tolist() == [0.0, 0.5]
    assert curves[1].getData()[1].tolist() == [100.0, 2_300.0 / 2_000.0 * 100]  # 114.99999999999999


def test_runs_without_accounts_overlay_their_balance_at_each_close(view: ComparisonView) -> None:
    """A stored run without an account: its balance is the starting balance plus the money of each close."""
    first, second = run(four_trades()), run(winners_only())

    view.set_runs([("run A", *first), ("run B", *second)], starting_balances=[10_000.0, 1_000.0])

    series = first[1]
    days, percent = view.overlay.curves[0].getData()
    assert days.tolist() == [0.0, *((series.step_times - T0) / (1440 * MINUTE)).tolist()]
    assert percent.tolist() == [100.0, *((10_000.0 + series.equity_money) / 10_000.0 * 100).tolist()]
    assert view.overlay.curves[1].getData()[1][-1] == (1_000.0 + second[1].equity_money[-1]) / 1_000.0 * 100

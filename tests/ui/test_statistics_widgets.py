"""Statistics and monthly returns tables: the same texts as the HTML report of the same run (pytest-qt)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication
from pytestqt.qtbot import QtBot
from test_trade_table import MINUTE, T0, four_trades, make_closed, screenshot_dir

import workstation as ws
from ui.widgets import MonthlyReturnsTable, StatisticsTable
from ui.widgets import formatting as gui
from ui.widgets.statistics_table import CellTableModel
from workstation.reports import formatting as report
from workstation.reports.html import extra_statistics_rows, render_backtest_html, statistics_rows
from workstation.reports.series import compute_run_series
from workstation.reports.statistics import compute_backtest_statistics
from workstation.timeutil import iso

FRAME_END = T0 + 3000 * MINUTE


def run(closed: list[ws.ClosedResult], *, frame_end: int = FRAME_END) -> tuple[ws.BacktestStatistics, ws.RunSeries]:
    """Statistics and series of a run over the frame T0 → ``frame_end``, bought at 42000 and sold at 43050."""
    statistics = compute_backtest_statistics(closed)
    series = compute_run_series(
        closed,
        symbol="BTCUSDT",
        strategy_name="one-shot",
        exchange_name="demo",
        frame_start=T0,
        frame_end=frame_end,
        first_close=42000.0,
        last_close=43050.0,
    )
    return statistics, series


def winners_only() -> list[ws.ClosedResult]:
    return [
        make_closed("w-1", pnl=1.25, pending_at=T0, close_timestamp=T0 + 30 * MINUTE),
        make_closed("w-2", pnl=0.5, pending_at=T0 + 60 * MINUTE, close_timestamp=T0 + 75 * MINUTE),
    ]


def months_apart() -> list[ws.ClosedResult]:
    """Closes in Jan 2024 (+3, -1), Mar 2024 (-2.5), Jun 2024 (0) and Feb 2025 (+4.25)."""
    day = 1440 * MINUTE
    return [
        make_closed("m-1", pnl=3.0, pending_at=T0, close_timestamp=T0 + 60 * MINUTE),
        make_closed("m-2", pnl=-1.0, pending_at=T0 + 2 * day, close_timestamp=T0 + 3 * day),
        make_closed("m-3", pnl=-2.5, pending_at=T0 + 70 * day, close_timestamp=T0 + 71 * day),
        make_closed("m-4", pnl=0.0, pending_at=T0 + 160 * day, close_timestamp=T0 + 161 * day),
        make_closed("m-5", pnl=4.25, pending_at=T0 + 400 * day, close_timestamp=T0 + 401 * day),
    ]


def cell_texts(model: CellTableModel) -> list[list[str]]:
    return [
        [str(model.index(row, column).data()) for column in range(model.columnCount())]
        for row in range(model.rowCount())
    ]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return screenshot_dir(tmp_path)


finite_or_not = st.floats(allow_nan=True, allow_infinity=True)


@given(value=finite_or_not, digits=st.integers(min_value=0, max_value=8))
def test_fixed_and_signed_write_numbers_as_the_reports_do(value: float, digits: int) -> None:
    assert gui.fixed(value, digits) == report.fixed(value, digits)
    assert gui.signed(value, digits) == report.signed(value, digits)


@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_usd_writes_prices_as_the_reports_do(value: float) -> None:
    assert gui.usd(value) == report.usd(value)


@given(timestamp=st.integers(min_value=0, max_value=253402300799999))
def test_times_read_as_in_the_reports(timestamp: int) -> None:
    assert gui.iso(timestamp) == report.iso(timestamp) == iso(timestamp)
    assert gui.minute_time(timestamp) == iso(timestamp)[:16].replace("T", " ")


def test_helper_examples() -> None:
    assert gui.minute_time(T0 + 10 * MINUTE + 59_999) == "2024-01-01 00:10"
    assert gui.signed(1.5, 2) == "+1.50"
    assert gui.signed(0.0, 2) == "0.00"
    assert gui.or_na(None, str) == "N/A"


def report_rows(statistics: ws.BacktestStatistics, series: ws.RunSeries) -> list[tuple[str, str, str]]:
    return statistics_rows(statistics) + extra_statistics_rows(statistics, series)


@pytest.mark.parametrize(
    "closed", [four_trades(), [], winners_only(), months_apart()], ids=["mixed", "empty", "winners", "months"]
)
def test_figures_are_the_html_report_rows(closed: list[ws.ClosedResult]) -> None:
    statistics, series = run(closed, frame_end=T0 + 402 * 1440 * MINUTE)
    figures = ws.statistics_figures(statistics, series)
    assert [(figure.label, figure.text, figure.direction) for figure in figures] == report_rows(statistics, series)
    without_series = ws.statistics_figures(statistics, None)
    assert [(figure.label, figure.text, figure.direction) for figure in without_series] == report_rows(
        statistics, series
    )[:38]


def test_statistics_table_shows_every_figure_as_the_report(qtbot: QtBot, shots: Path) -> None:
    table = StatisticsTable()
    qtbot.addWidget(table)
    statistics, series = run(four_trades())
    table.set_statistics(statistics, series)
    assert [table.model.headerData(c, Qt.Orientation.Horizontal) for c in range(3)] == ["Figure", "Value", ""]
    # A run without an account (stored before runs had one) shows its per-trade figures alone, under their title.
    assert cell_texts(table.model) == [
        ["Per trade (% of each position)", "", ""],
        *(list(row) for row in report_rows(statistics, series)),
    ]
    assert cell_texts(table.model)[2] == ["Win rate", "50.00% (2W / 2L)", "higher is better"]
    # Four trades are too few for backtest-kit 19.5 to annualise (SPEC §11 extrapolated +1167.63 %).
    assert cell_texts(table.model)[9] == ["Expected Yearly Returns", "N/A", "higher is better"]
    assert cell_texts(table.model)[-3] == ["Exposure", "52.50%", ""]
    value = table.model.index(1, 1)
    assert value.data(Qt.ItemDataRole.TextAlignmentRole) == Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

    table.resize(460, 760)
    table.show()
    qtbot.waitExposed(table)
    image = table.grab().toImage()
    image.save(str(shots / "statistics_table.png"))
    # No value is cut: the Value column is wider than its widest text.
    widest = max(table.table.fontMetrics().horizontalAdvance(row[1]) for row in cell_texts(table.model))
    assert table.table.columnWidth(1) > widest


def test_an_empty_run_shows_not_available(qtbot: QtBot) -> None:
    table = StatisticsTable()
    qtbot.addWidget(table)
    statistics, series = run([])
    table.set_statistics(statistics, series)
    texts = {row[0]: row[1] for row in cell_texts(table.model)}
    assert texts["Win rate"] == "N/A"
    assert texts["Sharpe Ratio"] == "N/A"
    assert texts["Net PNL (money)"] == "N/A"
    assert texts["Exposure"] == "0.00%"
    assert texts["Longest Flat Stretch (min)"] == "3001.0"


def test_without_series_the_series_figures_are_left_out(qtbot: QtBot) -> None:
    table = StatisticsTable()
    qtbot.addWidget(table)
    statistics, _ = run(winners_only())
    table.set_statistics(statistics, None)
    assert [row[0] for row in cell_texts(table.model)][-3:] == ["Best Trade", "Worst Trade", "Total Fees"]
    assert {row[0]: row[1] for row in cell_texts(table.model)}["Profit Factor"] == "N/A"


def test_ctrl_c_copies_the_selected_cells_as_tsv(qtbot: QtBot) -> None:
    table = StatisticsTable()
    qtbot.addWidget(table)
    statistics, series = run(four_trades())
    table.set_statistics(statistics, series)
    selection = table.table.selectionModel()
    for row, column in [(2, 0), (2, 1), (4, 0), (4, 1), (3, 1)]:
        selection.select(table.model.index(row, column), selection.SelectionFlag.Select)
    qtbot.keyClick(table.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == (
        "Win rate\t50.00% (2W / 2L)\n\t+0.88%\nTotal PNL\t+3.50%\n"  # (3, 0) is not selected: an empty cell
    )


def report_month_cells(html: str) -> list[list[str]]:
    """The cells of the HTML report's monthly table, one list per year (year first)."""
    table = html.split('<table class="months">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in body.split("</tr>") if "<tr>" in row]


def test_monthly_table_reads_as_the_report(qtbot: QtBot, shots: Path) -> None:
    table = MonthlyReturnsTable()
    qtbot.addWidget(table)
    statistics, series = run(months_apart(), frame_end=T0 + 402 * 1440 * MINUTE)
    table.set_monthly(series.monthly_returns)
    model = table.model
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(13)] == [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Total"
    ]  # fmt: skip
    assert [model.headerData(r, Qt.Orientation.Vertical) for r in range(2)] == ["2024", "2025"]
    assert cell_texts(model) == [
        ["+2.00%", "", "-2.50%", "", "", "0.00%", "", "", "", "", "", "", "-0.50%"],
        ["", "+4.25%", "", "", "", "", "", "", "", "", "", "", "+4.25%"],
    ]
    html_rows = report_month_cells(render_backtest_html(statistics, series))
    assert [[str(year), *row] for year, row in zip([2024, 2025], cell_texts(model), strict=True)] == html_rows

    def tint(row: int, column: int) -> str | None:
        brush = model.index(row, column).data(Qt.ItemDataRole.BackgroundRole)
        return None if brush is None else QColor(brush.color()).name()

    assert [tint(0, column) for column in (0, 1, 2, 5, 12)] == ["#dff3e6", None, "#fbe1de", None, "#fbe1de"]
    assert tint(1, 12) == "#dff3e6"

    table.resize(900, 140)
    table.show()
    qtbot.waitExposed(table)
    image = table.grab().toImage()
    image.save(str(shots / "monthly_table.png"))
    viewport = table.table.viewport()
    cell = table.table.visualRect(model.index(0, 2)).translated(viewport.mapTo(table, viewport.rect().topLeft()))
    assert QColor(image.pixel(cell.left() + 2, cell.top() + 2)).name() == "#fbe1de"


def test_months_without_trades_stay_empty(qtbot: QtBot) -> None:
    table = MonthlyReturnsTable()
    qtbot.addWidget(table)
    table.set_monthly(ws.MonthlyReturns(years=[2024], table=np.full((1, 12), np.nan), year_totals=[None]))
    assert cell_texts(table.model) == [[""] * 13]
    table.set_monthly(ws.MonthlyReturns(years=[], table=np.empty((0, 12)), year_totals=[]))
    assert table.model.rowCount() == 0

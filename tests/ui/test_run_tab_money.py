"""The run tab shows a run's money: account figures first, the equity in money, Monte Carlo paths (pytest-qt)."""

from __future__ import annotations

from pathlib import Path

import pytest
import qasync
from backtest_runs import run_to_end
from loop_helpers import wait_until
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot
from test_statistics_widgets import cell_texts

import workstation as ws
from ui.app import demo_request
from ui.backtest.run_tab import RunTab
from ui.charts import LIGHT_PALETTE
from ui.main_window import MainWindow

SHOTS = Path("/tmp/money")

#: The demo's first week (sma-cross-market on BTCUSDT, 80 trades at 100 each) on the default 10,000 account.
ACCOUNT_ROWS = [
    ["Account", "", ""],
    ["Net profit", "-29.98", "higher is better"],
    ["Return", "-0.30%", "higher is better"],
    ["Max drawdown", "0.30%", "lower is better"],
    ["Max drawdown (money)", "29.98", "lower is better"],
    ["CAGR", "-14.49%", "higher is better"],
    ["Exposure", "66.88%", ""],
    ["Fees paid", "16.00", "lower is better"],
    ["Sharpe ratio (daily)", "-23.368", "higher is better"],
    ["Sortino ratio (daily)", "-15.335", "higher is better"],
    ["Longest drawdown (days)", "7.0", "lower is better"],
    ["Starting balance → final equity", "10,000.00 → 9,970.02", "higher is better"],
    ["Equity spent", "never", ""],
    ["Per trade (% of each position)", "", ""],
    ["Total signals", "80", ""],
]


@pytest.fixture
def week(window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot) -> RunTab:
    tab = run_to_end(qloop, window, demo_request(7))
    window.tabs.setCurrentWidget(tab)
    return tab


def test_statistics_page_reads_the_account_first(week: RunTab, window: MainWindow, qtbot: QtBot) -> None:
    week.details.setCurrentWidget(week.statistics)
    qtbot.wait(50)

    rows = cell_texts(week.statistics.model)

    assert rows[: len(ACCOUNT_ROWS)] == ACCOUNT_ROWS
    assert week.account is not None
    assert [row[1] for row in rows[1:13]] == [figure.text for figure in ws.account_figures(week.account)]
    # The account's net profit and exposure stand for the series' money and exposure figures: none is repeated.
    labels = [row[0] for row in rows]
    assert "Net PNL (money)" not in labels
    assert labels.count("Exposure") == 1
    SHOTS.mkdir(exist_ok=True)
    for theme in ("dark", "light"):
        window.theme_actions[theme].trigger()
        qtbot.wait(50)
        window.grab().save(str(SHOTS / f"statistics_{theme}.png"))


def test_equity_page_draws_the_account_in_money(week: RunTab, window: MainWindow, qtbot: QtBot) -> None:
    week.details.setCurrentWidget(week.curves_page)
    qtbot.wait(50)

    curves = week.curves
    assert curves is not None and week.account is not None
    times, equity = curves.equity_curve.getData()
    assert equity.tolist() == [point.value for point in week.account.equity_curve]
    assert times[0] * 1000 == week.account.equity_curve[0].timestamp
    assert equity[0] == 10_000.0
    assert curves.equity_plot.getAxis("left").labelText == "Equity"
    assert curves.underwater_plot.getAxis("left").labelText == "Drawdown %"
    assert [label.text for _sample, label in curves.legend.items] == ["Buy and hold: 9,065.85", "Equity"]
    # The starting balance held follows the price: marked at the start, each of the 6 midnights and each of the 80
    # closes (the last one, after the frame's end, where the equity ends too).
    held_times, held = curves.buy_and_hold_curve.getData()
    assert held.tolist() == [point.value for point in week.account.buy_and_hold_curve]
    assert len(held) == 1 + 6 + 80
    assert held[-1] == pytest.approx(9_065.854598756912, rel=1e-12)
    assert held_times[-1] == times[-1]
    assert min(curves.underwater_curve.getData()[1]) == pytest.approx(-0.2998, abs=5e-4)
    window.grab().save(str(SHOTS / "equity_dark.png"))


def test_robustness_page_draws_the_paths_of_the_ended_run(
    week: RunTab, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    assert week.monte_carlo is None  # nothing is drawn until the page is looked at

    week.details.setCurrentWidget(week.monte_carlo_page)
    assert week.monte_carlo_task is not None
    qloop.run_until_complete(week.monte_carlo_task)
    qtbot.wait(50)

    page = week.monte_carlo
    assert page is not None and page.report is not None
    assert page.status.text() == (
        "1,000 paths each way of 80 closed trades from 10,000.00, each trade's money added (seed 0)"
    )
    assert not page.report.compounding
    # A fixed cost per trade: every reshuffled order ends where the run ended.
    assert page.figures.index(0, 1).data() == page.figures.index(0, 3).data() == "9,970"
    window.grab().save(str(SHOTS / "robustness_dark.png"))


def test_a_stored_run_shows_its_account_as_the_run_did(
    week: RunTab, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    [stored] = window.history.list_runs()

    reopened = qloop.run_until_complete(window.stored_runs.open(stored.id))

    assert reopened is not None
    wait_until(qloop, lambda: reopened.account is not None)
    assert cell_texts(reopened.statistics.model) == cell_texts(week.statistics.model)
    reopened.details.setCurrentWidget(reopened.monte_carlo_page)
    assert reopened.monte_carlo_task is not None
    qloop.run_until_complete(reopened.monte_carlo_task)
    assert reopened.monte_carlo is not None and reopened.monte_carlo.report is not None
    assert reopened.monte_carlo.report.trade_count == 80


def test_compare_runs_overlays_their_equity_and_reads_the_account_first(
    week: RunTab, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    run_to_end(qloop, window, demo_request(7, strategy_name="rsi-reversion"))
    first, second = sorted(run.id for run in window.history.list_runs())

    view = qloop.run_until_complete(window.stored_runs.compare(first, second))

    assert view is not None
    rows = cell_texts(view.model)
    assert rows[0] == ["Account", "", "", ""]
    assert rows[1][:2] == ["Net profit", "-29.98"]
    assert rows[12] == ["Equity spent", "never", "never", "N/A"]
    assert rows[13][0] == "Per trade (% of each position)"
    curves = view.overlay.curves
    assert [curve.name() for curve in curves] == [
        f"#{first} sma-cross-market · BTCUSDT",
        f"#{second} rsi-reversion · BTCUSDT",
    ]
    assert [float(curve.getData()[1][0]) for curve in curves] == [100.0, 100.0]
    assert float(curves[0].getData()[1][-1]) == pytest.approx(99.70, abs=0.005)  # 9,970.02 of 10,000
    for theme in ("dark", "light"):
        window.theme_actions[theme].trigger()
        qtbot.wait(50)
        window.grab().save(str(SHOTS / f"compare_{theme}.png"))


def test_a_run_sized_on_its_equity_compounds_its_monte_carlo_paths(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    request = demo_request(2).model_copy(
        update={"starting_balance": 5_000.0, "sizing": ws.EquityShareSizing(percent=20.0)}
    )
    tab = run_to_end(qloop, window, request)
    window.tabs.setCurrentWidget(tab)

    tab.details.setCurrentWidget(tab.monte_carlo_page)
    assert tab.monte_carlo_task is not None
    qloop.run_until_complete(tab.monte_carlo_task)

    page = tab.monte_carlo
    assert page is not None and page.report is not None and tab.account is not None
    assert page.report.compounding
    assert page.report.starting_balance == 5_000.0
    count = len(tab.account.trades)
    assert page.status.text() == (
        f"1,000 paths each way of {count} closed trades from 5,000.00, each trade's return compounded on the equity "
        "(seed 0)"
    )
    # The run's own path, compounded from its trades' returns, ends at its final equity.
    assert page.report.actual[-1] == pytest.approx(tab.account.trades[-1].equity_after, rel=1e-12)
    assert cell_texts(tab.statistics.model)[11][1].startswith("5,000.00 → ")


def test_the_robustness_page_reads_at_the_window_s_default_size(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """At 1440 x 900 the details pane is short: both plots get most of its width, the figures fit beside them."""
    window.resize(1440, 900)
    tab = run_to_end(qloop, window, demo_request(7))
    window.tabs.setCurrentWidget(tab)
    tab.details.setCurrentWidget(tab.monte_carlo_page)
    assert tab.monte_carlo_task is not None
    qloop.run_until_complete(tab.monte_carlo_task)
    qtbot.wait(50)
    page = tab.monte_carlo
    assert page is not None
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / "robustness_1440.png"))
    page.grab().save(str(SHOTS / "robustness_1440_page.png"))
    # Both plots get the pane's height and a fair share of its width (they were 166 and 139 x 130 px).
    for plot in (page.bands_plot, page.drawdown_plot):
        assert plot.width() >= 175 and plot.height() >= 160, (plot.width(), plot.height())
    # The table beside them shows the selected way: all its rows and columns, no scroll bar.
    assert page.table.horizontalHeader().length() + 2 * page.table.frameWidth() == page.table.width()
    assert page.figures.rowCount() == 3 and page.figures.index(0, 1).data() == "9,970"
    # The histogram's axis title is whole inside the charts (it ran under the table).
    view = page.graphics.viewport().rect()
    title = page.drawdown_plot.getAxis("bottom").label
    shown = page.graphics.mapFromScene(title.mapToScene(title.boundingRect())).boundingRect()
    assert view.contains(shown), (shown, view)
    assert title.toPlainText().strip() == "Max DD, % of peak"
    # The percentile lines' labels never overlap, however close the lines (0.30 % and 0.31 % here).
    labels = [line.label.sceneBoundingRect() for line in page.percentile_lines]
    for index, label in enumerate(labels):
        assert all(not label.intersects(other) for other in labels[index + 1 :])


def test_view_light_theme_turns_every_money_chart_light(
    week: RunTab, window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """View → Light theme: the Equity and Robustness pages, the walker comparison and a stored runs' comparison all
    paint the light palette's background, those open before the switch and those built after it."""
    week.details.setCurrentWidget(week.curves_page)
    qtbot.wait(20)
    walker = window.comparisons.open("Walker")
    run_to_end(qloop, window, demo_request(7, strategy_name="rsi-reversion"))
    first, second = sorted(run.id for run in window.history.list_runs())
    stored = qloop.run_until_complete(window.stored_runs.compare(first, second))
    assert stored is not None

    window.theme_actions["light"].trigger()
    window.tabs.setCurrentWidget(week)
    week.details.setCurrentWidget(week.monte_carlo_page)
    assert week.monte_carlo_task is not None
    qloop.run_until_complete(week.monte_carlo_task)
    qtbot.wait(20)

    light = QColor(LIGHT_PALETTE.background)
    assert week.curves is not None and week.monte_carlo is not None
    charts = {
        "equity": week.curves.graphics,
        "robustness": week.monte_carlo.graphics,
        "walker": walker.equity.graphics,
        "stored comparison": stored.overlay.graphics,
    }
    for name, graphics in charts.items():
        assert graphics.backgroundBrush().color() == light, name
    for name, page in (("robustness", week.monte_carlo.graphics), ("equity", week.curves.graphics)):
        image = page.grab().toImage()
        assert image.pixelColor(image.width() - 3, 3) == light, name
        image.save(str(SHOTS / f"{name}_light.png"))
    window.tabs.setCurrentWidget(walker)
    qtbot.wait(20)
    image = walker.equity.graphics.grab().toImage()
    image.save(str(SHOTS / "walker_light.png"))
    assert image.pixelColor(image.width() - 3, 3) == light

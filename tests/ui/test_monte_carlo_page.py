"""The Robustness page: Monte Carlo bands and drawdowns of a run's trades, drawn off the GUI thread (pytest-qt)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qasync
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.backtest.monte_carlo_page import MonteCarloPage
from ui.charts import DARK_PALETTE, LIGHT_PALETTE

SHOTS = Path("/tmp/money")


@dataclass(frozen=True)
class Trade:
    """The two figures of ``ws.AccountTrade`` the paths read."""

    pnl_money: float
    equity_before: float


#: +100, −300, +250, −50 on 10,000 at a fixed cost: every reshuffled path ends at 10,000.
TRADES = [Trade(100.0, 10_000.0), Trade(-300.0, 10_100.0), Trade(250.0, 9_800.0), Trade(-50.0, 10_050.0)]


def table_texts(page: MonteCarloPage) -> list[list[str]]:
    model = page.figures
    return [
        [model.index(row, column).data() for column in range(model.columnCount())] for row in range(model.rowCount())
    ]


@pytest.fixture
def page(qtbot: QtBot) -> MonteCarloPage:
    widget = MonteCarloPage(DARK_PALETTE)
    qtbot.addWidget(widget)
    widget.resize(1100, 650)
    widget.show()
    return widget


def test_paths_are_drawn_in_a_worker_thread_and_shown(
    page: MonteCarloPage, qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seed 0, 1,000 paths each way of the four trades (figures pinned from that seed).

    Reshuffled: each order ends at 10,000 + 100 − 300 + 250 − 50 = 10,000; the shallowest drawdown is −300 after
    +100 (300 / 10,300 = 2.91 %), the deepest −300 then −50 from 10,000 (350 / 10,000 = 3.50 %). Resampled: four
    −300s end at 8,800 (12 % down), four +250s at 11,000; the 5–95 % band ends at 9,300 to 10,700.
    """
    threads: list[str] = []
    simulate = ws.simulate_monte_carlo

    def recording(*args: Any, **kwargs: Any) -> ws.MonteCarloReport:
        threads.append(threading.current_thread().name)
        return simulate(*args, **kwargs)

    monkeypatch.setattr(ws, "simulate_monte_carlo", recording)

    qloop.run_until_complete(page.compute(TRADES, 10_000.0, compounding=False))

    assert len(threads) == 1
    assert threads[0] != threading.main_thread().name
    assert page.status.text() == (
        "1,000 paths each way of 4 closed trades from 10,000.00, each trade's money added (seed 0)"
    )
    # The figures of the way selected (reshuffled), headed by its name.
    assert [page.figures.headerData(column, Qt.Orientation.Horizontal) for column in range(4)] == [
        "Reshuffled",
        "5 %",
        "50 %",
        "95 %",
    ]
    assert table_texts(page) == [
        ["Final equity", "10,000", "10,000", "10,000"],
        ["Max drawdown", "2.91%", "3.38%", "3.50%"],
        ["Equity spent", "", "0.00%", ""],
    ]
    report = page.report
    assert report is not None
    x, y = page.median_curve.getData()
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert y.tolist() == report.reshuffled.median.tolist()
    assert page.actual_curve.getData()[1].tolist() == [10_000.0, 10_100.0, 9_800.0, 10_050.0, 10_000.0]
    assert [line.value() for line in page.percentile_lines] == list(report.reshuffled.drawdown_percentiles)


def test_the_selector_shows_the_resampled_paths(page: MonteCarloPage, qloop: qasync.QEventLoop) -> None:
    qloop.run_until_complete(page.compute(TRADES, 10_000.0, compounding=False))
    report = page.report
    assert report is not None

    page.way.setCurrentIndex(1)

    assert page.way.currentText() == "Trades resampled with replacement"
    assert page.high_curve.getData()[1].tolist() == report.resampled.high.tolist()
    assert page.low_curve.getData()[1][-1] == 9_300.0
    assert page.figures.headerData(0, Qt.Orientation.Horizontal) == "Resampled"
    assert table_texts(page) == [
        ["Final equity", "9,300", "10,000", "10,700"],
        ["Max drawdown", "0.00%", "3.00%", "7.00%"],
        ["Equity spent", "", "0.00%", ""],
    ]
    assert int(np.sum(page.drawdown_bars.opts["height"])) == 1000


def test_no_trades_draws_nothing_and_says_why(page: MonteCarloPage, qloop: qasync.QEventLoop) -> None:
    qloop.run_until_complete(page.compute([], 10_000.0, compounding=True))

    assert page.report is None
    assert page.status.text() == "No closed trades: the paths are drawn from a run's closed trades."


@pytest.mark.parametrize(("theme", "palette"), [("dark", DARK_PALETTE), ("light", LIGHT_PALETTE)])
def test_screenshot_in_both_themes(
    page: MonteCarloPage, qloop: qasync.QEventLoop, qtbot: QtBot, theme: str, palette: Any
) -> None:
    trades = [Trade(float(value), 10_000.0) for value in np.random.default_rng(5).normal(8.0, 120.0, 300)]
    qloop.run_until_complete(page.compute(trades, 10_000.0, compounding=False))
    page.set_palette(palette)
    qtbot.wait(50)

    image = page.grab().toImage()

    SHOTS.mkdir(parents=True, exist_ok=True)
    image.save(str(SHOTS / f"monte_carlo_{theme}.png"))
    assert image.pixelColor(5, image.height() // 3).name() != ""


def test_the_bands_key_is_one_line_beside_the_charts_covering_no_data(page: MonteCarloPage, qtbot: QtBot) -> None:
    """In the run tab's short details pane the legend sat inside the bands' plot and covered much of the bands.

    Now the plot holds no legend; the three names are one whole line in the column beside the charts.
    """
    page.resize(640, 190)
    trades = [Trade(100.0 if i % 3 else -60.0, 10_000.0) for i in range(60)]
    page.show_report(ws.simulate_monte_carlo(trades, 10_000.0, compounding=False, seed=0))
    qtbot.wait(20)
    SHOTS.mkdir(exist_ok=True)
    page.grab().save(str(SHOTS / "robustness_key.png"))
    assert page.bands_plot.legend is None
    document = QTextDocument()
    document.setHtml(page.key.text())
    assert document.toPlainText().replace("\xa0", " ").split() == [
        "┈┈",
        "5–95",
        "%",
        "━━",
        "Median",
        "╌╌",
        "This",
        "run",
    ]
    assert page.key.isVisible() and not page.key.wordWrap()
    assert page.key.sizeHint().width() <= page.key.width()
    assert page.key.mapTo(page, page.key.rect().topRight()).x() < page.graphics.mapTo(page, QPoint(0, 0)).x()

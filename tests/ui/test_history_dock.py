"""The History panel: saved runs newest first with exact texts, selection-driven actions, signals, delete.

Listing and deleting run on the history's own thread: the panel changes when the history answers, and a busy
history never holds the window up.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
import qasync
from loop_helpers import wait_until
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.history import HistoryPanel
from ui.history.history_dock import HEADERS

# The offscreen platform plugin warns on every top-level show(); the warning says nothing about the panel.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")

SHOTS = Path("/tmp/ui_shots")
DAY = 86_400_000
JAN_1 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


#: A run's row as another program would save it: created at, strategy, symbol, state, figures (trades, total
#: PnL, win rate, Sharpe) and days of frame. The panel reads only the summary columns, so the figures are set
#: directly to pin every text.
StoredRow = tuple[int, str, str, str, tuple[int, float | None, float | None, float | None], int]

STORED: tuple[StoredRow, ...] = (
    (1_717_200_000_000, "sma-cross-market", "BTCUSDT", "finished", (3, 3.25, 200 / 3, 0.9035079029052513), 90),
    (1_717_286_700_000, "rsi-reversion", "ETHUSDT", "stopped", (4, -2.25, 50.0, -0.5592405119382147), 1),
    (1_717_243_200_000, "breakout", "SOLUSDT", "failed", (0, None, None, None), 1),
)  # saved 2024-06-01 00:00, 2024-06-02 00:05 and 2024-06-01 12:00
#: A fourth run, newer than the others (2024-06-03 00:00), saved while the panel shows.
NEWER: StoredRow = (1_717_372_800_000, "new", "BTCUSDT", "finished", (1, 0.0, 0.0, 0.0), 1)


def run_row(store: ws.RunHistory, row: StoredRow) -> None:
    """Insert ``row`` into ``store``'s file as another program would."""
    created_at, strategy_name, symbol, state, figures, frame_days = row
    with closing(sqlite3.connect(store.path)) as connection, connection:
        connection.execute(
            "INSERT INTO runs (created_at, finished_at, state, symbol, strategy_name, exchange_name, frame_start, "
            "frame_end, parameters, statistics, total_signals, total_cancelled, total_pnl, win_rate, sharpe_ratio) "
            "VALUES (?, ?, ?, ?, ?, 'demo', ?, ?, '{}', '{}', ?, 0, ?, ?, ?)",
            (created_at, created_at + 5_000, state, symbol, strategy_name, JAN_1, JAN_1 + frame_days * DAY, *figures),
        )


@pytest.fixture
def store(tmp_path: Path) -> ws.RunHistory:
    history = ws.RunHistory(tmp_path / "history.sqlite3")
    for row in STORED:
        run_row(history, row)
    yield history
    history.close()


def cell_texts(panel: HistoryPanel) -> list[list[str]]:
    model = panel.table.model()
    return [
        [str(model.index(row, column).data()) for column in range(model.columnCount())]
        for row in range(model.rowCount())
    ]


def click_row(qtbot: QtBot, panel: HistoryPanel, row: int, modifier: Qt.KeyboardModifier) -> None:
    rect = panel.table.visualRect(panel.table.model().index(row, 1))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def test_runs_are_listed_newest_first_with_exact_texts(qtbot: QtBot, store: ws.RunHistory) -> None:
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)

    assert HEADERS == (
        "Date (UTC)",
        "Strategy",
        "Symbol",
        "Period",
        "State",
        "Trades",
        "Total PnL %",
        "Win rate %",
        "Sharpe",
    )
    header = panel.table.model()
    assert [header.headerData(c, Qt.Orientation.Horizontal) for c in range(9)] == list(HEADERS)
    day, quarter = "2024-01-01 → 2024-01-02", "2024-01-01 → 2024-03-31"
    assert cell_texts(panel) == [
        ["2024-06-02 00:05", "rsi-reversion", "ETHUSDT", day, "Stopped", "4", "-2.25", "50.00", "-0.559"],
        ["2024-06-01 12:00", "breakout", "SOLUSDT", day, "Failed", "0", "N/A", "N/A", "N/A"],
        ["2024-06-01 00:00", "sma-cross-market", "BTCUSDT", quarter, "Finished", "3", "+3.25", "66.67", "0.904"],
    ]
    model = panel.table.model()
    assert model.index(0, 6).data(Qt.ItemDataRole.ForegroundRole) == QColor("#b02a20")
    assert model.index(2, 6).data(Qt.ItemDataRole.ForegroundRole) == QColor("#17713a")
    assert model.index(1, 6).data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.index(0, 3).data(Qt.ItemDataRole.ToolTipRole) == (
        "2024-01-01T00:00:00.000Z → 2024-01-02T00:00:00.000Z on demo"
    )
    assert panel.empty_label.isHidden()


def test_sorting_by_pnl_puts_runs_without_trades_last(qtbot: QtBot, store: ws.RunHistory) -> None:
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)

    panel.table.sortByColumn(HEADERS.index("Total PnL %"), Qt.SortOrder.DescendingOrder)
    assert [row[6] for row in cell_texts(panel)] == ["+3.25", "-2.25", "N/A"]
    panel.table.sortByColumn(HEADERS.index("Strategy"), Qt.SortOrder.AscendingOrder)
    assert [row[1] for row in cell_texts(panel)] == ["breakout", "rsi-reversion", "sma-cross-market"]


def test_actions_follow_the_selection_and_signals_carry_run_ids(qtbot: QtBot, store: ws.RunHistory) -> None:
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    panel.show()
    opened: list[int] = []
    compared: list[tuple[int, int]] = []
    panel.open_requested.connect(opened.append)
    panel.compare_requested.connect(lambda first, second: compared.append((first, second)))

    states = []
    for run_ids in ([], [1], [2, 1], [1, 2, 3]):
        panel.select_runs(run_ids)
        states.append(
            (
                panel.open_button.isEnabled(),
                panel.compare_button.isEnabled(),
                panel.delete_button.isEnabled(),
            )
        )
    assert states == [(False, False, False), (True, False, True), (False, True, True), (False, False, True)]

    click_row(qtbot, panel, 0, Qt.KeyboardModifier.NoModifier)  # run 2 (newest)
    click_row(qtbot, panel, 2, Qt.KeyboardModifier.ControlModifier)  # run 1
    assert panel.selected_run_ids() == [2, 1]
    assert panel.compare_button.isEnabled()
    qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    assert compared == [(2, 1)]

    panel.select_runs([3])
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    rect = panel.table.visualRect(panel.table.model().index(2, 0))
    # Qt 6's QTest double-click sends no press first, and a view opens only the index the press was on.
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened == [3, 1]


def test_delete_asks_then_removes_the_selected_runs(
    qtbot: QtBot, qloop: qasync.QEventLoop, store: ws.RunHistory
) -> None:
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    panel.show()

    panel.select_runs([3])
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    box = panel.confirm_delete_box
    assert box is not None
    assert box.text() == "Delete this run from the history? This cannot be undone."
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert [run.id for run in store.list_runs()] == [2, 3, 1]
    assert panel.confirm_delete_box is None

    panel.select_runs([3, 1])
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    box = panel.confirm_delete_box
    assert box is not None
    assert box.text() == "Delete these 2 runs from the history? This cannot be undone."
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert len(cell_texts(panel)) == 3  # until the history's thread has deleted them and listed the rest
    wait_until(qloop, lambda: len(cell_texts(panel)) == 1)

    assert [run.id for run in store.list_runs()] == [2]
    assert [row[1] for row in cell_texts(panel)] == ["rsi-reversion"]
    assert panel.selected_run_ids() == []
    assert not panel.delete_button.isEnabled()


def test_refresh_shows_new_runs_and_keeps_the_selection(
    qtbot: QtBot, qloop: qasync.QEventLoop, store: ws.RunHistory
) -> None:
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    panel.select_runs([1])

    run_row(store, NEWER)
    qloop.run_until_complete(panel.refresh())

    newest = cell_texts(panel)[0]
    assert newest[:2] == ["2024-06-03 00:00", "new"]
    assert newest[5:] == ["1", "0.00", "0.00", "0.000"]
    assert panel.selected_run_ids() == [1]


def test_a_busy_history_does_not_hold_the_window_up_and_the_panel_follows_when_it_answers(
    qtbot: QtBot, qloop: qasync.QEventLoop, store: ws.RunHistory
) -> None:
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    run_row(store, NEWER)
    taken, released = threading.Event(), threading.Event()

    def long_job() -> None:
        taken.set()
        released.wait(timeout=5)  # at most: a panel that waits for the history fails below instead of hanging

    other = threading.Thread(target=store.worker.call_blocking, args=(long_job,))
    other.start()
    taken.wait()
    refreshing = panel.refresh()
    assert [row[1] for row in cell_texts(panel)] == ["rsi-reversion", "breakout", "sma-cross-market"]
    released.set()
    other.join()
    qloop.run_until_complete(refreshing)

    assert [row[1] for row in cell_texts(panel)] == ["new", "rsi-reversion", "breakout", "sma-cross-market"]


def test_an_empty_history_shows_a_hint(qtbot: QtBot, tmp_path: Path) -> None:
    history = ws.RunHistory(tmp_path / "empty.sqlite3")
    panel = HistoryPanel(history)
    qtbot.addWidget(panel)
    panel.show()

    assert panel.empty_label.isVisible()
    assert not panel.table.isVisible()
    assert panel.empty_label.text() == "No saved runs yet: every backtest is saved here when it ends."
    history.close()


def test_screenshot_of_the_panel(qtbot: QtBot, store: ws.RunHistory) -> None:
    panel = HistoryPanel(store)
    qtbot.addWidget(panel)
    panel.resize(960, 220)
    panel.show()
    panel.select_runs([1])
    qtbot.waitExposed(panel)

    SHOTS.mkdir(parents=True, exist_ok=True)
    image = panel.grab().toImage()
    assert image.save(str(SHOTS / "history_panel.png"))
    # Left of the text of the selected row (run 1, at the bottom), the cell is the highlight colour.
    cell = panel.table.visualRect(panel.table.model().index(2, 1))
    inside = panel.table.viewport().mapTo(panel, cell.topLeft() + QPoint(2, cell.height() // 2))
    highlight = panel.palette().color(QPalette.ColorRole.Highlight)
    assert image.pixelColor(inside) == highlight
    # The last column is fully visible: no horizontal scroll bar at this width.
    assert not panel.table.horizontalScrollBar().isVisible()

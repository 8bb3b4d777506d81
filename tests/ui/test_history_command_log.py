"""A managed run reopened from the History dock tells the same story as the run did (issue 14): each trade's command
log, the chart's step lines, partial exits and averaging entries; a run stored before the history kept command logs
opens and says it has none (pytest-qt, the real window, a real run of the peer's ``managed`` strategy on its 1-day
candles, saved to a real history file as the Run button saves it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import qasync
from parity_runs import MANAGED, assert_same_marks, copy_history, managed_strategy, only_run, run_and_reopen
from pytestqt.qtbot import QtBot
from test_managed_chart import shots_dir, shown

import workstation as ws
from ui.backtest.run_tab import RunTab
from ui.charts.candle_item import DARK_PALETTE
from ui.main_window import MainWindow
from ui.widgets.command_log import NO_STORED_COMMAND_LOG, CommandLogDialog, command_texts
from ui.widgets.trade_table import TradeColumn

# The offscreen platform plugin warns on every top-level show(); the warning says nothing about the window.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support propagateSizeHints")


def log_of(tab: RunTab, row: int) -> CommandLogDialog:
    dialog = tab.trades.open_command_log(row)
    assert dialog is not None and dialog.isVisible()
    return dialog


def shown_log(dialog: CommandLogDialog) -> tuple[str, str, bool, list[list[str]]]:
    return dialog.windowTitle(), dialog.summary.text(), dialog.table.isVisible(), dialog.rows()


def test_a_reopened_managed_run_opens_the_same_command_logs_and_draws_the_same_marks(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    ran, reopened = run_and_reopen(window, qloop, managed_strategy())

    ids = [row[TradeColumn.SIGNAL_ID] for row in ran.trades.visible_rows()]
    assert [row[TradeColumn.SIGNAL_ID] for row in reopened.trades.visible_rows()] == ids
    assert len(ids) == 9
    for row in range(len(ids)):
        assert shown_log(log_of(reopened, row)) == shown_log(log_of(ran, row)), ids[row]
    dialog = log_of(reopened, ids.index(MANAGED))
    assert dialog.summary.text() == "LONG BTCUSDT: 5 commands, 2 entries, 1 partial close; stopped out"
    # Prices in the symbol's precision (two decimals here), as the run's own tab writes them.
    assert dialog.rows() == [
        ["2024-01-01 13:28", "average-buy", "100.00", "40843.27", "40594.68", "41414.78", "40923.84", "100.00"],
        ["2024-01-01 13:55", "partial-profit", "40.00", "41034.95", "40594.68", "41414.78", "40923.84", "60.00"],
        ["2024-01-01 13:56", "trailing-stop", "-0.60", "41092.04", "40840.23", "41414.78", "40923.84", "60.00"],
        ["2024-01-01 13:59", "trailing-stop", "-0.75", "41137.57", "40901.61", "41414.78", "40923.84", "60.00"],
        ["2024-01-01 14:04", "trailing-take", "-0.30", "41128.07", "40901.61", "41292.01", "40923.84", "60.00"],
    ]
    path = shots_dir(tmp_path) / "history_cmdlog.png"
    assert dialog.grab().save(str(path))

    # The chart: the same positions, step lines, partial exits and averaging entries, value for value.
    mine, theirs = reopened.chart.marks, ran.chart.marks
    assert_same_marks(mine, theirs)
    assert (len(mine.level_time), len(mine.partial_time), len(mine.averaging_time)) == (27, 13, 4)
    layer, original = reopened.chart.marks_layer, ran.chart.marks_layer
    assert (layer.entry_count(), layer.averaging_count(), len(layer.partial_sizes())) == (9, 4, 13)
    # Both charts show the same candles from the frame's start on: the lines are drawn at the same times.
    offset = reopened.chart.bar_of_time(int(ran.chart.candles()["timestamp"][0]))
    for lines in ("stop_losses", "take_profits", "effective_entries"):
        x, y = getattr(layer, lines).getData()
        x0, y0 = getattr(original, lines).getData()
        assert (list(x - offset), list(y)) == (list(x0), list(y0)), lines


def test_an_old_history_file_opens_its_runs_and_their_logs_say_none_was_stored(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path
) -> None:
    ran, _ = run_and_reopen(window, qloop, managed_strategy())
    # As a workstation wrote it before the history kept command logs: schema version 1, no commands table.
    stored = only_run(copy_history(window.history.path, tmp_path / "old-history.sqlite3", version=1))
    assert stored.commands is None

    tab = shown(qtbot, RunTab(DARK_PALETTE), 1400, 900)
    tab.show_stored(stored, ran.chart.candles())
    row = [row[TradeColumn.SIGNAL_ID] for row in tab.trades.visible_rows()].index(MANAGED)
    dialog = log_of(tab, row)
    assert dialog.summary.text() == (
        "LONG BTCUSDT: 2 entries, 1 partial close; stopped out.\n"
        "No command log stored for this run: the history saved it before it kept command logs."
    )
    assert NO_STORED_COMMAND_LOG in dialog.summary.text()
    assert (dialog.table.isVisible(), dialog.rows()) == (False, [])
    assert dialog.grab().save(str(shots_dir(tmp_path) / "history_cmdlog_old.png"))
    # Without commands the chart still shows each trade's entries and partial exits from its closed signal.
    layer = tab.chart.marks_layer
    assert (layer.entry_count(), layer.averaging_count(), len(layer.partial_sizes())) == (9, 4, 13)
    assert len(tab.chart.marks.level_time) == 0


def test_a_command_the_trader_issued_reads_by_hand_in_the_log_the_strategys_do_not() -> None:
    by_hand = ws.PositionCommand("s-1", 60_000, "partial-profit", 40.0, 101.5, 95.0, 110.0, 100.0, 60.0, "trader")
    trailed = ws.PositionCommand("s-1", 120_000, "trailing-stop", -1.5, 103.0, 98.5, 110.0, 100.0, 60.0)
    assert [command_texts(command, 2) for command in (by_hand, trailed)] == [
        ("1970-01-01 00:01", "partial-profit · by hand", "40.00", "101.50", "95.00", "110.00", "100.00", "60.00"),
        ("1970-01-01 00:02", "trailing-stop", "-1.50", "103.00", "98.50", "110.00", "100.00", "60.00"),
    ]

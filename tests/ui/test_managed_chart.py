"""A managed run on the chart and in the trade table (issue 14): the run's command log, partial exits sized by the
share closed, averaging entries, the effective entry and SL/TP step lines, the entries/partials columns and a
trade's command log dialog (pytest-qt, real widgets, a real run of the peer's ``managed`` strategy on its 1-day
candles)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
import qasync
from parity_runs import MANAGED, MANAGED_ACTIONS, MANAGED_STRATEGY, managed_strategy, register
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.backtest.run_tab import RunTab
from ui.charts import CandleChart, SignalMarks
from ui.charts.candle_item import DARK_PALETTE, LIGHT_PALETTE
from ui.widgets import TradeTableView
from ui.widgets.trade_table import NO_COMMAND_LOG, TradeColumn
from workstation.models.position import CommitAction
from workstation.parity import EXCHANGE_NAME, FRAME_NAME, SYMBOL
from workstation.timeutil import MINUTE_MS

#: A long whose stop went to breakeven, then trailed five times, with two partial closes at a profit.
BREAKEVEN = "managed-1704092700000"

Shown = TypeVar("Shown", bound=QWidget)

SL0, SL1, SL2 = 40594.68258713904, 40840.22563292767, 40901.61139437483
TP0, TP1 = 41414.77718485903, 41292.005661964715
EFFECTIVE = 40923.84096477165


def _command(
    time: int, action: CommitAction, argument: float, price: float, sl: float, tp: float, held: float
) -> ws.PositionCommand:
    return ws.PositionCommand(
        signal_id=MANAGED,
        time=time,
        action=action,
        argument=argument,
        price=price,
        stop_loss=sl,
        take_profit=tp,
        effective_entry=EFFECTIVE,
        held_percent=held,
    )


#: Its commands as the run's command log keeps them, the levels being the position's after each command's candle.
MANAGED_COMMANDS = [
    _command(1704115680000, "average-buy", 100.0, 40843.270550007954, SL0, TP0, 100.0),
    _command(1704117300000, "partial-profit", 40.0, 41034.945501003385, SL0, TP0, 60.0),
    _command(1704117360000, "trailing-stop", -0.6, 41092.03914662744, SL1, TP0, 60.0),
    _command(1704117540000, "trailing-stop", -0.75, 41137.572378097815, SL2, TP0, 60.0),
    _command(1704117840000, "trailing-take", -0.3, 41128.072397927965, SL2, TP1, 60.0),
]


@dataclass(frozen=True)
class ManagedRun:
    candles: np.ndarray
    results: list[object]
    commands: list[ws.PositionCommand]
    run: ws.BacktestRun

    @property
    def closed(self) -> list[ws.ClosedResult]:
        return [result for result in self.results if isinstance(result, ws.ClosedResult)]

    def closed_of(self, signal_id: str) -> ws.ClosedResult:
        return next(result for result in self.closed if result.signal.id == signal_id)


async def _managed_run() -> ManagedRun:
    """Run the built-in ``managed-sma`` (the peer's ``managed`` strategy) on its 1-day candles through the run's own
    handle (``ws.Backtest.run``)."""
    candles, request = await register(managed_strategy())
    ws.add_frame(ws.FrameSchema(frame_name=FRAME_NAME, interval="1m", start_date=request.start, end_date=request.end))
    run = ws.Backtest.run(SYMBOL, strategy_name=MANAGED_STRATEGY, exchange_name=EXCHANGE_NAME, frame_name=FRAME_NAME)
    results: list[object] = [result async for result in run]
    return ManagedRun(candles, results, list(run.commands), run)


@pytest.fixture(scope="module")
def managed() -> ManagedRun:
    run = asyncio.run(_managed_run())
    ws.reset()
    return run


def shots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("UI_SHOTS", str(tmp_path)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_run_keeps_the_command_log_of_each_position(managed: ManagedRun) -> None:
    assert Counter(command.action for command in managed.commands) == MANAGED_ACTIONS
    assert managed.run.commands_of(MANAGED) == MANAGED_COMMANDS
    assert managed.run.commands_of("not-a-signal-of-this-run") == []
    # The last command leaves the position as it closed: its effective entry, stop and take profit.
    for result in managed.closed:
        commands = managed.run.commands_of(result.signal.id)
        last = [command for command in commands if command.action != "close-pending"][-1]
        signal = result.signal
        assert (last.effective_entry, last.stop_loss, last.take_profit) == (
            signal.price_open,
            signal.price_stop_loss,
            signal.price_take_profit,
        )


def test_marks_carry_averaging_entries_partial_exits_and_every_level_change(managed: ManagedRun) -> None:
    # The commands reach the marks before their positions close, as they do while the run works.
    marks = SignalMarks.from_results([*managed.commands, *managed.results])
    closed = managed.closed
    assert len(marks.position_ids) == 9
    assert len(marks.averaging_time) == sum(result.signal.total_entries - 1 for result in closed) == 4
    assert len(marks.partial_time) == sum(result.signal.total_partials for result in closed) == 13
    assert int(marks.partial_is_profit.sum()) == 11
    assert list(marks.averaged) == [result.signal.total_entries > 1 for result in closed]

    index = list(marks.position_ids).index(MANAGED)
    assert (marks.entry_price[index], marks.stop_loss[index], marks.take_profit[index]) == (41004.72988599903, SL0, TP0)
    own = marks.level_position == index
    # The partial close changed no level: it is not a step.
    assert list(marks.level_time[own]) == [1704115680000, 1704117360000, 1704117540000, 1704117840000]
    assert list(marks.level_stop_loss[own]) == [SL0, SL1, SL2, SL2]
    assert list(marks.level_take_profit[own]) == [TP0, TP0, TP0, TP1]
    assert list(marks.level_entry[own]) == [EFFECTIVE] * 4
    averaging = marks.averaging_time == 1704115680000
    assert list(marks.averaging_price[averaging]) == [40843.270550007954]
    own_partial = marks.partial_time == 1704117300000
    assert list(marks.partial_price[own_partial]) == [41034.945501003385]
    assert list(marks.partial_share[own_partial]) == [40.0]
    # Each position's partial exits add up to the share its partial closes took out.
    for position, result in enumerate(closed):
        times = {part.timestamp for part in result.signal.partials}
        shares = marks.partial_share[np.isin(marks.partial_time, list(times))]
        assert float(shares.sum()) == pytest.approx(result.signal.partial_executed, rel=1e-12), position


def shown(qtbot: QtBot, widget: Shown, width: int, height: int) -> Shown:
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_an_open_position_shows_its_averaging_entries_and_partial_exits_from_its_commands(
    managed: ManagedRun,
) -> None:
    opened = [result for result in managed.results if isinstance(result, ws.OpenedResult)]
    own = next(result for result in opened if result.signal.id == MANAGED)
    # While the position is open, only its opened result and its commands are known.
    marks = SignalMarks.from_results([own, *MANAGED_COMMANDS])
    assert list(marks.is_closed) == [False]
    assert list(marks.averaged) == [True]
    assert (list(marks.averaging_time), list(marks.averaging_price)) == ([1704115680000], [40843.270550007954])
    assert list(marks.partial_time) == [1704117300000]
    assert list(marks.partial_price) == [41034.945501003385]
    assert list(marks.partial_share) == [40.0]
    assert list(marks.partial_is_profit) == [True]
    assert list(marks.level_stop_loss) == [SL0, SL1, SL2, SL2]


@pytest.fixture
def chart(qtbot: QtBot, managed: ManagedRun) -> CandleChart:
    widget = CandleChart()
    widget.set_candles(managed.candles)
    return shown(qtbot, widget, 1400, 700)


def test_the_chart_draws_the_managed_position_as_it_was_managed(chart: CandleChart, managed: ManagedRun) -> None:
    own = [result for result in managed.results if getattr(getattr(result, "signal", None), "id", None) == MANAGED]
    chart.set_marks(SignalMarks.from_results([*MANAGED_COMMANDS, *own]))
    layer = chart.marks_layer
    assert chart.bar_of_time(1704112200000) == 750  # entry; averaging 808, stop trails at 836 and 839, take at 844
    x, y = layer.stop_losses.getData()
    # Flat stretches from the entry to the exit (bar 850), then the risers of the two trailing moves.
    assert list(x) == [750, 808, 808, 836, 836, 839, 839, 844, 844, 850, 836, 836, 839, 839]
    assert list(y) == [SL0, SL0, SL0, SL0, SL1, SL1, SL2, SL2, SL2, SL2, SL0, SL1, SL1, SL2]
    x, y = layer.take_profits.getData()
    assert list(x) == [750, 808, 808, 836, 836, 839, 839, 844, 844, 850, 844, 844]
    assert list(y) == [TP0] * 8 + [TP1, TP1, TP0, TP1]
    x, y = layer.effective_entries.getData()
    first = 41004.72988599903
    assert list(x) == [750, 808, 808, 836, 836, 839, 839, 844, 844, 850, 808, 808]
    assert list(y) == [first, first] + [EFFECTIVE] * 8 + [first, EFFECTIVE]
    assert layer.averaging_count() == 1
    assert list(layer.averaging_long.data["x"]) == [808]
    assert list(layer.averaging_long.data["y"]) == [40843.270550007954]
    assert list(layer.partials_profit.data["x"]) == [835]
    assert layer.marker_size() == 13
    assert layer.partial_sizes() == [12.0]  # 13 px x (0.6 + 0.9 x 40 %) = 12.48, in whole pixels


def test_partial_exit_markers_are_sized_by_the_share_closed(chart: CandleChart, managed: ManagedRun) -> None:
    marks = SignalMarks.from_results([*managed.commands, *managed.results])
    chart.set_marks(marks)
    layer = chart.marks_layer
    profit_shares = [20.0, 40.0, 18.0, 40.0, 40.0, 40.0, 60.0, 40.0, 18.0, 40.0, 60.0]
    assert (
        list(marks.partial_share[marks.partial_is_profit]),
        list(marks.partial_share[~marks.partial_is_profit]),
    ) == (
        profit_shares,
        [50.0, 40.0],
    )
    # The whole day in view: 8 px markers, so 8 x (0.6 + 0.9 x share), in whole pixels, profits first.
    chart.show_all()
    assert layer.marker_size() == 8
    assert layer.partial_sizes() == [6.0, 8.0, 6.0, 8.0, 8.0, 8.0, 9.0, 8.0, 6.0, 8.0, 9.0, 8.0, 8.0]
    assert layer.averaging_count() == 4
    # Zooming in past a size threshold resizes them with the other markers, still by their share.
    chart.price_plot.getViewBox().setXRange(720, 870, padding=0)
    assert layer.marker_size() == 13
    assert layer.partial_sizes() == [10.0, 12.0, 10.0, 12.0, 12.0, 12.0, 15.0, 12.0, 10.0, 12.0, 15.0, 14.0, 12.0]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_screenshot_of_a_managed_run(chart: CandleChart, managed: ManagedRun, theme: str, tmp_path: Path) -> None:
    chart.set_palette(DARK_PALETTE if theme == "dark" else LIGHT_PALETTE)
    chart.set_marks(SignalMarks.from_results([*managed.commands, *managed.results]))
    # The averaged, partly closed, trailed long; then a long whose stop went to breakeven and trailed five times.
    for name, signal_id in (("", MANAGED), ("_breakeven", BREAKEVEN)):
        result = managed.closed_of(signal_id)
        assert result.signal.pending_at is not None
        first, last = chart.bar_of_time(result.signal.pending_at), chart.bar_of_time(result.close_timestamp)
        chart.price_plot.getViewBox().setXRange(first - 15, last + 15, padding=0)
        path = shots_dir(tmp_path) / f"chart14_{theme}{name}.png"
        assert chart.grab().save(str(path))
        assert path.stat().st_size > 10_000


@pytest.fixture
def trades(qtbot: QtBot, managed: ManagedRun) -> TradeTableView:
    view = TradeTableView()
    view.append(managed.closed)
    return shown(qtbot, view, 1600, 400)


def test_the_trade_table_shows_entries_and_partial_closes(trades: TradeTableView) -> None:
    rows = {row[TradeColumn.SIGNAL_ID]: row for row in trades.visible_rows()}
    row = rows[MANAGED]
    columns = (
        TradeColumn.OPEN_PRICE,
        TradeColumn.TAKE_PROFIT,
        TradeColumn.STOP_LOSS,
        TradeColumn.ENTRIES,
        TradeColumn.ORIGINAL_OPEN_PRICE,
        TradeColumn.PARTIALS,
        TradeColumn.PARTIAL_EXECUTED,
    )
    assert [row[column] for column in columns] == [
        "40923.84096477",
        "41292.00566196",
        "40901.61139437",
        "2",
        "41004.72988600",
        "1",
        "40.00",
    ]
    assert [row[TradeColumn.PARTIAL_EXECUTED] for row in rows.values()] == [
        "50.00", "20.00", "58.00", "40.00", "40.00", "40.00", "100.00", "58.00", "100.00"
    ]  # fmt: skip
    trades.table.sortByColumn(TradeColumn.PARTIALS, Qt.SortOrder.DescendingOrder)
    assert trades.visible_rows()[0][TradeColumn.PARTIALS] == "2"


def test_double_click_opens_the_trades_command_log(
    trades: TradeTableView, managed: ManagedRun, qtbot: QtBot, tmp_path: Path
) -> None:
    trades.set_command_source(managed.run.commands_of)
    row = [row[TradeColumn.SIGNAL_ID] for row in trades.visible_rows()].index(MANAGED)
    cell = trades.table.visualRect(trades.proxy.index(row, TradeColumn.SIGNAL_ID)).center()
    # QTest's double click alone skips the press a view needs first; a click before it is what a hand does.
    qtbot.mouseClick(trades.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    qtbot.mouseDClick(trades.table.viewport(), Qt.MouseButton.LeftButton, pos=cell)
    dialog = trades.command_log
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowTitle() == f"Command log · {MANAGED}"
    assert dialog.summary.text() == ("LONG BTCUSDT: 5 commands, 2 entries, 1 partial close; stopped out")
    assert dialog.rows() == [
        ["2024-01-01 13:28", "average-buy", "100.00", "40843.27055001", "40594.68258714", "41414.77718486",
         "40923.84096477", "100.00"],
        ["2024-01-01 13:55", "partial-profit", "40.00", "41034.94550100", "40594.68258714", "41414.77718486",
         "40923.84096477", "60.00"],
        ["2024-01-01 13:56", "trailing-stop", "-0.60", "41092.03914663", "40840.22563293", "41414.77718486",
         "40923.84096477", "60.00"],
        ["2024-01-01 13:59", "trailing-stop", "-0.75", "41137.57237810", "40901.61139437", "41414.77718486",
         "40923.84096477", "60.00"],
        ["2024-01-01 14:04", "trailing-take", "-0.30", "41128.07239793", "40901.61139437", "41292.00566196",
         "40923.84096477", "60.00"],
    ]  # fmt: skip
    assert dialog.grab().save(str(shots_dir(tmp_path) / "chart14_command_log.png"))
    # The context menu's action opens the same log; a second log replaces the first.
    trades.command_log_action(row).trigger()
    assert trades.command_log is not dialog and trades.command_log is not None
    assert trades.command_log.rows() == dialog.rows()


def test_trades_shown_without_a_run_have_no_command_log_and_say_why(trades: TradeTableView) -> None:
    trades.set_command_source(None)
    action = trades.command_log_action(0)
    assert (action.isEnabled(), action.toolTip()) == (False, NO_COMMAND_LOG)
    assert trades.open_command_log(0) is None
    assert trades.command_log is None


def test_a_run_tab_draws_its_run_as_managed_and_opens_its_command_logs(
    qtbot: QtBot, qloop: qasync.QEventLoop, managed: ManagedRun
) -> None:
    _, request = qloop.run_until_complete(register(managed_strategy()))
    tab = shown(qtbot, RunTab(DARK_PALETTE), 1400, 900)
    qloop.run_until_complete(tab.run(request))
    assert tab.state == "Finished"
    layer = tab.chart.marks_layer
    assert (layer.entry_count(), layer.averaging_count(), len(layer.partial_sizes())) == (9, 4, 13)
    assert {SL0, SL1, SL2} <= set(layer.stop_losses.getData()[1])
    assert {TP0, TP1} <= set(layer.take_profits.getData()[1])
    assert EFFECTIVE in set(layer.effective_entries.getData()[1])
    row = [row[TradeColumn.SIGNAL_ID] for row in tab.trades.visible_rows()].index(MANAGED)
    dialog = tab.trades.open_command_log(row)
    assert dialog is not None
    assert [cells[1] for cells in dialog.rows()] == [command.action for command in MANAGED_COMMANDS]
    dialog.close()
    # Choosing the trade in the table brings it into the middle of the view.
    tab.chart.price_plot.getViewBox().setXRange(0, 300, padding=0)  # the morning: the trade is out of view
    index = tab.trades.proxy.index(row, TradeColumn.SIGNAL_ID)
    qtbot.mouseClick(
        tab.trades.table.viewport(), Qt.MouseButton.LeftButton, pos=tab.trades.table.visualRect(index).center()
    )
    trade = managed.closed_of(MANAGED)
    assert trade.signal.pending_at is not None
    left, right = tab.chart.visible_time_range()
    assert left < trade.signal.pending_at < trade.close_timestamp < right
    assert abs((left + right) / 2 - (trade.signal.pending_at + trade.close_timestamp) / 2) <= MINUTE_MS

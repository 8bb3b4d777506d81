"""The trader's hand on a paper run (issue 14, acceptance 5 and 6): every manual command from the Live panel.

Real paper runs: the demo exchange's BTCUSDT candles of 2024-03-01 replayed on a clock whose minutes pass only when
the test steps it (the run ticks, then waits), so a preview and the command it confirms book at the same moment. The
engine's own answers (``ws.Live.preview``, ``ws.Live.refusals``, the position the run reports) are the expectations:
the panel must show and do exactly what the command does, and a refused one must be disabled with its reason.

On that day the price falls from 27,099 to 26,837 in the first two hours, after a small rise in the first two
minutes: a short opened at 00:00 loses at 00:02 (an entry can be added above the first) and reaches breakeven later.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import qasync
from loop_helpers import on_loop, pause, wait_until
from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu, QToolTip
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE, LIGHT_PALETTE
from ui.live.manual_actions import MANUAL_ACTIONS, SPECS
from ui.live.manual_dialog import ManualCommandDialog, validation_message
from ui.live.panel import LivePanel
from ui.live.strategies_table import LiveRun, StrategyColumn
from ui.main_window import MainWindow
from ui.themes import apply_theme

#: Menus pop up on the offscreen platform, which cannot raise them or grab the keyboard for them, and says so.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
SYMBOL = "BTCUSDT"
STRATEGY = "by-hand"
EXCHANGE = "paper-demo-by-hand"
KEY = (SYMBOL, STRATEGY)
START = datetime(2024, 3, 1, tzinfo=UTC)
MINUTE_MS = 60_000
#: Where a run ends: once the test is over, its clock runs free to there (so no run is left waiting on it).
RUN_LENGTH = timedelta(hours=6)
#: The tick price at 00:00 (the VWAP of the five candles before): the market short's entry.
ENTRY = 27099.175249826098

SHORT = ws.Signal(position="short", price_take_profit=25700.0, price_stop_loss=28400.0, minute_estimated_time=300)
#: A short limit order above the price, which falls: it waits.
SHORT_LIMIT = ws.Signal(
    position="short",
    price_open=27400.0,
    price_take_profit=26000.0,
    price_stop_loss=28000.0,
    minute_estimated_time=300,
)


class SteppedClock(ws.ReplayClock):
    """A replay clock whose minutes pass only when the test steps it: the run ticks, then waits."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._steps = asyncio.Semaphore(0)
        self._free = False

    async def sleep(self, seconds: float) -> None:
        if self._free:
            await asyncio.sleep(0)
        else:
            await self._steps.acquire()
        self.skip_to(self.now_ms() + round(max(0.0, seconds) * 1000))

    def step(self) -> None:
        """Let the run's next sleep end (one tick later)."""
        self._steps.release()

    def run_free(self) -> None:
        """Let time pass as fast as the run goes from now on (the run plays to its end)."""
        self._free = True
        self._steps.release()


class OneShot:
    """``get_signal`` returning ``signal`` on its first call, None after."""

    def __init__(self, signal: ws.Signal) -> None:
        self.signal: ws.Signal | None = signal

    def __call__(self, symbol: str, when: datetime) -> ws.Signal | None:
        signal, self.signal = self.signal, None
        return signal


def run_of(panel: LivePanel) -> LiveRun:
    run = panel.strategies.run(KEY)
    assert run is not None
    return run


def start(panel: LivePanel, qloop: qasync.QEventLoop, signal: ws.Signal) -> SteppedClock:
    """Start a paper run of ``signal`` on the demo candles; return its clock once the signal is listed."""
    since = START - timedelta(days=1)
    candles = qloop.run_until_complete(ws.make_demo_exchange().get_candles(SYMBOL, "1m", since, 1440 + 600))
    clock = SteppedClock(START)
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, candles, clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=OneShot(signal))
    until = START + RUN_LENGTH
    assert on_loop(qloop, lambda: panel.start_live(SYMBOL, STRATEGY, EXCHANGE, mode="paper", clock=clock, until=until))
    wait_until(qloop, lambda: run_of(panel).signal is not None)
    settle(panel, qloop)
    return clock


def end(panel: LivePanel, qloop: qasync.QEventLoop, clock: SteppedClock) -> None:
    """Let the run play to its end, so that it ends by itself before the panel goes."""
    done: list[ws.DoneEvent] = []
    ws.listen_done_live(done.append)
    clock.run_free()
    wait_until(qloop, lambda: bool(done))
    panel.feed.flush()


#: Starts a paper run of a signal on the test's panel and returns its clock.
Paper = Callable[[ws.Signal], SteppedClock]


@pytest.fixture
def paper(panel: LivePanel, qloop: qasync.QEventLoop) -> Iterator[Paper]:
    """Start a paper run of a signal on the panel (see :func:`start`); the run plays to its end after the test."""
    clocks: list[SteppedClock] = []

    def begin(signal: ws.Signal) -> SteppedClock:
        clocks.append(start(panel, qloop, signal))
        return clocks[-1]

    yield begin
    for clock in clocks:
        end(panel, qloop, clock)


def step(panel: LivePanel, qloop: qasync.QEventLoop, clock: SteppedClock, minutes: int = 1) -> None:
    """Let ``minutes`` ticks happen, each seen by the panel."""
    for _ in range(minutes):
        before = clock.now_ms()
        clock.step()
        wait_until(
            qloop, lambda before=before: run_of(panel).last_tick is not None and run_of(panel).last_tick > before
        )  # type: ignore[misc]
    settle(panel, qloop)


def refusals(qloop: qasync.QEventLoop) -> dict[ws.ManualAction, str | None]:
    return dict(qloop.run_until_complete(ws.Live.refusals(SYMBOL, STRATEGY)))


def settle(panel: LivePanel, qloop: qasync.QEventLoop) -> dict[ws.ManualAction, str | None]:
    """Flush the feed and wait until every action shows what the run says of it now; return the run's refusals."""
    panel.feed.flush()
    expected = refusals(qloop)

    def shown() -> bool:
        for spec in MANUAL_ACTIONS:
            action = panel.manual[spec.action]
            reason = expected[spec.action]
            if action.isEnabled() != (reason is None) or action.toolTip() != (reason or spec.description):
                return False
        return True

    wait_until(qloop, shown)
    return expected


def open_dialog(panel: LivePanel, qloop: qasync.QEventLoop, action: ws.ManualAction) -> ManualCommandDialog:
    dialog = on_loop(qloop, lambda: panel.open_command(action))
    assert isinstance(dialog, ManualCommandDialog) and dialog.isVisible()
    wait_until(qloop, lambda: dialog.preview is not None or dialog.input_error.isVisible())
    return dialog


def type_into(qloop: qasync.QEventLoop, dialog: ManualCommandDialog, text: str) -> None:
    on_loop(qloop, lambda: dialog.set_input(text))
    wait_until(qloop, lambda: dialog.preview is not None or dialog.input_error.isVisible())


def confirm(
    panel: LivePanel, qloop: qasync.QEventLoop, action: ws.ManualAction, text: str | None = None
) -> ws.ManualPreview:
    """Open ``action``'s confirmation, type ``text``, confirm what the preview shows; return that preview."""
    dialog = open_dialog(panel, qloop, action)
    if text is not None:
        type_into(qloop, dialog, text)
    preview = dialog.preview
    assert preview is not None and preview.allowed, preview
    assert dialog.confirm_button.isEnabled()
    applied: list[str] = []
    panel.status_reported.connect(applied.append)
    on_loop(qloop, dialog.confirm_button.click)
    assert panel.command_dialog is None  # closed (and deleted)
    wait_until(qloop, lambda: bool(applied))
    assert applied == [f"{SPECS[action].text.removesuffix('…')} on {STRATEGY} · {SYMBOL}: applied"]
    panel.status_reported.disconnect(applied.append)
    settle(panel, qloop)
    return preview


def held(signal: ws.SignalRow) -> float:
    return 100 - signal.partial_executed


def assert_position_is(panel: LivePanel, preview: ws.ManualPreview) -> ws.SignalRow:
    """The position the run reports now is the one the preview showed: entry, levels and share held, exactly."""
    signal = run_of(panel).signal
    assert signal is not None
    assert (signal.price_open, signal.price_stop_loss, signal.price_take_profit, held(signal)) == (
        preview.price_open,
        preview.price_stop_loss,
        preview.price_take_profit,
        preview.percent_held,
    )
    return signal


# ---------------------------------------------------------------------------------------------------------------
# Each command on a paper position


def test_each_command_changes_the_paper_position_exactly_as_previewed(
    panel: LivePanel, qloop: qasync.QEventLoop, paper: Paper
) -> None:
    clock = paper(SHORT)
    signal = run_of(panel).signal
    assert signal is not None and signal.price_open == ENTRY
    # The price is below the entry: the short is in profit, and an entry is only added above every entry.
    reasons = settle(panel, qloop)
    assert reasons["add"] is not None and not panel.manual["add"].isEnabled()
    assert panel.manual["add"].toolTip() == reasons["add"]
    assert reasons["cancel"] == reasons["fill"] == "no waiting limit order"
    assert reasons["resume"] == "not paused"

    step(panel, qloop, clock, 2)  # 00:02, the price above the entry
    price = run_of(panel).current_price
    assert price is not None and price > ENTRY
    added = confirm(panel, qloop, "add", "50")
    signal = assert_position_is(panel, added)
    assert [entry.cost for entry in signal.entries] == [100.0, 50.0]
    assert signal.entries[1].price == added.price == price
    assert ENTRY < signal.price_open < price

    parted = confirm(panel, qloop, "close_part", "25")
    assert parted.percent_held == 75.0
    signal = assert_position_is(panel, parted)
    assert [(part.type, part.percent) for part in signal.partials] == [("loss", 25.0)]
    assert run_of(panel).texts[StrategyColumn.HELD] == "75.00"  # the run's row shows the share still held

    trailed = confirm(panel, qloop, "trail_stop", "27500")
    assert trailed.price_stop_loss == 27500.0
    assert_position_is(panel, trailed)
    taken = confirm(panel, qloop, "trail_take", "26500")
    assert taken.price_take_profit == 26500.0
    assert_position_is(panel, taken)

    # Breakeven is refused until the price falls far enough below the effective entry.
    assert panel.manual["breakeven"].toolTip().startswith("breakeven not reached: the price must fall below ")
    for _ in range(120):
        if panel.manual["breakeven"].isEnabled():
            break
        step(panel, qloop, clock)
    breakeven = confirm(panel, qloop, "breakeven")
    assert breakeven.price_stop_loss == breakeven.price_open
    assert_position_is(panel, breakeven)

    closed = confirm(panel, qloop, "close")
    assert closed.closes_position and closed.percent_held == 0.0
    wait_until(qloop, lambda: run_of(panel).signal is None)
    reasons = settle(panel, qloop)
    for name in ("close", "close_part", "breakeven", "trail_stop", "trail_take", "add"):
        assert reasons[name] == "no open position"
        assert not panel.manual[name].isEnabled() and panel.manual[name].toolTip() == "no open position"
    # Sent anyway while flat (as a script would): refused, nothing happens.
    command = ws.ManualCommand(action="close_part", percent=50.0)
    outcome = qloop.run_until_complete(panel.send_command(KEY, command))
    assert outcome is not None and (outcome.applied, outcome.reason) == (False, "no open position")
    actions = [line[3] for line in panel.blotter.model.texts() if not line[3].endswith(" LEVEL")]
    assert actions[actions.index("AVERAGE-BUY") :] == [
        "AVERAGE-BUY",
        "PARTIAL-LOSS",
        "TRAILING-STOP",
        "TRAILING-TAKE",
        "BREAKEVEN",
        "CLOSE-PENDING",
        "CLOSED",
    ]
    # The trader's own commands say so; the close they led to is the run's.
    notes = [line[5] for line in panel.blotter.model.texts() if not line[3].endswith(" LEVEL")]
    commanded = notes[actions.index("AVERAGE-BUY") : -1]
    assert [note.split(" · ", 1)[0] for note in commanded] == ["by hand"] * 6
    assert notes[-1].startswith("closed · PnL ") and "by hand" not in notes[-1]
    # The chart drew the commands as they came: the averaging entry, the partial exit, the stop's steps.
    layer = panel.chart.chart.marks_layer
    assert layer.averaging_count() == 1
    assert len(layer.partials_loss.data["x"]) == 1
    _, stops = layer.stop_losses.getData()
    assert {28400.0, 27500.0, breakeven.price_stop_loss} <= set(stops.tolist())


# ---------------------------------------------------------------------------------------------------------------
# A waiting limit order, a pause


def test_fill_now_opens_the_waiting_order_at_the_current_price(
    panel: LivePanel, qloop: qasync.QEventLoop, paper: Paper
) -> None:
    clock = paper(SHORT_LIMIT)
    assert run_of(panel).waiting
    reasons = settle(panel, qloop)
    assert reasons["cancel"] is None and reasons["fill"] is None
    for name in ("close", "close_part", "breakeven", "trail_stop", "trail_take", "add"):
        assert panel.manual[name].toolTip() == reasons[name] == "no open position"
    step(panel, qloop, clock, 3)
    price = run_of(panel).current_price
    filled = confirm(panel, qloop, "fill")
    wait_until(qloop, lambda: not run_of(panel).waiting)
    settle(panel, qloop)
    signal = assert_position_is(panel, filled)
    assert signal.price_open == filled.price_open == 27400.0  # at the order's price (P12), not the price now
    assert filled.price == price
    assert [line[3] for line in panel.blotter.model.texts()][-2:] == ["OPENED", "ACTIVATE-SCHEDULED"]


def test_pause_resume_and_cancel_a_waiting_order(panel: LivePanel, qloop: qasync.QEventLoop, paper: Paper) -> None:
    paper(SHORT_LIMIT)
    confirm(panel, qloop, "pause")
    wait_until(qloop, lambda: run_of(panel).paused)
    assert panel.strategies.index(0, 4).data() == "paused"
    reasons = settle(panel, qloop)
    assert reasons["pause"] == panel.manual["pause"].toolTip() == "already paused"
    assert panel.manual["resume"].isEnabled()
    confirm(panel, qloop, "resume")
    wait_until(qloop, lambda: not run_of(panel).paused)
    assert panel.strategies.index(0, 4).data() == "running"
    cancelled = confirm(panel, qloop, "cancel")
    assert cancelled.closes_position
    wait_until(qloop, lambda: run_of(panel).signal is None)
    settle(panel, qloop)
    actions = [line[3] for line in panel.blotter.model.texts()]
    assert actions[actions.index("PAUSED") :] == ["PAUSED", "RESUMED", "CANCEL-SCHEDULED", "CANCELLED"]
    assert panel.manual["cancel"].toolTip() == "no waiting limit order"


# ---------------------------------------------------------------------------------------------------------------
# Bad input, refused commands


BAD_INPUTS: list[tuple[ws.ManualAction, str, str]] = [
    ("close_part", "0", "percent = 0.0: Input should be greater than 0"),
    ("close_part", "150", "percent = 150.0: Input should be less than or equal to 100"),
    ("close_part", "nan", "percent = nan: Input should be a finite number"),
    ("close_part", "inf", "percent = inf: Input should be a finite number"),
    ("close_part", "half", "percent = 'half': Input should be a valid number, unable to parse string as a number"),
    ("trail_stop", "NaN", "price = nan: Input should be a finite number"),
    ("trail_take", "-inf", "price = -inf: Input should be a finite number"),
    ("trail_take", "-5", "price = -5.0: Input should be greater than 0"),
    ("add", "0", "cost = 0.0: Input should be greater than 0"),
    ("add", "1e999", "cost = inf: Input should be a finite number"),
]


def test_the_preview_follows_what_the_trader_types(
    panel: LivePanel, qloop: qasync.QEventLoop, paper: Paper, qtbot: QtBot
) -> None:
    step(panel, qloop, paper(SHORT), 2)  # at the entry's own price there is nothing to take yet
    dialog = open_dialog(panel, qloop, "close_part")
    assert dialog.input.text() == "50"
    assert dialog.after_cells["held"].text() == "50.00 %"
    dialog.input.selectAll()
    on_loop(qloop, lambda: qtbot.keyClicks(dialog.input, "30"))
    wait_until(qloop, lambda: dialog.after_cells["held"].text() == "70.00 %")
    assert dialog.preview is not None and dialog.preview.percent_held == 70.0 and dialog.confirm_button.isEnabled()
    on_loop(qloop, lambda: qtbot.keyClicks(dialog.input, "0"))
    wait_until(qloop, dialog.input_error.isVisible)
    assert dialog.input_error.text() == "percent = 300.0: Input should be less than or equal to 100"
    assert dialog.after_cells["held"].text() == "—" and not dialog.confirm_button.isEnabled()
    on_loop(qloop, lambda: qtbot.keyClick(dialog.input, Qt.Key.Key_Backspace))
    wait_until(qloop, lambda: dialog.after_cells["held"].text() == "70.00 %")
    assert not dialog.input_error.isVisible()
    on_loop(qloop, dialog.reject)


def test_bad_input_shows_the_field_and_value_and_changes_nothing(
    panel: LivePanel, qloop: qasync.QEventLoop, paper: Paper
) -> None:
    paper(SHORT)
    before = run_of(panel).signal
    for action, text, message in BAD_INPUTS:
        dialog = open_dialog(panel, qloop, action)
        type_into(qloop, dialog, text)
        assert dialog.input_error.isVisible() and dialog.input_error.text() == message, (action, text)
        # The message is the model's own.
        field = SPECS[action].field
        assert field is not None
        with pytest.raises(ValidationError) as raised:
            ws.ManualCommand.model_validate({"action": action, field: float(text) if text != "half" else text})
        assert validation_message(raised.value, SPECS[action]) == message
        assert not dialog.confirm_button.isEnabled()
        on_loop(qloop, dialog.accept)  # Enter on a bad input: nothing is sent, the dialog stays
        assert dialog.isVisible()
        on_loop(qloop, dialog.reject)
    settle(panel, qloop)
    assert run_of(panel).signal == before
    assert panel.isVisible()


def test_a_refused_command_shows_its_reason_and_changes_nothing(
    panel: LivePanel, qloop: qasync.QEventLoop, paper: Paper
) -> None:
    paper(SHORT)
    before = run_of(panel).signal
    price = run_of(panel).current_price
    assert price is not None
    # A short's stop below the price: the preview says why, Confirm stays off.
    dialog = open_dialog(panel, qloop, "trail_stop")
    type_into(qloop, dialog, "27000")
    preview = dialog.preview
    assert preview is not None and not preview.allowed
    assert preview.reason == f"the stop must stay above the price {price:,.2f}"
    assert dialog.refusal.isVisible() and dialog.refusal.text() == f"The run would refuse this: {preview.reason}"
    assert not dialog.confirm_button.isEnabled()
    on_loop(qloop, dialog.reject)
    # Sent anyway (as a script would): refused with the same reason, reported, nothing changed.
    errors: list[tuple[str, str]] = []
    panel.error_raised.connect(lambda title, details: errors.append((title, details)))
    command = ws.ManualCommand(action="trail_stop", price=27000.0)
    outcome = qloop.run_until_complete(panel.send_command(KEY, command))
    assert outcome is not None and not outcome.applied and outcome.reason == preview.reason
    assert errors == [(f"Trail stop on {STRATEGY} · {SYMBOL}: refused, {preview.reason}", preview.reason)]
    # No position to act on: refused, with the reason the disabled action showed.
    errors.clear()
    outcome = qloop.run_until_complete(panel.send_command(KEY, ws.ManualCommand(action="fill")))
    assert outcome is not None and outcome.reason == "no waiting limit order"
    settle(panel, qloop)
    assert run_of(panel).signal == before
    (line,) = [line for line in panel.blotter.model.texts() if line[3] == "COMMAND REFUSED"][:1]
    assert line[5] == f"Trail stop on {STRATEGY} · {SYMBOL}: {preview.reason}"
    assert panel.isVisible()


# ---------------------------------------------------------------------------------------------------------------
# Menus and shortcuts


def popup_menu(qloop: qasync.QEventLoop) -> QMenu:
    wait_until(qloop, lambda: isinstance(QApplication.activePopupWidget(), QMenu))
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def test_the_row_and_the_chart_offer_every_command_with_its_state(
    panel: LivePanel, qloop: qasync.QEventLoop, paper: Paper, qtbot: QtBot
) -> None:
    paper(SHORT)
    reasons = settle(panel, qloop)
    row = panel.table.visualRect(panel.strategies.index(0, 1)).center()
    on_loop(qloop, lambda: panel.table.customContextMenuRequested.emit(row))
    menu = popup_menu(qloop)
    shown = [(action.text(), action.isEnabled(), action.toolTip()) for action in menu.actions() if action.text()]
    assert shown == [
        (spec.text, reasons[spec.action] is None, reasons[spec.action] or spec.description) for spec in MANUAL_ACTIONS
    ]
    menu.close()
    # A right click on the chart's candles.
    view = panel.chart.chart.price_plot.getViewBox().scene().views()[0]
    centre = view.viewport().rect().center()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre, view.viewport().mapToGlobal(centre))
    on_loop(qloop, lambda: QApplication.sendEvent(view.viewport(), event))
    menu = popup_menu(qloop)
    assert [action.text() for action in menu.actions() if action.text()] == [spec.text for spec in MANUAL_ACTIONS]
    menu.close()
    # The toolbar: Close now and Pause at hand, every command in its Position menu.
    toolbar = panel.toolbar.actions()
    assert panel.manual["close"] in toolbar and panel.manual["pause"] in toolbar
    assert [action.text() for action in panel.position_menu.actions() if action.text()] == [
        spec.text for spec in MANUAL_ACTIONS
    ]


def test_close_now_and_pause_have_shortcuts_no_other_action_of_the_window_uses(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    manual = window.live_panel.manual
    assert manual["close"].shortcut().toString() == "Ctrl+Shift+X"
    assert manual["pause"].shortcut().toString() == "Ctrl+Shift+P"
    taken = [
        action.shortcut().toString()
        for action in window.findChildren(QAction)
        if not action.shortcut().isEmpty() and action not in manual.actions.values()
    ]
    assert "Ctrl+Shift+X" not in taken and "Ctrl+Shift+P" not in taken
    (live_menu,) = [action.menu() for action in window.menuBar().actions() if action.text() == "&Live"]
    assert {manual["close"], manual["pause"]} <= set(live_menu.actions())


def test_the_shortcut_opens_the_close_confirmation(
    panel: LivePanel, qloop: qasync.QEventLoop, paper: Paper, qtbot: QtBot
) -> None:
    paper(SHORT)
    panel.activateWindow()
    panel.table.setFocus()
    wait_until(qloop, panel.table.hasFocus)
    on_loop(
        qloop,
        lambda: qtbot.keyClick(
            panel.table, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        ),
    )
    dialog = panel.command_dialog
    assert dialog is not None and dialog.spec.action == "close" and dialog.isVisible()
    on_loop(qloop, dialog.reject)
    assert run_of(panel).signal is not None  # the confirmation, not the close


# ---------------------------------------------------------------------------------------------------------------
# Screenshots


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_screenshots_of_the_commands(qtbot: QtBot, qloop: qasync.QEventLoop, qapp: QApplication, theme: str) -> None:
    apply_theme(qapp, theme)  # type: ignore[arg-type]
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel = LivePanel(DARK_PALETTE if theme == "dark" else LIGHT_PALETTE)
    qtbot.addWidget(panel)
    panel.resize(1400, 950)
    panel.show()
    try:
        clock = start(panel, qloop, SHORT)
        step(panel, qloop, clock, 2)
        for action, text in (("add", "50"), ("close_part", "40"), ("trail_stop", "27300"), ("close", None)):
            dialog = open_dialog(panel, qloop, action)
            if text is not None:
                type_into(qloop, dialog, text)
            pause(qloop, 0.02)
            assert dialog.grab().save(str(SHOTS / f"desk_dialog_{action}_{theme}.png"))
            on_loop(qloop, dialog.reject)
        dialog = open_dialog(panel, qloop, "close_part")
        type_into(qloop, dialog, "150")
        assert dialog.grab().save(str(SHOTS / f"desk_dialog_bad_input_{theme}.png"))
        on_loop(qloop, dialog.reject)
        confirm(panel, qloop, "add", "50")
        step(panel, qloop, clock, 10)
        confirm(panel, qloop, "close_part", "40")
        step(panel, qloop, clock, 15)
        confirm(panel, qloop, "trail_stop", "27300")
        step(panel, qloop, clock, 20)
        confirm(panel, qloop, "trail_stop", "27150")
        step(panel, qloop, clock, 15)
        wait_until(qloop, lambda: not panel.candles.in_flight())
        panel.chart.chart.price_plot.getViewBox().setXRange(600, 800, padding=0)
        pause(qloop, 0.05)
        assert panel.grab().save(str(SHOTS / f"desk_panel_{theme}.png"))
        assert panel.chart.grab().save(str(SHOTS / f"desk_chart_{theme}.png"))
        row = panel.table.visualRect(panel.strategies.index(0, 1)).center()
        on_loop(qloop, lambda: panel.table.customContextMenuRequested.emit(row))
        menu = popup_menu(qloop)
        pause(qloop, 0.02)
        assert menu.grab().save(str(SHOTS / f"desk_menu_{theme}.png"))
        disabled = next(action for action in menu.actions() if action.text() and not action.isEnabled())
        QToolTip.showText(menu.mapToGlobal(menu.actionGeometry(disabled).center()), disabled.toolTip(), menu)
        tip = next(widget for widget in QApplication.topLevelWidgets() if widget.inherits("QTipLabel"))
        wait_until(qloop, tip.isVisible)
        assert tip.grab().save(str(SHOTS / f"desk_tooltip_{theme}.png"))
        menu.close()
        end(panel, qloop, clock)
        qloop.run_until_complete(panel.shutdown(grace_seconds=0.5))
    finally:
        qapp.setPalette(qapp.style().standardPalette())
        qapp.setStyleSheet("")

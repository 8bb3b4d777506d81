"""The parts of the live view, driven by hand-built engine events: strategies table, blotter, partial levels,
restore banner, paper trading dialog, chart and the candle reader that coalesces its requests.

Events go through the real event hub (``ws.events.*.emit``) wherever the part listens to it, so the batching feed
is part of what is tested.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import qasync
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE
from ui.live.blotter import LiveBlotterModel
from ui.live.candle_stream import LatestCandles
from ui.live.chart import LiveChart
from ui.live.feed import LiveFeed
from ui.live.paper_dialog import PaperTradingDialog
from ui.live.partial_levels import (
    CELL_GAP,
    CENTRE_GAP,
    HEADER_HEIGHT,
    LABEL_WIDTH,
    MARGIN,
    ROW_HEIGHT,
    PartialLevelsPanel,
)
from ui.live.restore_banner import RestoreBanner, age_text
from ui.live.runs import LevelReached, RunCommanded
from ui.live.strategies_table import LiveStrategiesModel, LiveStrategiesTable, StrategyColumn
from ui.live.tones import DARK_TONES

T0 = 1704067200000  # 2024-01-01 00:00 UTC
MINUTE = 60_000
SYMBOL = "BTCUSDT"
STRATEGY = "one-shot"
EXCHANGE = "ladder"
KEY = (SYMBOL, STRATEGY)


def ts(minute: int) -> int:
    return T0 + minute * MINUTE


def signal_row(
    signal_id: str = "sig-1",
    *,
    position: str = "long",
    price_open: float = 42000.0,
    take_profit: float = 42420.0,
    stop_loss: float = 41580.0,
    pending_at: int | None = ts(10),
    scheduled_at: int = ts(10),
) -> ws.SignalRow:
    return ws.SignalRow(
        id=signal_id,
        position=position,
        note="",
        price_open=price_open,
        price_take_profit=take_profit,
        price_stop_loss=stop_loss,
        minute_estimated_time=120,
        symbol=SYMBOL,
        exchange_name=EXCHANGE,
        strategy_name=STRATEGY,
        frame_name="",
        scheduled_at=scheduled_at,
        pending_at=pending_at,
        is_scheduled=pending_at is None or scheduled_at < pending_at,
    )


def common(timestamp: int, price: float) -> dict[str, Any]:
    return {
        "symbol": SYMBOL,
        "strategy_name": STRATEGY,
        "exchange_name": EXCHANGE,
        "frame_name": "",
        "backtest": False,
        "timestamp": timestamp,
        "current_price": price,
    }


def opened(signal: ws.SignalRow, minute: int = 10) -> ws.OpenedResult:
    return ws.OpenedResult(signal=signal, **common(ts(minute), signal.price_open))


def active(signal: ws.SignalRow, minute: int, price: float, percent_tp: float = 0.0) -> ws.ActiveResult:
    return ws.ActiveResult(signal=signal, percent_tp=percent_tp, percent_sl=0.0, **common(ts(minute), price))


def closed(signal: ws.SignalRow, minute: int, price: float, pnl_percentage: float) -> ws.ClosedResult:
    pnl = ws.Pnl(
        pnl_percentage=pnl_percentage,
        pnl_cost=pnl_percentage,
        pnl_entries=100.0,
        price_open=signal.price_open,
        price_close=price,
        fee_cost=0.2,
    )
    return ws.ClosedResult(
        signal=signal,
        close_reason="take_profit",
        close_timestamp=ts(minute),
        pnl=pnl,
        **common(ts(minute), price),
    )


def partial(signal: ws.SignalRow, level: int, minute: int, price: float) -> ws.PartialEvent:
    return ws.PartialEvent(
        symbol=SYMBOL,
        strategy_name=STRATEGY,
        exchange_name=EXCHANGE,
        frame_name="",
        signal=signal,
        current_price=price,
        level=level,
        backtest=False,
        timestamp=ts(minute),
    )


def done() -> ws.DoneEvent:
    return ws.DoneEvent(symbol=SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, frame_name="", backtest=False)


def row_texts(model: Any, row: int) -> list[str]:
    return [str(model.index(row, column).data()) for column in range(model.columnCount())]


# ---------------------------------------------------------------------------------------------------------------
# Feed


def test_the_feed_hands_over_one_batch_per_flush_in_emission_order(qtbot: QtBot) -> None:
    feed = LiveFeed()
    batches: list[list[Any]] = []
    feed.events_flushed.connect(batches.append)
    row = signal_row()
    first, level, backtest_level = opened(row), partial(row, 10, 21, 42050.0), partial(row, 20, 21, 42090.0)
    backtest_level = backtest_level.model_copy(update={"backtest": True})
    with qtbot.waitSignal(feed.events_flushed, timeout=2000):
        ws.events.signal_live.emit(first)
        ws.events.partial_profit.emit(level)
        ws.events.partial_loss.emit(backtest_level)
        ws.events.done_live.emit(done())
    feed.disconnect_engine()
    ws.events.done_live.emit(done())
    feed.flush()
    assert len(batches) == 1
    assert [type(event).__name__ for event in batches[0]] == ["OpenedResult", "LevelReached", "DoneEvent"]
    assert batches[0][1] == LevelReached("profit", level)


# ---------------------------------------------------------------------------------------------------------------
# Strategies table


def test_a_started_run_is_a_running_row_with_no_position(qtbot: QtBot) -> None:
    model = LiveStrategiesModel()
    model.add_run(SYMBOL, STRATEGY, EXCHANGE, "paper")
    assert row_texts(model, 0) == [SYMBOL, STRATEGY, EXCHANGE, "paper", "running"] + ["—"] * 8


def test_an_opened_then_moving_position_shows_its_levels_price_and_unrealised_pnl(qtbot: QtBot) -> None:
    model = LiveStrategiesModel()
    model.add_run(SYMBOL, STRATEGY, EXCHANGE, "live")
    changes: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last, _roles=(): changes.append((first.row(), last.row())))
    row = signal_row()
    model.apply([opened(row)])
    texts = row_texts(model, 0)
    # Opened at the entry: the net result is the two sides' slippage and fees (SPEC §7, L2's -0.3996 %).
    assert texts[5:] == ["LONG", "42000.00", "42420.00", "41580.00", "100.00", "42000.00", "-0.40", "2024-01-01 00:10"]
    model.apply([active(row, 11, 42100.0), active(row, 12, 42300.0), active(row, 13, 42420.0)])
    assert changes == [(0, 0), (0, 0)]  # one repaint per batch, not per event
    texts = row_texts(model, 0)
    assert texts[10:] == ["42420.00", "+0.60", "2024-01-01 00:13"]  # TP reached: L1's +0.5974 %
    assert model.index(0, StrategyColumn.UNREALISED).data(Qt.ItemDataRole.ForegroundRole).color() == QColor(
        DARK_TONES.gain
    )


def test_a_waiting_limit_order_shows_as_limit_without_unrealised_pnl(qtbot: QtBot) -> None:
    model = LiveStrategiesModel()
    order = signal_row(pending_at=None, price_open=41800.0)
    model.apply([ws.ScheduledResult(signal=order, **common(ts(10), 42000.0))])
    assert row_texts(model, 0)[3:12] == [
        "live",
        "running",
        "LONG limit",
        "41800.00",
        "42420.00",
        "41580.00",
        "—",  # an order holds nothing yet
        "42000.00",
        "—",
    ]


def test_stop_shows_stopping_until_done_live_then_stopped(qtbot: QtBot) -> None:
    model = LiveStrategiesModel()
    model.add_run(SYMBOL, STRATEGY, EXCHANGE, "live")
    model.set_status(KEY, "stopping")
    assert model.index(0, 4).data() == "stopping"
    model.apply([active(signal_row(), 11, 42100.0)])
    assert model.index(0, 4).data() == "stopping"
    model.apply([done()])
    assert model.index(0, 4).data() == "stopped"


def test_a_run_restarted_paused_shows_paused_from_its_first_tick(qtbot: QtBot) -> None:
    # What a restarted paper run whose strategy was paused emits: its first tick, then the pause it was stored with
    # (tests/acceptance/test_manual_commands.py), heard in one batch or in two.
    row = signal_row()
    first = active(row, 11, 42100.0)
    where = {key: value for key, value in common(ts(11), 0.0).items() if key != "current_price"}
    restored = ws.PauseEvent(paused=True, restored=True, **where)
    together, apart = LiveStrategiesModel(), LiveStrategiesModel()
    together.apply([first, restored])
    apart.apply([first])
    assert apart.index(0, StrategyColumn.STATUS).data() == "running"
    apart.apply([restored])
    for model in (together, apart):
        assert model.index(0, StrategyColumn.STATUS).data() == "paused"
        assert model.index(0, StrategyColumn.STATUS).data(Qt.ItemDataRole.ForegroundRole).color() == QColor(
            DARK_TONES.warning
        )
    blotter = LiveBlotterModel()
    blotter.apply([first, restored])
    assert blotter.texts()[-1] == (
        "2024-01-01 00:11:00",
        SYMBOL,
        STRATEGY,
        "PAUSED",
        "",
        "restored: paused when the run stopped",
    )


def test_a_failed_background_task_marks_the_run_failed_with_the_reason(qtbot: QtBot) -> None:
    model = LiveStrategiesModel()
    model.add_run(SYMBOL, STRATEGY, EXCHANGE, "live")
    tick_error = ws.ErrorEvent(
        source="Live.run",
        message="boom",
        exception_type="RuntimeError",
        symbol=SYMBOL,
        strategy_name=STRATEGY,
        backtest=False,
    )
    model.apply([tick_error])
    assert model.index(0, 4).data() == "running"  # a failed tick is retried at the next one
    failure = tick_error.model_copy(update={"source": "Live.background", "message": "conflict"})
    model.apply([failure])
    assert model.index(0, 4).data() == "failed"
    assert model.index(0, 4).data(Qt.ItemDataRole.ToolTipRole) == "RuntimeError: conflict"


def test_a_run_started_elsewhere_is_listed_when_it_first_reports(qtbot: QtBot) -> None:
    model = LiveStrategiesModel()
    table = LiveStrategiesTable(model)
    qtbot.addWidget(table)
    current: list[Any] = []
    table.current_run_changed.connect(current.append)
    model.apply([ws.IdleResult(**common(ts(10), 42000.0)), ws.IdleResult(**common(ts(11), 42010.0))])
    assert model.rowCount() == 1
    assert row_texts(model, 0)[:5] == [SYMBOL, STRATEGY, EXCHANGE, "live", "running"]
    assert row_texts(model, 0)[StrategyColumn.PRICE] == "42010.00"
    assert current == [KEY]  # the first run listed becomes current: the chart follows it


# ---------------------------------------------------------------------------------------------------------------
# Blotter


def test_the_blotter_lists_each_fact_of_a_position_newest_last(qtbot: QtBot) -> None:
    model = LiveBlotterModel()
    row = signal_row()
    model.apply(
        [
            RunCommanded(SYMBOL, STRATEGY, "started", ts(9), "live on ladder"),
            opened(row),
            active(row, 11, 42030.0),
            RunCommanded(SYMBOL, STRATEGY, "stop requested", None),
            LevelReached("profit", partial(row, 10, 21, 42050.0)),
            closed(row, 25, 42420.0, 0.5974035964036354),
            done(),
        ]
    )
    assert model.texts() == [
        ("2024-01-01 00:09:00", SYMBOL, STRATEGY, "STARTED", "", "live on ladder"),
        ("2024-01-01 00:10:00", SYMBOL, STRATEGY, "OPENED", "42000.00", "LONG · TP 42420.00 · SL 41580.00"),
        ("2024-01-01 00:11:00", SYMBOL, STRATEGY, "STOP REQUESTED", "", ""),  # at the run's latest tick
        ("2024-01-01 00:21:00", SYMBOL, STRATEGY, "PROFIT LEVEL", "42050.00", "+10% of the way to TP"),
        ("2024-01-01 00:25:00", SYMBOL, STRATEGY, "CLOSED", "42420.00", "take_profit · PnL +0.60%"),
        ("2024-01-01 00:25:00", SYMBOL, STRATEGY, "ENDED", "", ""),
    ]


def test_the_blotter_keeps_only_the_newest_lines_past_its_capacity(qtbot: QtBot) -> None:
    model = LiveBlotterModel(capacity=3)
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _parent, first, last: removed.append((first, last)))
    model.apply([RunCommanded(SYMBOL, STRATEGY, "started", ts(minute)) for minute in range(2)])
    model.apply([RunCommanded(SYMBOL, STRATEGY, "stop requested", ts(minute)) for minute in range(2, 5)])
    assert [line[0] for line in model.texts()] == ["2024-01-01 00:02:00", "2024-01-01 00:03:00", "2024-01-01 00:04:00"]
    assert removed == [(0, 1)]  # the two oldest lines went in one removal
    with pytest.raises(ValueError, match="capacity must be at least 1, got 0"):
        LiveBlotterModel(capacity=0)


HALTED = "the kill switch is on (flatten everything): new entries are refused until the desk is resumed"


def refused(signal_id: str, minute: int, strategy_name: str = STRATEGY, cause: str = HALTED) -> ws.ErrorEvent:
    """The error event of a run's entry refused by its desk, as the live run reports it."""
    error = ws.BrokerGateError(
        gate="open active",
        strategy_name=strategy_name,
        symbol=SYMBOL,
        signal_id=signal_id,
        attempt=1,
        outcome="rejected: the signal is dropped",
        cause=ws.OrderRejectedError(cause),
    )
    return ws.ErrorEvent(
        source="broker",
        message=str(error),
        exception_type="BrokerGateError",
        symbol=SYMBOL,
        strategy_name=strategy_name,
        backtest=False,
        timestamp=ts(minute),
        exception=error,
    )


def test_a_run_s_repeated_refusals_fold_into_one_blotter_line_with_a_running_count(qtbot: QtBot) -> None:
    model = LiveBlotterModel()
    changed: list[int] = []
    model.dataChanged.connect(lambda first, _last: changed.append(first.row()))
    model.apply([refused("a", 1), refused("b", 2)])
    model.apply([refused("c", 3), refused("x", 3, "other"), refused("d", 4)])
    reason = "Entry rejected: the signal is dropped — " + HALTED
    # The other run's refusal comes between, on a line of its own; it does not end this run's row.
    assert model.texts() == [
        ("2024-01-01 00:04:00", SYMBOL, STRATEGY, "ERROR ×4", "", reason),
        (
            "2024-01-01 00:03:00",
            SYMBOL,
            "other",
            "ERROR",
            "",
            reason,
        ),
    ]
    assert changed == [0]  # the first batch folded before it was shown; the second updated the line in place once

    # Another reason, then a line of the run's own: each ends the row, the next refusal starts a line again.
    model.apply([refused("e", 5, cause="short positions need margin; this venue trades spot"), refused("f", 6)])
    model.apply([RunCommanded(SYMBOL, STRATEGY, "resumed", ts(7)), refused("g", 8), refused("h", 9)])
    assert [(line[0], line[3], line[5][-4:]) for line in model.texts()[2:]] == [
        ("2024-01-01 00:05:00", "ERROR", "spot"),
        ("2024-01-01 00:06:00", "ERROR", "umed"),
        ("2024-01-01 00:07:00", "RESUMED", ""),
        ("2024-01-01 00:09:00", "ERROR ×2", "umed"),
    ]


def test_a_refusal_whose_line_scrolled_away_starts_a_new_one(qtbot: QtBot) -> None:
    model = LiveBlotterModel(capacity=2)
    model.apply([refused("a", 1), refused("x", 2, "other"), refused("y", 3, "third")])
    model.apply([refused("b", 4)])
    assert [(line[0], line[2]) for line in model.texts()] == [
        ("2024-01-01 00:03:00", "third"),
        ("2024-01-01 00:04:00", STRATEGY),
    ]
    assert model.texts()[1][3] == "ERROR"


# ---------------------------------------------------------------------------------------------------------------
# Partial levels


def cell_colour(panel: PartialLevelsPanel, line: int, branch: str, level: int) -> QColor:
    """The colour at the centre-left of a level's cell (away from its number)."""
    cell = panel._cell_width()
    centre = MARGIN + LABEL_WIDTH + 10 * (cell + CELL_GAP) + CENTRE_GAP / 2
    position = level // 10 - 1
    if branch == "profit":
        x = centre + CENTRE_GAP / 2 + position * (cell + CELL_GAP) + 3
    else:
        x = centre - CENTRE_GAP / 2 - (position + 1) * (cell + CELL_GAP) + CELL_GAP + 3
    y = HEADER_HEIGHT + line * ROW_HEIGHT + 6 + 4
    return panel.grab().toImage().pixelColor(QPoint(round(x), round(y)))


def test_two_partial_profit_events_light_exactly_levels_10_and_20(qtbot: QtBot) -> None:
    feed = LiveFeed()
    panel = PartialLevelsPanel()
    qtbot.addWidget(panel)
    panel.resize(1100, 120)
    feed.events_flushed.connect(panel.apply)
    row = signal_row()
    with qtbot.waitSignal(feed.events_flushed, timeout=2000):
        ws.events.signal_live.emit(opened(row))
    assert panel.lit_levels("sig-1") == ([], [])
    with qtbot.waitSignal(feed.events_flushed, timeout=2000):
        ws.events.partial_profit.emit(partial(row, 10, 21, 42050.0))
        ws.events.partial_profit.emit(partial(row, 20, 21, 42090.0))
    assert panel.lit_levels("sig-1") == ([10, 20], [])
    assert cell_colour(panel, 0, "profit", 10) == QColor(DARK_TONES.profit_cell)
    assert cell_colour(panel, 0, "profit", 20) == QColor(DARK_TONES.profit_cell)
    assert cell_colour(panel, 0, "profit", 30) == QColor(DARK_TONES.empty_cell)
    assert cell_colour(panel, 0, "loss", 10) == QColor(DARK_TONES.empty_cell)

    with qtbot.waitSignal(feed.events_flushed, timeout=2000):
        ws.events.signal_live.emit(closed(row, 25, 42420.0, 0.5974035964036354))
    line = panel.line_of("sig-1")
    assert line is not None
    assert (line.closed, line.outcome) == (True, "took profit · +0.60%")
    assert cell_colour(panel, 0, "profit", 10) == QColor(DARK_TONES.muted)  # greyed, not lit any more

    second = signal_row("sig-2", position="short", take_profit=41580.0, stop_loss=42420.0, pending_at=ts(30))
    with qtbot.waitSignal(feed.events_flushed, timeout=2000):
        ws.events.signal_live.emit(opened(second, 30))
        ws.events.partial_loss.emit(partial(second, 10, 31, 42050.0))
    assert panel.line_of("sig-1") is None  # the run's next position replaces the closed one
    assert panel.lit_levels("sig-2") == ([], [10])
    assert cell_colour(panel, 0, "loss", 10) == QColor(DARK_TONES.loss_cell)
    feed.disconnect_engine()


def test_a_restored_position_appears_with_its_first_active_tick(qtbot: QtBot) -> None:
    panel = PartialLevelsPanel()
    qtbot.addWidget(panel)
    panel.apply([active(signal_row(), 40, 42200.0, percent_tp=47.6)])
    line = panel.line_of("sig-1")
    assert line is not None
    assert (line.percent_tp, line.profit, line.closed) == (47.6, [], False)


def test_a_position_s_line_shows_its_effective_entry_after_averaging_in(qtbot: QtBot) -> None:
    panel = PartialLevelsPanel()
    qtbot.addWidget(panel)
    row = signal_row()
    panel.apply([opened(row)])
    averaged = row.model_copy(update={"price_open": 41900.0})  # the view after an averaging entry at 41,800
    panel.apply([active(averaged, 40, 42200.0, percent_tp=47.6)])
    line = panel.line_of("sig-1")
    assert line is not None
    assert line.signal.price_open == 41900.0


# ---------------------------------------------------------------------------------------------------------------
# Restore banner


def stored(kind: str, signal: ws.SignalRow) -> ws.PersistedLiveSignal:
    return ws.PersistedLiveSignal(kind=kind, signal=signal)


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "under 1 min"), (45, "45 min"), (60, "1 h 0 min"), (192, "3 h 12 min"), (1440 * 2 + 250, "2 d 4 h")],
)
def test_ages_read_as_a_trader_says_them(minutes: int, text: str) -> None:
    assert age_text(ts(0), ts(minutes) + 59_999) == text


def test_the_banner_lists_stored_signals_and_resumes_only_the_checked_ones(qtbot: QtBot) -> None:
    banner = RestoreBanner(now_ms=lambda: ts(10 + 192))
    qtbot.addWidget(banner)
    position = stored("open_position", signal_row())
    order = stored(
        "limit_order",
        signal_row(
            "sig-2",
            position="short",
            price_open=42200.0,
            take_profit=41700.0,
            stop_loss=42500.0,
            pending_at=None,
            scheduled_at=ts(130),
        ),
    )
    banner.show_records([position, order])
    assert not banner.isHidden()
    assert banner.title.text() == "Stored from the last session: 1 open position and 1 waiting limit order"
    assert "nothing trades until you resume" in banner.explanation.text()
    assert banner.model.texts() == [
        ("Open position", SYMBOL, STRATEGY, EXCHANGE, "LONG", "42000.00", "42420.00", "41580.00", "3 h 12 min"),
        ("Limit order", SYMBOL, STRATEGY, EXCHANGE, "SHORT", "42200.00", "41700.00", "42500.00", "1 h 12 min"),
    ]
    banner.model.set_checked(1, False)
    assert banner.resume_button.text() == "Resume 1 checked"
    with qtbot.waitSignal(banner.resume_requested) as resumed:
        qtbot.mouseClick(banner.resume_button, Qt.MouseButton.LeftButton)
    assert resumed.args == [[position]]
    assert banner.isHidden()


def test_a_paper_session_record_is_listed_unchecked_as_replayed(qtbot: QtBot) -> None:
    banner = RestoreBanner(now_ms=lambda: ts(10 + 192))
    qtbot.addWidget(banner)
    paper = stored(
        "open_position", signal_row().model_copy(update={"exchange_name": "paper-demo-BTCUSDT-20240101T0000-600x"})
    )
    banner.show_records([stored("open_position", signal_row()), paper])
    assert banner.model.texts()[1] == (
        "Open position (paper)",
        SYMBOL,
        STRATEGY,
        "paper-demo-BTCUSDT-20240101T0000-600x",
        "LONG",
        "42000.00",
        "42420.00",
        "41580.00",
        "replayed",
    )
    assert banner.model.checked_records() == [stored("open_position", signal_row())]


def test_dismiss_hides_the_banner_and_resumes_nothing(qtbot: QtBot) -> None:
    banner = RestoreBanner(now_ms=lambda: ts(20))
    qtbot.addWidget(banner)
    banner.show_records([stored("open_position", signal_row())])
    resumed: list[Any] = []
    banner.resume_requested.connect(resumed.append)
    with qtbot.waitSignal(banner.dismissed):
        qtbot.mouseClick(banner.dismiss_button, Qt.MouseButton.LeftButton)
    assert banner.isHidden()
    assert resumed == []
    banner.show_records([])
    assert banner.isHidden()


# ---------------------------------------------------------------------------------------------------------------
# Paper trading dialog


def test_the_paper_dialog_rejects_speed_0_next_to_the_speed_field(qtbot: QtBot) -> None:
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=lambda _symbol, _when: None)
    dialog = PaperTradingDialog(ws.PaperTradingRequest)
    qtbot.addWidget(dialog)
    dialog.form.set_values({"strategy_name": STRATEGY, "symbol": SYMBOL, "speed": 0.0})
    assert dialog.error("speed") == "Input should be greater than or equal to 1"
    assert dialog.error("symbol") == ""
    assert not dialog.start_button.isEnabled()
    qtbot.mouseClick(dialog.speed_buttons[600], Qt.MouseButton.LeftButton)
    assert dialog.error("speed") == ""
    assert dialog.start_button.isEnabled()
    dialog.form.set_values({"start": datetime(2024, 1, 1, tzinfo=UTC), "days": 2})
    with qtbot.waitSignal(dialog.request_accepted) as accepted:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    request = accepted.args[0]
    assert isinstance(request, ws.PaperTradingRequest)
    assert (request.strategy_name, request.symbol, request.source, request.speed, request.start, request.days) == (
        STRATEGY,
        SYMBOL,
        "demo",
        600.0,
        datetime(2024, 1, 1, tzinfo=UTC),
        2,
    )


def test_the_paper_dialog_asks_for_a_stored_exchange_only_for_stored_candles(qtbot: QtBot) -> None:
    dialog = PaperTradingDialog(ws.PaperTradingRequest)
    qtbot.addWidget(dialog)
    dialog.show()
    stored_exchange = dialog.form.editors["stored_exchange"].widget
    assert dialog.form.values()["source"] == "demo"
    assert not stored_exchange.isVisible()
    assert not dialog.form.labels["stored_exchange"].isVisible()
    dialog.form.set_values({"source": "stored"})
    assert stored_exchange.isVisible()
    assert dialog.form.labels["stored_exchange"].isVisible()
    assert dialog.error("stored_exchange") != ""
    dialog.form.set_values({"source": "demo"})
    assert not stored_exchange.isVisible()
    assert not dialog.form.error_labels["stored_exchange"].isVisible()


# ---------------------------------------------------------------------------------------------------------------
# Chart


def flat_candles(first_minute: int, count: int, price: float = 42000.0) -> np.ndarray:
    rows = [
        (ts(first_minute + k), price, price + 10, price - 10, price + (5 if k % 2 else -5), 100.0) for k in range(count)
    ]
    return np.array(rows, dtype=ws.CANDLE_DTYPE)


def test_the_chart_draws_the_open_signal_s_levels_and_the_price(qtbot: QtBot) -> None:
    chart = LiveChart(DARK_PALETTE)
    qtbot.addWidget(chart)
    chart.show_run(KEY)
    assert chart.title.text() == f"{STRATEGY} · {SYMBOL}"
    chart.set_candles(flat_candles(0, 300))
    chart.set_signal(signal_row())
    chart.set_price(42123.5)
    assert chart.line_labels() == {
        "entry": "Entry 42000.00",
        "take_profit": "TP 42420.00",
        "stop_loss": "SL 41580.00",
        "price": "42123.50",
    }
    assert chart.levels_text.text() == "LONG · entry 42000.00 · TP 42420.00 · SL 41580.00"
    chart.set_signal(None)
    assert chart.line_labels() == {"price": "42123.50"}
    assert chart.levels_text.text() == "Flat"


def test_new_candles_keep_a_following_view_on_the_newest_bar_and_a_moved_view_on_its_times(qtbot: QtBot) -> None:
    chart = LiveChart(DARK_PALETTE)
    qtbot.addWidget(chart)
    chart.resize(900, 500)
    chart.show_run(KEY)
    chart.set_candles(flat_candles(0, 300))
    box = chart.chart.price_plot.getViewBox()
    first, last = box.viewRange()[0]
    chart.set_candles(flat_candles(1, 300))  # one minute later, the window slid by one bar
    assert box.viewRange()[0] == pytest.approx([first, last])  # still showing the newest bar, same zoom
    qtbot.keyClick(chart.chart, Qt.Key.Key_Left)  # the trader looks back: the view stops following
    shown = chart.chart.visible_time_range()
    chart.set_candles(flat_candles(2, 300))
    assert chart.chart.visible_time_range() == shown


# ---------------------------------------------------------------------------------------------------------------
# Coalesced candle reads


class GatedReader:
    """A candle reader whose reads wait until released, recording each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, int]] = []
        self.gates: list[asyncio.Event] = []
        self.cancelled = 0

    async def __call__(self, symbol: str, strategy_name: str, limit: int) -> np.ndarray:
        self.requests.append((symbol, strategy_name, limit))
        gate = asyncio.Event()
        self.gates.append(gate)
        try:
            await gate.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return flat_candles(len(self.requests), 3)


@pytest.fixture
def loop(qloop: qasync.QEventLoop, qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    yield qloop


def test_asks_during_a_read_collapse_into_one_more_read_and_a_new_run_cancels_the_stale_one(
    qtbot: QtBot, loop: qasync.QEventLoop
) -> None:
    reader = GatedReader()
    stream = LatestCandles(reader, limit=720)
    loaded: list[tuple[Any, int]] = []
    stream.candles_loaded.connect(lambda key, candles: loaded.append((key, int(candles["timestamp"][0]))))

    async def scenario() -> None:
        stream.follow(KEY)
        await asyncio.sleep(0)
        for _ in range(5):
            stream.refresh()
        assert reader.requests == [(SYMBOL, STRATEGY, 720)]
        reader.gates[0].set()
        await asyncio.sleep(0.01)
        assert reader.requests == [(SYMBOL, STRATEGY, 720)] * 2  # five asks, one more read
        reader.gates[1].set()
        await asyncio.sleep(0.01)
        stream.refresh()
        await asyncio.sleep(0)
        stream.follow(("ETHUSDT", STRATEGY))  # the BTCUSDT read in flight is stale now
        await asyncio.sleep(0)
        for gate in reader.gates:
            gate.set()
        await asyncio.sleep(0.01)
        await stream.stop()

    loop.run_until_complete(scenario())
    assert reader.cancelled == 1
    assert loaded == [(KEY, ts(1)), (KEY, ts(2)), (("ETHUSDT", STRATEGY), ts(4))]
    assert reader.requests[-1] == ("ETHUSDT", STRATEGY, 720)

"""The live panel: real live runs on replay clocks (start, Stop, done, resume, shutdown, paper trading), and
screenshots of the panel filled with hand-built events in the dark and the light theme, with pixel facts.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qasync
from loop_helpers import on_loop, pause, wait_until
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE, LIGHT_PALETTE
from ui.live.panel import LivePanel
from ui.live.runs import RunCommanded, RunKey
from ui.live.strategies_table import StrategyColumn
from ui.live.tones import DARK_TONES, LIGHT_TONES
from ui.themes import apply_theme

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
T0 = 1704067200000  # 2024-01-01 00:00 UTC
MINUTE = 60_000
SYMBOL = "BTCUSDT"
STRATEGY = "one-shot"
EXCHANGE = "ladder"
KEY = (SYMBOL, STRATEGY)


def ts(minute: int) -> int:
    return T0 + minute * MINUTE


def at(minute: int) -> datetime:
    return datetime.fromtimestamp(ts(minute) / 1000, tz=UTC)


def ladder(
    steps: dict[int, float], last_minute: int = 400, base: float = 42000.0, first_minute: int = -1440
) -> np.ndarray:
    """1m candles ``open = close = p(k)``, ``high = p + 10``, ``low = p - 10`` (SPEC §19's LADDER, minutes from T0).

    They start a day before T0, so that the chart's 720 candles exist before any tick of the run.
    """
    minutes = np.arange(first_minute, last_minute, dtype=np.int64)
    prices = np.full(len(minutes), base)
    for step in sorted(steps):
        prices[minutes >= step] = steps[step]
    candles = np.zeros(len(minutes), dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = T0 + minutes * MINUTE
    candles["open"] = candles["close"] = prices
    candles["high"], candles["low"], candles["volume"] = prices + 10, prices - 10, 100.0
    return candles


class OneShot:
    """``get_signal`` returning ``signal`` on its first call, None after."""

    def __init__(self, signal: ws.Signal | None) -> None:
        self.signal = signal
        self.calls = 0

    def __call__(self, symbol: str, when: datetime) -> ws.Signal | None:
        self.calls += 1
        return self.signal if self.calls == 1 else None


LONG = ws.Signal(position="long", price_take_profit=42420.0, price_stop_loss=41580.0, minute_estimated_time=120)


def register(signal: ws.Signal | None, steps: dict[int, float], start_minute: int = 10) -> ws.ReplayClock:
    """Register the replayed ladder exchange and the one-shot strategy; return the clock at ``start_minute``."""
    clock = ws.ReplayClock(at(start_minute))
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, ladder(steps), clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=OneShot(signal))
    return clock


def status(panel: LivePanel, key: RunKey = KEY) -> str:
    run = panel.strategies.run(key)
    assert run is not None
    return run.status


# ---------------------------------------------------------------------------------------------------------------
# Real runs


def test_a_started_run_is_running_then_stop_makes_it_stopping_until_done_live_makes_it_stopped(
    panel: LivePanel, qloop: qasync.QEventLoop
) -> None:
    clock = ws.ReplayClock(at(10), speed=60)  # one virtual minute per real second: the run is slow enough to watch
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, ladder({}), clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=OneShot(None))
    done: list[Any] = []
    ws.listen_done_live(done.append)
    refused: list[str] = []
    panel.error_raised.connect(lambda title, _details: refused.append(title))

    async def scenario() -> None:
        assert panel.start_live(SYMBOL, STRATEGY, EXCHANGE, clock=clock, until=at(300))
        assert status(panel) == "running"
        assert not panel.start_live(SYMBOL, STRATEGY, EXCHANGE, clock=clock)  # one run per pair
        assert refused == ["Could not start one-shot · BTCUSDT: it is already running"]
        assert panel.strategies.index(0, 3).data() == "live"
        assert panel.stop_action.isEnabled() and panel.stop_all_action.isEnabled()
        await asyncio.sleep(0.1)
        panel.stop_action.trigger()
        assert status(panel) == "stopping"
        assert not panel.stop_action.isEnabled()
        while not done:
            await asyncio.sleep(0.01)
        panel.feed.flush()

    qloop.run_until_complete(scenario())
    assert status(panel) == "stopped"
    assert panel.strategies.index(0, 4).data() == "stopped"
    blotter = panel.blotter.model.texts()
    assert [line[3] for line in blotter] == ["STARTED", "START REFUSED", "STOP REQUESTED", "ENDED"]
    assert blotter[0][0] == "2024-01-01 00:10:00"  # the replay clock's time, not the wall clock's
    assert not panel.stop_all_action.isEnabled()
    assert panel.summary.text().strip() == "0 running"


def test_stop_with_an_open_position_stays_stopping_until_the_position_closes(
    panel: LivePanel, qloop: qasync.QEventLoop
) -> None:
    """L1 on a replay at 600×: Stop at the open leaves the position managed to its take profit at 00:25."""
    clock = ws.ReplayClock(at(10), speed=600)
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, ladder({20: 42500.0}), clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=OneShot(LONG))
    done: list[Any] = []
    ws.listen_done_live(done.append)
    statuses: list[str] = []

    async def scenario() -> None:
        assert panel.start_live(SYMBOL, STRATEGY, EXCHANGE, clock=clock, until=at(179))
        while panel.strategies.index(0, 5).data() != "LONG":
            await asyncio.sleep(0.01)
        panel.table.select_run(KEY)
        panel.stop_action.trigger()
        while not done:
            statuses.append(status(panel))
            await asyncio.sleep(0.01)
        panel.feed.flush()

    qloop.run_until_complete(scenario())
    assert set(statuses) == {"stopping"}
    assert status(panel) == "stopped"
    blotter = [line for line in panel.blotter.model.texts() if line[3] != "PROFIT LEVEL"]
    assert [(line[0], line[3]) for line in blotter] == [
        ("2024-01-01 00:10:00", "STARTED"),
        ("2024-01-01 00:10:00", "OPENED"),
        ("2024-01-01 00:10:00", "STOP REQUESTED"),
        ("2024-01-01 00:25:00", "CLOSED"),
        ("2024-01-01 00:25:00", "ENDED"),
    ]


def test_start_on_a_stopped_paper_run_resumes_it_where_it_stopped(panel: LivePanel, qloop: qasync.QEventLoop) -> None:
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=OneShot(None))
    request = ws.PaperTradingRequest(strategy_name=STRATEGY, symbol=SYMBOL, source="demo", speed=600, start=at(0))
    ticks: list[int] = []
    ws.listen_signal_live(lambda result: ticks.append(result.timestamp))
    done: list[Any] = []
    ws.listen_done_live(done.append)
    assert qloop.run_until_complete(panel.start_paper(request))
    wait_until(qloop, lambda: len(ticks) >= 5)
    on_loop(qloop, panel.stop_all)
    wait_until(qloop, lambda: bool(done))
    panel.feed.flush()
    stopped_at = ticks[-1]
    panel.table.select_run(KEY)
    assert panel.start_action.text() == "Start again"
    on_loop(qloop, panel.start_action.trigger)
    wait_until(qloop, lambda: len(ticks) > 0 and ticks[-1] > stopped_at)
    assert status(panel) == "running"
    resumed = ticks[ticks.index(stopped_at) + 1]
    assert resumed == stopped_at + MINUTE  # the tick after the last one played, not the session's start again


def test_a_replayed_take_profit_shows_in_table_levels_blotter_and_chart(
    panel: LivePanel, qloop: qasync.QEventLoop
) -> None:
    """SPEC §19.4 L1 through the panel: long at 00:10, levels 10..90, closed by TP at 00:25 for +0.5974 %."""
    clock = register(LONG, {20: 42500.0})
    done: list[Any] = []
    ws.listen_done_live(done.append)
    assert on_loop(qloop, lambda: panel.start_live(SYMBOL, STRATEGY, EXCHANGE, clock=clock, until=at(179)))
    wait_until(qloop, lambda: bool(done))
    panel.feed.flush()
    wait_until(qloop, lambda: not panel.candles.in_flight())

    assert status(panel) == "stopped"
    texts = [panel.strategies.index(0, column).data() for column in range(12)]
    assert texts[4:12] == ["stopped", "—", "—", "—", "—", "—", "42500.00", "—"]
    blotter = panel.blotter.model.texts()
    actions = [line[3] for line in blotter]
    assert actions == ["STARTED", "OPENED"] + ["PROFIT LEVEL"] * 9 + ["CLOSED", "ENDED"]
    assert blotter[1][:5] == ("2024-01-01 00:10:00", SYMBOL, STRATEGY, "OPENED", "42000.00")
    assert blotter[-2][0] == "2024-01-01 00:25:00"
    assert blotter[-2][3:] == ("CLOSED", "42420.00", "take_profit · PnL +0.60%")
    (line,) = panel.levels.lines()
    assert (line.profit, line.loss, line.closed) == ([10, 20, 30, 40, 50, 60, 70, 80, 90], [], True)
    assert panel.chart.key == KEY
    assert panel.chart.chart.entry_marker_count() == 1
    assert panel.chart.chart.exit_marker_count() == 1
    candles = panel.chart.chart.candles()
    assert len(candles) > 0
    assert int(candles["timestamp"][-1]) <= ts(180)  # only candles the run has seen closed
    assert panel.chart.line_labels() == {"price": "42500.00"}


def test_stored_positions_are_offered_with_their_levels_and_resume_restarts_them(
    panel: LivePanel, qloop: qasync.QEventLoop
) -> None:
    now = int(time.time() * 1000)
    pending = now - (3 * 60 + 12) * MINUTE - 30_000
    row = ws.SignalRow(
        id="stored-1",
        position="long",
        note="",
        price_open=42000.0,
        price_take_profit=42420.0,
        price_stop_loss=41580.0,
        minute_estimated_time=24 * 60,
        symbol=SYMBOL,
        exchange_name=EXCHANGE,
        strategy_name=STRATEGY,
        frame_name="",
        scheduled_at=pending,
        pending_at=pending,
        is_scheduled=False,
    )
    qloop.run_until_complete(ws.persist.adapter("signal").write_value(f"{SYMBOL}:{STRATEGY}", row.model_dump()))
    offered = qloop.run_until_complete(panel.show_restored())
    assert [(record.kind, record.signal.id) for record in offered] == [("open_position", "stored-1")]
    assert not panel.banner.isHidden()
    assert panel.banner.model.texts() == [
        ("Open position", SYMBOL, STRATEGY, EXCHANGE, "LONG", "42000.00", "42420.00", "41580.00", "3 h 12 min")
    ]
    assert status_or_none(panel) is None  # nothing trades until the trader resumes

    start = datetime.fromtimestamp(now / 1000, tz=UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    clock_minute = (int(start.timestamp() * 1000) - T0) // MINUTE
    candles = ladder({}, first_minute=clock_minute - 1440, last_minute=clock_minute + 60)
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, candles, ws.SystemClock()))
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=OneShot(None))
    with_signal: list[Any] = []
    ws.listen_signal_live(with_signal.append)
    on_loop(qloop, panel.banner.resume)
    wait_until(qloop, lambda: status_or_none(panel) == "running")
    wait_until(qloop, lambda: any(result.action == "active" for result in with_signal))
    panel.feed.flush()
    texts = [panel.strategies.index(0, column).data() for column in range(9)]
    assert texts[4:9] == ["running", "LONG", "42000.00", "42420.00", "41580.00"]
    assert panel.blotter.model.texts()[0][3:] == (
        "RESUMED",
        "",
        "open position stored-1, tracked without orders as it ran",
    )
    assert [line.signal.id for line in panel.levels.lines()] == ["stored-1"]


def status_or_none(panel: LivePanel) -> str | None:
    run = panel.strategies.run(KEY)
    return None if run is None else run.status


def test_shutdown_cancels_a_run_whose_position_is_still_open_and_keeps_it_stored(
    panel: LivePanel, qloop: qasync.QEventLoop
) -> None:
    clock = ws.ReplayClock(at(10), speed=1)  # real time: the position cannot close within the grace period
    ws.add_exchange(ws.make_replay_exchange(EXCHANGE, ladder({}), clock))
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=OneShot(LONG))
    opened: list[Any] = []
    ws.listen_signal_live(lambda result: opened.append(result) if result.action == "opened" else None)
    assert on_loop(qloop, lambda: panel.start_live(SYMBOL, STRATEGY, EXCHANGE, clock=clock))
    wait_until(qloop, lambda: bool(opened))
    cancelled = qloop.run_until_complete(panel.shutdown(grace_seconds=0.3))
    assert cancelled == [KEY]
    assert ws.Live.list() == []  # cancelled and forgotten: nothing runs on once the window is gone
    assert status(panel) == "stopped"
    stored = qloop.run_until_complete(ws.Live.persisted())
    assert [(record.kind, record.signal.id) for record in stored] == [("open_position", opened[0].signal.id)]


def test_a_refused_start_is_reported_and_lists_nothing(panel: LivePanel, qloop: qasync.QEventLoop) -> None:
    errors: list[tuple[str, str]] = []
    panel.error_raised.connect(lambda title, details: errors.append((title, details)))
    assert not on_loop(qloop, lambda: panel.start_live(SYMBOL, "missing", "nowhere"))
    assert panel.strategies.rowCount() == 0
    assert len(errors) == 1
    assert errors[0][0].startswith('Could not start missing · BTCUSDT: strategy "missing" not found')
    panel.feed.flush()
    (line,) = panel.blotter.model.texts()
    assert line[1:4] == (SYMBOL, "missing", "START REFUSED")
    assert line[5].startswith('SchemaNotFoundError: strategy "missing" not found')


def test_paper_trading_from_the_dialog_runs_demo_candles_as_paper_and_stops(
    panel: LivePanel, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=OneShot(None))
    done: list[Any] = []
    ws.listen_done_live(done.append)
    panel.start_action.trigger()
    dialog = panel.paper_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.form.set_values({"strategy_name": STRATEGY, "symbol": SYMBOL, "source": "demo", "start": at(0), "days": 1})
    on_loop(qloop, lambda: qtbot.mouseClick(dialog.speed_buttons[600], Qt.MouseButton.LeftButton))
    on_loop(qloop, lambda: qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton))
    assert not dialog.isVisible()
    wait_until(qloop, lambda: panel.strategies.rowCount() == 1)
    (run,) = panel.strategies.runs()
    assert (run.mode, run.status) == ("paper", "running")
    assert run.exchange_name == "paper-demo-BTCUSDT-20240101T0000-600x"
    column = StrategyColumn.LAST_TICK
    wait_until(qloop, lambda: panel.strategies.index(0, column).data() != "—")  # ticking in replayed time
    on_loop(qloop, panel.stop_all)
    wait_until(qloop, lambda: bool(done))
    panel.feed.flush()
    assert status(panel) == "stopped"
    assert panel.blotter.model.texts()[0][3:] == (
        "STARTED",
        "",
        "demo candles from 2024-01-01 00:00 UTC, 1 d at 600×",
    )


def test_a_paper_request_that_cannot_be_prepared_is_reported(panel: LivePanel, qloop: qasync.QEventLoop) -> None:
    errors: list[str] = []
    panel.error_raised.connect(lambda title, _details: errors.append(title))
    request = ws.PaperTradingRequest(
        strategy_name=STRATEGY, symbol=SYMBOL, source="stored", stored_exchange="csv", start=at(0)
    )
    assert not qloop.run_until_complete(panel.start_paper(request))
    # No candles are stored in this test's fresh data directory: the engine's own message follows the title.
    assert len(errors) == 1
    assert errors[0].startswith("Could not start one-shot · BTCUSDT: ")
    assert panel.strategies.rowCount() == 0


# ---------------------------------------------------------------------------------------------------------------
# Screenshots of a filled panel


def scene_candles() -> np.ndarray:
    """Half a day of 1m BTCUSDT candles along the session's story: a dip bought, a take profit, a new long rising."""
    rng = np.random.default_rng(7)
    anchors = [(0, 41850.0), (300, 42060.0), (560, 41890.0), (610, 42110.0), (650, 42005.0), (719, 42250.0)]
    minutes = np.arange(720)
    path = np.interp(minutes, [m for m, _ in anchors], [p for _, p in anchors])
    closes = path + rng.normal(0, 6, 720)
    closes[-1] = 42250.0
    opens = np.concatenate([[closes[0]], closes[:-1]])
    candles = np.zeros(720, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = ts(0) + minutes.astype(np.int64) * MINUTE
    candles["open"], candles["close"] = opens, closes
    candles["high"] = np.maximum(opens, closes) + rng.uniform(1, 10, 720)
    candles["low"] = np.minimum(opens, closes) - rng.uniform(1, 10, 720)
    candles["volume"] = rng.uniform(20, 200, 720)
    return candles


def row_of(
    signal_id: str,
    symbol: str,
    strategy: str,
    exchange: str,
    position: str,
    levels: tuple[float, float, float],
    pending: int | None,
    scheduled: int,
) -> ws.SignalRow:
    return ws.SignalRow(
        id=signal_id,
        position=position,
        note="",
        price_open=levels[0],
        price_take_profit=levels[1],
        price_stop_loss=levels[2],
        minute_estimated_time=240,
        symbol=symbol,
        exchange_name=exchange,
        strategy_name=strategy,
        frame_name="",
        scheduled_at=scheduled,
        pending_at=pending,
        is_scheduled=pending is None,
    )


def base(row: ws.SignalRow, minute: int, price: float) -> dict[str, Any]:
    return {
        "symbol": row.symbol,
        "strategy_name": row.strategy_name,
        "exchange_name": row.exchange_name,
        "frame_name": "",
        "backtest": False,
        "timestamp": ts(minute),
        "current_price": price,
    }


def level(row: ws.SignalRow, value: int, minute: int, price: float) -> ws.PartialEvent:
    return ws.PartialEvent(
        symbol=row.symbol,
        strategy_name=row.strategy_name,
        exchange_name=row.exchange_name,
        frame_name="",
        signal=row,
        current_price=price,
        level=value,
        backtest=False,
        timestamp=ts(minute),
    )


BTC = ("BTCUSDT", "sma-cross-market")


def fill(panel: LivePanel) -> None:
    """Feed a session through the event hub: a paper long in profit after a closed trade, a waiting short limit
    order, a short in loss, a run stopping; and two stored signals of the last session."""
    model = panel.strategies
    model.add_run(*BTC, "paper-demo-BTCUSDT-20240101T0000-60x", "paper")
    model.add_run("ETHUSDT", "rsi-reversion", "binance", "live")
    model.add_run("SOLUSDT", "breakout", "binance", "live")
    model.add_run("XRPUSDT", "sma-cross-limit", "binance", "live")
    panel.feed.push(RunCommanded(*BTC, "started", ts(540), "demo candles from 2024-01-01 09:00 UTC, 1 d at 60×"))
    live = ws.events.signal_live.emit
    exchange = "paper-demo-BTCUSDT-20240101T0000-60x"
    earlier = row_of("sma:BTC:1", *BTC, exchange, "long", (41890.0, 42110.0, 41700.0), ts(560), ts(560))
    live(ws.OpenedResult(signal=earlier, **base(earlier, 560, 41890.0)))
    pnl = ws.Pnl(
        pnl_percentage=0.3246, pnl_cost=0.32, pnl_entries=100.0, price_open=41890.0, price_close=42110.0, fee_cost=0.2
    )
    live(
        ws.ClosedResult(
            signal=earlier, close_reason="take_profit", close_timestamp=ts(610), pnl=pnl, **base(earlier, 610, 42110.0)
        )
    )
    btc = row_of("sma:BTC:2", *BTC, exchange, "long", (42005.0, 42425.0, 41795.0), ts(650), ts(650))
    live(ws.OpenedResult(signal=btc, **base(btc, 650, 42005.0)))
    sol = row_of("brk:SOL:1", "SOLUSDT", "breakout", "binance", "short", (101.25, 97.5, 103.1), ts(690), ts(690))
    live(ws.OpenedResult(signal=sol, **base(sol, 690, 101.25)))
    eth = row_of("rsi:ETH:1", "ETHUSDT", "rsi-reversion", "binance", "short", (2291.4, 2240.0, 2318.0), None, ts(700))
    live(ws.ScheduledResult(signal=eth, **base(eth, 700, 2279.85)))
    for value in (10, 20, 30):
        ws.events.partial_loss.emit(level(sol, value, 700 + value // 10, 101.25 + value * 0.0185))
    for value in (10, 20, 30, 40, 50):
        ws.events.partial_profit.emit(level(btc, value, 705 + value // 10, 42005.0 + value * 4.2))
    panel.feed.push(RunCommanded("XRPUSDT", "sma-cross-limit", "stop requested", ts(718)))
    model.set_status(("XRPUSDT", "sma-cross-limit"), "stopping")
    live(ws.ActiveResult(signal=btc, percent_tp=58.3, percent_sl=0.0, **base(btc, 719, 42250.0)))
    live(ws.ActiveResult(signal=eth, percent_tp=0.0, percent_sl=0.0, **base(eth, 719, 2281.1)))
    live(ws.ActiveResult(signal=sol, percent_tp=0.0, percent_sl=34.6, **base(sol, 719, 101.89)))
    live(ws.IdleResult(**{**base(sol, 719, 0.6214), "symbol": "XRPUSDT", "strategy_name": "sma-cross-limit"}))
    panel.feed.flush()
    now = int(time.time() * 1000)
    stored = [
        ws.PersistedLiveSignal(
            kind="open_position",
            signal=row_of(
                "brk:ADA:7",
                "ADAUSDT",
                "breakout",
                "binance",
                "long",
                (0.5912, 0.6105, 0.5815),
                now - 192 * MINUTE,
                now - 192 * MINUTE,
            ),
        ),
        ws.PersistedLiveSignal(
            kind="limit_order",
            signal=row_of(
                "rsi:LTC:3", "LTCUSDT", "rsi-reversion", "binance", "short", (72.4, 69.9, 73.8), None, now - 45 * MINUTE
            ),
        ),
    ]
    panel.banner.show_records(stored)


def colour_pixels(image: QImage, colour: str) -> int:
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(bytes(converted.constBits()), dtype=np.uint8).reshape(converted.height(), -1)
    rgb = raw[:, : converted.width() * 3].reshape(converted.height(), converted.width(), 3)
    wanted = QColor(colour)
    return int(np.all(rgb == (wanted.red(), wanted.green(), wanted.blue()), axis=2).sum())


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_screenshot_of_a_filled_panel(qtbot: QtBot, qloop: qasync.QEventLoop, qapp: QApplication, theme: str) -> None:
    apply_theme(qapp, theme)  # type: ignore[arg-type]
    palette, tones = (DARK_PALETTE, DARK_TONES) if theme == "dark" else (LIGHT_PALETTE, LIGHT_TONES)
    try:
        candles = scene_candles()

        async def read(symbol: str, strategy_name: str, limit: int) -> np.ndarray:
            return candles[-limit:]

        panel = LivePanel(palette, read_candles=read)
        qtbot.addWidget(panel)
        panel.resize(1500, 1000)
        panel.show()
        fill(panel)
        assert panel.chart.key == BTC  # the first run listed is followed
        wait_until(qloop, lambda: len(panel.chart.chart.candles()) == 720)
        pause(qloop, 0.05)
        SHOTS.mkdir(parents=True, exist_ok=True)
        image = panel.grab().toImage()
        assert image.save(str(SHOTS / f"live_panel_{theme}.png"))
        assert panel.levels.grab().save(str(SHOTS / f"live_levels_{theme}.png"))
        assert panel.banner.grab().save(str(SHOTS / f"live_banner_{theme}.png"))
        levels = panel.levels.grab().toImage()
        assert colour_pixels(levels, tones.profit_cell) > 5 * 200  # five lit profit cells of BTC
        assert colour_pixels(levels, tones.loss_cell) > 3 * 200  # three lit loss cells of SOL
        assert colour_pixels(image, palette.take_profit) > 300  # the TP line across the chart
        assert colour_pixels(image, palette.stop_loss) > 300
        assert panel.chart.line_labels() == {
            "entry": "Entry 42005.00",
            "take_profit": "TP 42425.00",
            "stop_loss": "SL 41795.00",
            "price": "42250.00",
        }
        assert panel.chart.chart.entry_marker_count() == 2
        assert panel.chart.chart.exit_marker_count() == 1
        assert [line[3] for line in panel.blotter.model.texts()] == [
            "STARTED",
            "OPENED",
            "CLOSED",
            "OPENED",
            "OPENED",
            "SCHEDULED",
        ] + ["LOSS LEVEL"] * 3 + ["PROFIT LEVEL"] * 5 + ["STOP REQUESTED"]
        dialog = panel.open_paper_dialog()
        dialog.form.set_values({"strategy_name": "sma-cross-market", "symbol": SYMBOL, "speed": 0.0})
        pause(qloop, 0.02)
        assert dialog.grab().save(str(SHOTS / f"live_paper_dialog_{theme}.png"))
        assert dialog.error("speed") == "Input should be greater than or equal to 1"
        dialog.close()
        qloop.run_until_complete(panel.shutdown(grace_seconds=0.1))
    finally:
        qapp.setPalette(qapp.style().standardPalette())
        qapp.setStyleSheet("")

"""Position management in paper trading (issue 14, SPEC-position P2, P3 live, P11–P13): the peer's managed
strategies (the built-in ``managed-sma``, recorded by ``ManagedHarness``) run live over a day of replayed demo candles.

Live, a command books at the tick's price (the callback's ``current_price``, which is ``get_average_price``), changes
the position at once, and a close, cancel or activation asked for at one tick happens at the start of the next, at
that tick's price. Every price is checked against the VWAP worked out from the candles themselves.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import workstation as ws
from workstation.clients.candle_data import vwap_series
from workstation.examples.managed_sma import ManagedSma, ManagedSmaParams
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles
from workstation.parity import MANAGED_ENTRIES, ManagedHarness, SignalRecord
from workstation.services.live_records import LivePause, LiveProgress, LiveRecords
from workstation.timeutil import MINUTE_MS, to_ms

from .fixtures import EXCHANGE, STRATEGY, L, at, ts
from .live_fixtures import register_live

SYMBOL = "BTCUSDT"
START = datetime(2024, 3, 1, tzinfo=UTC)
HOURS = 24


@dataclass
class PaperRun:
    """What a managed paper run did: its results, the tick prices, the commands, and when get_signal ran."""

    harness: ManagedHarness
    prices: dict[int, float]
    results: list[Any] = field(default_factory=list)
    ticks: list[Any] = field(default_factory=list)
    commits: list[Any] = field(default_factory=list)
    pauses: list[Any] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    get_signal_at: list[int] = field(default_factory=list)
    management: dict[str, SignalRecord] = field(default_factory=dict)

    def logged(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """Every successful command ``name`` of the harness's logs, with its signal id."""
        return [
            (signal_id, entry)
            for signal_id, management in self.management.items()
            for entry in management.commits
            if entry["fn"] == name
        ]

    def ended(self, signal_id: str) -> Any:
        """The close or cancel of ``signal_id``."""
        (end,) = [
            result
            for result in self.results
            if result.action in ("closed", "cancelled") and result.signal.id == signal_id
        ]
        return end


def tick_prices(candles: Any) -> dict[int, float]:
    """The price of each live tick: the VWAP of the five candles closed before it (SPEC §4.6)."""
    count = ws.get_config().avg_price_candles_count
    vwap = vwap_series(candles, count)
    closes = candles["timestamp"][count - 1 :] + MINUTE_MS
    return dict(zip(closes.tolist(), vwap.tolist(), strict=True))


def paper_run(variant: str) -> PaperRun:
    ws.persist.use_memory()
    first = to_ms(START - timedelta(days=1))
    candles = DemoCandles().candles(SYMBOL, CandleWindow(1, first, to_ms(START + timedelta(hours=HOURS + 30))))
    clock = ws.ReplayClock(START)
    ws.add_exchange(ws.make_replay_exchange("replay", candles, clock))
    harness = ManagedHarness(ManagedSma(ManagedSmaParams(variant=MANAGED_ENTRIES[variant])))
    schema = harness.schema()
    run = PaperRun(harness, tick_prices(candles))

    async def get_signal(symbol: str, when: datetime) -> ws.Signal | None:
        run.get_signal_at.append(to_ms(when))
        signal: ws.Signal | None = await schema.get_signal(symbol, when)
        return signal

    ws.add_strategy(schema.model_copy(update={"strategy_name": variant, "get_signal": get_signal}))
    ws.listen_signal_live(run.ticks.append)
    ws.listen_commit(run.commits.append)
    ws.listen_pause(run.pauses.append)
    ws.listen_error(run.errors.append)

    async def consume() -> None:
        until = START + timedelta(hours=HOURS)
        live = ws.Live.run(SYMBOL, strategy_name=variant, exchange_name="replay", clock=clock, until=until)
        async for result in live:
            run.results.append(result)

    asyncio.run(consume())
    run.management = dict(harness.signals)
    assert run.errors == []
    return run


def fresh_paper_run(variant: str) -> PaperRun:
    """A paper run shared by the module's tests, on an engine of its own."""
    ws.reset()
    try:
        return paper_run(variant)
    finally:
        ws.reset()


@pytest.fixture(scope="module")
def managed() -> PaperRun:
    return fresh_paper_run("managed")


@pytest.fixture(scope="module")
def managed_limit() -> PaperRun:
    return fresh_paper_run("managed-limit")


def test_the_managed_strategy_runs_every_kind_of_command_live(managed: PaperRun, managed_limit: PaperRun) -> None:
    assert managed.harness.summary().commits == {
        "averageBuy": [6, 6],
        "partialLoss": [3, 3],
        "closePending": [4, 4],
        "partialProfitCost": [3, 3],
        "trailingTakeCost": [3, 3],
        "pause": [2, 2],
        "partialProfit": [5, 5],
        "trailingStop": [81, 8],
        "breakeven": [2, 2],
        "trailingTake": [2, 2],
        "trailingStopCost": [15, 3],
    }
    assert managed_limit.harness.summary().commits["activateScheduled"] == [6, 6]
    assert managed_limit.harness.summary().commits["cancelScheduled"] == [5, 5]
    assert Counter(result.close_reason for result in managed.results if result.action == "closed") == {
        "closed": 4,
        "stop_loss": 2,
        "take_profit": 2,
        "time_expired": 1,
    }


def test_the_pings_run_once_per_tick_with_an_open_position_or_a_waiting_order(
    managed: PaperRun, managed_limit: PaperRun
) -> None:
    for run in (managed, managed_limit):
        open_ticks = [tick for tick in run.ticks if tick.action == "active" and not tick.signal.is_scheduled]
        waiting_ticks = [tick for tick in run.ticks if tick.action == "active" and tick.signal.is_scheduled]
        callbacks = run.harness.summary().callbacks
        assert callbacks["onActivePing"] == len(open_ticks) > 0
        assert callbacks["onSchedulePing"] == len(waiting_ticks)
        assert all(tick.current_price == run.prices[tick.timestamp] for tick in [*open_ticks, *waiting_ticks])
    assert managed_limit.harness.summary().callbacks["onSchedulePing"] > 0


def test_partial_closes_and_entries_book_at_the_tick_price_and_change_the_position_at_once(managed: PaperRun) -> None:
    closed = [result for result in managed.results if result.action == "closed"]
    partials = [partial for result in closed for partial in result.signal.partials]
    entries = [entry for result in closed for entry in result.signal.entries[1:]]
    assert len(partials) == 11 and len(entries) == 6
    assert all(partial.current_price == managed.prices[partial.timestamp] for partial in partials)
    assert all(entry.price == managed.prices[entry.timestamp] for entry in entries)
    for name in ("partialProfit", "partialProfitCost", "partialLoss", "averageBuy"):
        for signal_id, entry in managed.logged(name):
            # The command's price is the ping's, and the position read back right after it shows the change.
            assert entry["price"] == managed.prices[entry["t"]]
            position = managed.ended(signal_id).signal
            if name == "averageBuy":
                assert [(item.price, item.timestamp) for item in position.entries[1:]] == [(entry["price"], entry["t"])]
                assert entry["invested"] == sum(item.cost for item in position.entries)
            else:
                booked = [item for item in position.partials if item.timestamp == entry["t"]]
                assert [item.current_price for item in booked] == [entry["price"]]
                assert entry.get("held", 0.0) < 100


def test_the_stop_and_take_profit_follow_every_trailing_move_and_the_breakeven(managed: PaperRun) -> None:
    moved = 0
    stop_commands = {"trailingStop", "trailingStopCost", "breakeven"}
    for signal_id, management in managed.management.items():
        levels = [entry for entry in management.commits if "sl" in entry]
        if not levels:
            continue
        position = managed.ended(signal_id).signal
        assert (position.price_stop_loss, position.price_take_profit) == (levels[-1]["sl"], levels[-1]["tp"])
        moved += position.price_stop_loss != position.original_price_stop_loss
        assert (position.price_stop_loss != position.original_price_stop_loss) == any(
            entry["fn"] in stop_commands for entry in management.commits
        )
    assert moved == 3


def test_a_close_asked_for_at_a_tick_happens_at_the_next_tick_at_its_price(managed: PaperRun) -> None:
    asked = {signal_id: entry["t"] for signal_id, entry in managed.logged("closePending")}
    closed_by_hand = [
        result for result in managed.results if result.action == "closed" and result.close_reason == "closed"
    ]
    for result in closed_by_hand:
        # Asked for by the strategy, or by its partial closes taking the whole position.
        asked_at = asked.get(result.signal.id, result.signal.partials[-1].timestamp if result.signal.partials else None)
        assert result.close_timestamp == asked_at + MINUTE_MS
        assert result.current_price == managed.prices[result.close_timestamp]
    assert len(closed_by_hand) == 4
    pending = [event for event in managed.commits if event.action == "close-pending"]
    assert [(event.signal.id, event.timestamp) for event in pending] == [
        (result.signal.id, result.close_timestamp) for result in closed_by_hand
    ]


def test_a_cancel_or_activation_asked_for_at_a_tick_happens_at_the_next_tick(managed_limit: PaperRun) -> None:
    run = managed_limit
    cancels = run.logged("cancelScheduled")
    for signal_id, entry in cancels:
        cancelled = run.ended(signal_id)
        assert (cancelled.action, cancelled.reason) == ("cancelled", "user")
        assert cancelled.close_timestamp == entry["t"] + MINUTE_MS
        assert cancelled.current_price == run.prices[cancelled.close_timestamp]
    activations = run.logged("activateScheduled")
    for signal_id, entry in activations:
        (opened,) = [result for result in run.results if result.action == "opened" and result.signal.id == signal_id]
        # It opens at the limit price, with its only entry booked when the order was placed (P12).
        assert opened.timestamp == opened.signal.pending_at == entry["t"] + MINUTE_MS
        assert opened.signal.price_open == opened.signal.original_price_open
        assert [(item.price, item.timestamp) for item in opened.signal.entries] == [
            (opened.signal.original_price_open, opened.signal.scheduled_at)
        ]
    assert (len(cancels), len(activations)) == (5, 6)


def test_a_paused_strategy_asks_for_no_signal_until_resumed_then_asks_at_the_next_tick(managed: PaperRun) -> None:
    flips = [(event.paused, event.timestamp) for event in managed.pauses]
    assert [paused for paused, _ in flips] == [True, False, True, False]
    for (_, paused_at), (_, resumed_at) in zip(flips[::2], flips[1::2], strict=True):
        assert [when for when in managed.get_signal_at if paused_at <= when <= resumed_at] == []
        # The throttle was reset: get_signal runs at the tick after the resume, whatever the 15-minute bucket.
        assert resumed_at + MINUTE_MS in managed.get_signal_at


# ---------------------------------------------------------------------------------------------------------------
# Persistence: a restart resumes the managed position exactly, from records old or new
# ---------------------------------------------------------------------------------------------------------------


class Interrupted(Exception):
    """The process 'died' between two ticks."""


class InterruptingClock(ws.ReplayClock):
    """A replay clock whose run dies (raises) instead of sleeping into the tick at ``stop_at``."""

    def __init__(self, start: datetime, stop_at: int | None) -> None:
        super().__init__(start)
        self.stop_at = stop_at

    async def sleep(self, seconds: float) -> None:
        if self.stop_at is not None and self.now_ms() + seconds * 1000 >= self.stop_at:
            raise Interrupted
        await super().sleep(seconds)


async def manage_by_hand(symbol: str, signal: Any, current_price: float, when: datetime, backtest: bool) -> None:
    """Take half at the first tick in profit, then trail the stop to 41 900, then ask for the close at 00:30."""
    if current_price > signal.original_price_open and signal.total_partials == 0:
        await ws.commit_partial_profit(symbol, 50)
    elif signal.total_partials == 1 and signal.price_stop_loss == signal.original_price_stop_loss:
        await ws.commit_trailing_stop_cost(symbol, 41900)
    elif to_ms(when) >= ts(30):
        await ws.commit_close_pending(symbol, id="by-hand")


def run_interrupted(
    stops: list[int | None], *, forget_management: bool = False, callbacks: dict[str, Any] | None = None
) -> list[Any]:
    """Run the ladder's long position managed by hand, 'dying' before each tick of ``stops``; return the results.

    ``forget_management`` rewrites the stored position at the first stop as a version before position management
    wrote it: no entries, partial closes or original levels.
    """
    results: list[Any] = []
    start = at(10)
    for number, stop_at in enumerate(stops):
        clock = InterruptingClock(start, stop_at)
        if number == 0:
            chosen = {"on_active_ping": manage_by_hand} if callbacks is None else callbacks
            register_live(L, steps={20: 42210, 30: 42300, 60: 42500}, callbacks=chosen)
        else:
            ws.Live.clear()
        ws.list_exchanges()[0].get_candles.clock = clock

        async def consume(clock: InterruptingClock = clock) -> None:
            live = ws.Live.run(SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, clock=clock, until=at(179))
            async for result in live:
                results.append(result)

        try:
            asyncio.run(consume())
        except Interrupted:
            assert stop_at is not None
            start = datetime.fromtimestamp(stop_at / 1000, tz=UTC)
        if number == 0 and forget_management:
            adapter = ws.persist.adapter("signal")
            stored = asyncio.run(adapter.read_value(KEY))
            old = {name: value for name, value in stored.items() if name not in MANAGEMENT_FIELDS}
            asyncio.run(adapter.write_value(KEY, old))
    return results


KEY = f"{SYMBOL}:{STRATEGY}"
MANAGEMENT_FIELDS = (
    "original_price_open",
    "original_price_take_profit",
    "original_price_stop_loss",
    "entries",
    "partials",
    "partial_executed",
)


def test_a_restart_resumes_the_partial_close_the_trailing_stop_and_the_requested_close() -> None:
    (_, reference) = run_interrupted([None])
    assert reference.close_reason == "closed"
    assert reference.close_timestamp == ts(31)
    assert [(item.percent, item.current_price, item.timestamp) for item in reference.signal.partials] == [
        (50.0, 42042.0, ts(21))
    ]
    assert reference.signal.price_stop_loss == 41900.0
    ws.reset()
    ws.persist.use_memory()
    # Dying after the partial close, after the trailing stop, and after the close was asked for.
    results = run_interrupted([ts(22), ts(23), ts(31), None])
    assert [result.action for result in results] == ["opened", "closed"]
    assert results[-1] == reference


def test_a_position_stored_before_position_management_resumes_and_takes_commands() -> None:
    results = run_interrupted([ts(16), None], forget_management=True)
    closed = results[-1]
    assert (closed.action, closed.close_reason, closed.close_timestamp) == ("closed", "closed", ts(31))
    assert closed.signal.original_price_open == 42000.0
    assert [(item.price, item.timestamp) for item in closed.signal.entries] == [(42000.0, ts(10))]
    assert [(item.percent, item.current_price) for item in closed.signal.partials] == [(50.0, 42042.0)]
    assert closed.signal.price_stop_loss == 41900.0


@pytest.mark.parametrize(("evaluated", "paused"), [(ts(19), True), (ts(20), False)])
def test_a_pause_flip_at_a_tick_the_store_does_not_hold_as_evaluated_is_undone(evaluated: int, paused: bool) -> None:
    # A resume saved at 00:20 by a run that died before 00:20 was saved as evaluated: 00:20 runs again, paused.
    records = LiveRecords(SYMBOL, STRATEGY)

    async def restored() -> bool:
        progress = LiveProgress(last_tick=evaluated, last_bucket=None, last_signal_id=None, exchange_name=EXCHANGE)
        await records.write_progress(progress)
        await records.write_pause(LivePause(paused=False, at=ts(20)))
        return (await records.restore(EXCHANGE)).paused

    assert asyncio.run(restored()) is paused


def test_a_position_nobody_manages_resumes_as_opened_after_its_breakeven_became_available() -> None:
    # At 00:31 the price is past the breakeven threshold: that is stored, but the row stays the one opened (its entry
    # as set, not the effective one an ulp below), so the PnL at the close is the uninterrupted run's to the bit.
    (_, reference) = run_interrupted([None], callbacks={})
    assert (reference.close_reason, reference.close_timestamp) == ("take_profit", ts(63))
    ws.reset()
    ws.persist.use_memory()
    results = run_interrupted([ts(40), None], callbacks={})
    assert results[-1] == reference
    assert results[-1].signal.price_open == 42000.0


def test_the_peak_and_the_fall_are_stored_with_the_position_and_survive_a_restart() -> None:
    """SPEC-statistics §4 live: the VWAP reaches 42,300 at 00:35, a net gain of 0.31254531183105394 %: the peak moves
    there and is written with the tick. A run that dies at 00:40 resumes with it and ends as the uninterrupted one:
    the take profit at 00:63 is the last peak, the entry (the cost of entering and leaving) stays the fall."""
    (_, reference) = run_interrupted([None], callbacks={})
    entry_fall = ws.Excursion(price=42000.0, timestamp=ts(10), pnl_percentage=-0.3996003996003651)
    assert reference.signal.peak_profit == ws.Excursion(
        price=42420.0, timestamp=ts(63), pnl_percentage=reference.pnl.pnl_percentage
    )
    assert reference.signal.max_drawdown == entry_fall
    ws.reset()
    ws.persist.use_memory()
    run_interrupted([ts(40)], callbacks={})
    stored = asyncio.run(ws.persist.adapter("signal").read_value(KEY))
    assert stored["peak_profit"] == {"price": 42300.0, "timestamp": ts(35), "pnl_percentage": 0.31254531183105394}
    assert stored["max_drawdown"] == entry_fall.model_dump()
    assert stored["price_open"] == 42000.0
    ws.reset()
    ws.persist.use_memory()
    results = run_interrupted([ts(40), None], callbacks={})
    assert results[-1] == reference

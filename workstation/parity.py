"""Trade-by-trade parity with the backtest-kit peer (SPEC §20).

``python -m workstation.parity run --csv FILE --strategy market|limit|managed|managed-limit --out ours.jsonl
[--warmup-min 60] [--tail-min 360]`` runs the SMA-cross strategy on a candle CSV the way the peer's ``run_peer.mjs``
does and writes one JSON line per closed or cancelled signal in the peer's format. The managed variants manage each
position from the strategy callbacks (SPEC-position; `ManagedHarness`) and add the fields of SPEC-position P19.
``python -m workstation.parity compare ours.jsonl
expected.jsonl[.gz]`` compares two such files field by field with ``==`` (exit 0 when identical, 1 otherwise).

The same work is available to tests and benchmarks as `run_parity`, `compare_rows` and `read_rows`.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import inspect
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from importlib.metadata import version
from operator import add
from pathlib import Path
from typing import Any, TextIO

import workstation as ws
from workstation.cli_args import ArgumentParser, UsageError
from workstation.examples.sma_cross import make_strategy
from workstation.exchanges.csv import CsvCandles, make_csv_exchange
from workstation.json_object import json_object
from workstation.models.results import CancelledResult, ClosedResult
from workstation.models.signal import SignalRow
from workstation.schemas.strategy import StrategyCallbacks
from workstation.timeutil import MINUTE_MS, from_ms, iso, to_ms

SYMBOL = "BTCUSDT"
EXCHANGE_NAME = "csv-exchange"
FRAME_NAME = "parity"
PROG = "python -m workstation.parity"

#: The fields only the managed variants write (SPEC-position P19), on closed rows; cancelled ones have the last two.
MANAGED_FIELDS: tuple[str, ...] = (
    "originalPriceTakeProfit",
    "originalPriceStopLoss",
    "partialExecuted",
    "totalEntries",
    "totalPartials",
    "entries",
    "partials",
    "commits",
    "calls",
)

#: The peer's fields that `compare_rows` checks, in the order of SPEC §20.4 (the ``*Iso`` fields are for reading), then
#: the managed ones; plain rows have none of those on either side.
COMPARED_FIELDS: tuple[str, ...] = (
    "action",
    "id",
    "position",
    "minuteEstimatedTime",
    "scheduledAt",
    "originalPriceOpen",
    "priceOpen",
    "priceTakeProfit",
    "priceStopLoss",
    "pendingAt",
    "closeTimestamp",
    "currentPrice",
    "closeReason",
    "pnlPercentage",
    "pnlCost",
    "pnlEntries",
    "pnlPriceOpen",
    "pnlPriceClose",
    *MANAGED_FIELDS,
)

#: The managed variants and the plain variant whose entries each manages.
MANAGED_ENTRIES = {"managed": "market", "managed-limit": "limit"}

#: How many differing rows ``compare`` prints.
SHOWN_DIFFERENCES = 10


class CountingGetSignal:
    """A ``get_signal`` that counts its calls and delegates to another one.

    A module-level class rather than a closure, so the strategy schema still pickles by reference.

    Parameters
    ----------
    get_signal
        The wrapped ``get_signal`` (sync or async).
    """

    def __init__(self, get_signal: Callable[..., Any]) -> None:
        self.get_signal = get_signal
        self.calls = 0

    async def __call__(self, symbol: str, when: datetime) -> Any:
        """Count the call and return what the wrapped ``get_signal`` returns."""
        self.calls += 1
        result = self.get_signal(symbol, when)
        if inspect.isawaitable(result):
            result = await result
        return result


@dataclass(frozen=True)
class ManagedRules:
    """The thresholds of the peer's managed strategies (its ``MP``; README "Managed strategies"), literal doubles.

    Long positions use the percent commands, short ones the ``_cost`` variants.
    """

    pp1_level: float = 30.0
    pp1_percent: float = 40.0
    pp1_dollars: float = 40.0
    pp2_level: float = 60.0
    pp2_percent: float = 30.0
    pp2_dollars: float = 60.0
    dca_level: float = 40.0
    dca_cost_long: float = 100.0
    dca_cost_short: float = 50.0
    pl_level: float = 70.0
    pl_percent: float = 50.0
    pl_dollars: float = 60.0
    trail_move: float = 0.4
    trail_step: float = 0.1
    trail_shift_per_step: float = -0.15
    trail_cost_mult: float = 1.005
    be_move: float = 0.6
    tt_age: float = 90.0
    tt_max_move: float = 0.5
    tt_shift: float = -0.3
    tt_cost_mult: float = 0.994
    flat_age: float = 150.0
    flat_band: float = 0.1
    cancel_age: float = 90.0
    activate_age: float = 15.0
    activate_band: float = 0.15
    pause_below_pnl: float = -1.0
    pause_minutes: int = 30


@dataclass
class SignalManagement:
    """What the managed harness keeps for one signal: the rule flags, its ``commits`` log and ``calls`` counts."""

    pp1: bool = False
    pp2: bool = False
    dca: bool = False
    pl: bool = False
    be: bool = False
    tt: bool = False
    close_requested: bool = False
    cancel_requested: bool = False
    activate_requested: bool = False
    calls: dict[str, list[int]] = field(default_factory=dict)
    """Per command name ``[calls, successes]``."""
    commits: list[dict[str, Any]] = field(default_factory=list)
    """The successful commands in order, position commands with the position read back through the getters."""


@dataclass(frozen=True)
class ManagedSummary:
    """The peer's ``SUMMARY.managed`` figures of a run: per command, callback invocations and un-pauses."""

    commits: dict[str, list[int]]
    """Per command name ``[calls, successes]``."""
    callbacks: dict[str, int]
    resumes: int


async def _position_snapshot(symbol: str) -> dict[str, Any]:
    """Return the position right after a successful command, read back through the getters (P19 ``commits``)."""
    signal = await ws.get_pending_signal(symbol)
    if signal is None:
        return {"open": False}  # fully closed by partials: the close follows at the next candle
    return {
        "sl": signal.price_stop_loss,
        "tp": signal.price_take_profit,
        "eff": await ws.get_position_effective_price(symbol),
        "held": await ws.get_total_percent_held(symbol),
        "remaining": await ws.get_remaining_cost_basis(symbol),
        "invested": await ws.get_position_invested_cost(symbol),
        "pnl": await ws.get_position_pnl_percent(symbol),
    }


class ManagedHarness:
    """The peer's ``managed`` / ``managed-limit`` strategy, exactly as ``run_peer.mjs`` runs it, with its logs.

    The SMA-cross entries of ``market`` / ``limit``, each position managed from the strategy callbacks by the rules of
    the peer's README ("Managed strategies").

    Parameters
    ----------
    variant
        ``"managed"`` or ``"managed-limit"``: the signal ids' prefix.
    get_signal
        The SMA-cross ``get_signal`` of the matching plain variant.
    """

    def __init__(self, variant: str, get_signal: Callable[[str, datetime], Awaitable[ws.Signal | None]]) -> None:
        self.variant = variant
        self.rules = ManagedRules()
        self._entry_signal = get_signal
        self.signals: dict[str, SignalManagement] = {}
        self.commits: dict[str, list[int]] = {}
        self.callbacks = dict.fromkeys(
            (
                "onActivePing",
                "onSchedulePing",
                "onPartialProfit",
                "onPartialLoss",
                "onBreakeven",
                "onClose",
                "onIdle",
            ),
            0,
        )
        self.resumes = 0
        self.paused_at: int | None = None
        self._moment: tuple[datetime, int] | None = None

    def strategy_callbacks(self) -> StrategyCallbacks:
        """Return the callbacks to register with the strategy."""
        return StrategyCallbacks(
            on_active_ping=self.on_active_ping,
            on_schedule_ping=self.on_schedule_ping,
            on_partial_profit=self.on_partial_profit,
            on_partial_loss=self.on_partial_loss,
            on_breakeven=self.on_breakeven,
            on_close=self.on_close,
            on_idle=self.on_idle,
        )

    def summary(self) -> ManagedSummary:
        """Return the run's command, callback and un-pause counts."""
        return ManagedSummary(commits=self.commits, callbacks=self.callbacks, resumes=self.resumes)

    def management(self, signal_id: str) -> SignalManagement:
        """Return the record of a signal, created on first use."""
        # Not setdefault: that would build a record on each of the ~50 000 callbacks of a 30-day run.
        management = self.signals.get(signal_id)
        if management is None:
            management = self.signals[signal_id] = SignalManagement()
        return management

    def _ms(self, when: datetime) -> int:
        """Return ``when`` in epoch ms; the callbacks of one candle get the same datetime, converted once."""
        moment = self._moment
        if moment is None or moment[0] is not when:
            moment = self._moment = (when, to_ms(when))
        return moment[1]

    async def get_signal(self, symbol: str, when: datetime) -> ws.Signal | None:
        """Return the SMA-cross signal under this variant's id, ``<variant>-<ms>``."""
        signal = await self._entry_signal(symbol, when)
        return None if signal is None else signal.model_copy(update={"id": f"{self.variant}-{to_ms(when)}"})

    async def _track(
        self,
        management: SignalManagement,
        symbol: str,
        name: str,
        when: int,
        price: float,
        arg: float | None,
        command: Awaitable[bool | None],
        *,
        snapshot: bool,
    ) -> bool:
        """Run one command, count it, log it when it succeeded (or returns nothing) and tell whether it did."""
        ok = await command is not False
        for counts in (management.calls.setdefault(name, [0, 0]), self.commits.setdefault(name, [0, 0])):
            counts[0] += 1
            counts[1] += ok
        if ok:
            entry: dict[str, Any] = {"t": when, "fn": name}
            if arg is not None:
                entry["arg"] = arg
            entry["price"] = price
            if snapshot:
                entry.update(await _position_snapshot(symbol))
            management.commits.append(entry)
        return ok

    async def on_active_ping(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """A1 close when old and flat, A2 breakeven, A3 trailing stop, A4 trailing take (README)."""
        self.callbacks["onActivePing"] += 1
        management = self.management(signal.id)
        if management.close_requested:
            return
        rules, price, t = self.rules, current_price, self._ms(when)
        assert signal.pending_at is not None
        age = (t - signal.pending_at) / MINUTE_MS
        long = signal.position == "long"
        eff = signal.price_open
        move = (price - eff) / eff * 100 if long else (eff - price) / eff * 100
        if age >= rules.flat_age and abs(move) < rules.flat_band:
            management.close_requested = True
            close = ws.commit_close_pending(symbol, id=f"close-{signal.id}", note="flat")
            await self._track(management, symbol, "closePending", t, price, None, close, snapshot=False)
            return
        if not management.be and move >= rules.be_move:
            breakeven = ws.commit_breakeven(symbol)
            management.be = await self._track(management, symbol, "breakeven", t, price, None, breakeven, snapshot=True)
        if move >= rules.trail_move:
            if long:
                shift = rules.trail_shift_per_step * math.floor(move / rules.trail_step)
                trail = ws.commit_trailing_stop(symbol, shift, price)
                await self._track(management, symbol, "trailingStop", t, price, shift, trail, snapshot=True)
            else:
                new_stop_loss = price * rules.trail_cost_mult
                trail = ws.commit_trailing_stop_cost(symbol, new_stop_loss)
                await self._track(management, symbol, "trailingStopCost", t, price, new_stop_loss, trail, snapshot=True)
        if not management.tt and age >= rules.tt_age and move > 0 and move < rules.tt_max_move:
            if long:
                take = ws.commit_trailing_take(symbol, rules.tt_shift, price)
                management.tt = await self._track(
                    management, symbol, "trailingTake", t, price, rules.tt_shift, take, snapshot=True
                )
            else:
                new_take_profit = eff * rules.tt_cost_mult
                take = ws.commit_trailing_take_cost(symbol, new_take_profit)
                management.tt = await self._track(
                    management, symbol, "trailingTakeCost", t, price, new_take_profit, take, snapshot=True
                )

    async def on_breakeven(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Try the breakeven once more when the engine says it became available."""
        self.callbacks["onBreakeven"] += 1
        management = self.management(signal.id)
        if management.close_requested or management.be:
            return
        breakeven = ws.commit_breakeven(symbol)
        management.be = await self._track(
            management, symbol, "breakeven", self._ms(when), current_price, None, breakeven, snapshot=True
        )

    async def on_partial_profit(
        self, symbol: str, signal: SignalRow, percent: float, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Take 40 % at 30 % of the way to the take profit, then 30 % more at 60 % (shorts: $40, then $60)."""
        self.callbacks["onPartialProfit"] += 1
        management = self.management(signal.id)
        if management.close_requested:
            return
        rules, t, long = self.rules, self._ms(when), signal.position == "long"
        if not management.pp1:
            if percent >= rules.pp1_level:
                management.pp1 = await self._partial_profit(
                    management, symbol, long, t, current_price, rules.pp1_percent, rules.pp1_dollars
                )
        elif not management.pp2 and percent >= rules.pp2_level:
            management.pp2 = await self._partial_profit(
                management, symbol, long, t, current_price, rules.pp2_percent, rules.pp2_dollars
            )

    async def _partial_profit(
        self,
        management: SignalManagement,
        symbol: str,
        long: bool,
        when: int,
        price: float,
        percent: float,
        dollars: float,
    ) -> bool:
        if long:
            close = ws.commit_partial_profit(symbol, percent)
            return await self._track(management, symbol, "partialProfit", when, price, percent, close, snapshot=True)
        close = ws.commit_partial_profit_cost(symbol, dollars)
        return await self._track(management, symbol, "partialProfitCost", when, price, dollars, close, snapshot=True)

    async def on_partial_loss(
        self, symbol: str, signal: SignalRow, percent: float, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Average in once at 40 % of the way to the stop loss, close half (shorts: $60) at 70 %."""
        self.callbacks["onPartialLoss"] += 1
        management = self.management(signal.id)
        if management.close_requested:
            return
        rules, t, price, long = self.rules, self._ms(when), current_price, signal.position == "long"
        if not management.dca and percent >= rules.dca_level:
            cost = rules.dca_cost_long if long else rules.dca_cost_short
            buy = ws.commit_average_buy(symbol, cost)
            management.dca = await self._track(management, symbol, "averageBuy", t, price, cost, buy, snapshot=True)
        if not management.pl and percent >= rules.pl_level:
            if long:
                close = ws.commit_partial_loss(symbol, rules.pl_percent)
                management.pl = await self._track(
                    management, symbol, "partialLoss", t, price, rules.pl_percent, close, snapshot=True
                )
            else:
                close = ws.commit_partial_loss_cost(symbol, rules.pl_dollars)
                management.pl = await self._track(
                    management, symbol, "partialLossCost", t, price, rules.pl_dollars, close, snapshot=True
                )

    async def on_schedule_ping(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Cancel a limit order waiting 90 minutes; fill it after 15 when the price is within 0.15 % of it."""
        self.callbacks["onSchedulePing"] += 1
        management = self.management(signal.id)
        if management.cancel_requested or management.activate_requested:
            return
        rules, t, price = self.rules, self._ms(when), current_price
        age = (t - signal.scheduled_at) / MINUTE_MS
        if age >= rules.cancel_age:
            management.cancel_requested = True
            cancel = ws.commit_cancel_scheduled(symbol, id=f"cancel-{signal.id}", note="stale")
            await self._track(management, symbol, "cancelScheduled", t, price, None, cancel, snapshot=False)
            return
        if age >= rules.activate_age and abs(price - signal.price_open) / signal.price_open * 100 < rules.activate_band:
            management.activate_requested = True
            activate = ws.commit_activate_scheduled(symbol, id=f"activate-{signal.id}", note="near")
            await self._track(management, symbol, "activateScheduled", t, price, None, activate, snapshot=False)

    async def on_close(
        self, symbol: str, signal: SignalRow, price_close: float, when: datetime, backtest: bool
    ) -> None:
        """Pause the strategy after a loss worse than 1 %."""
        self.callbacks["onClose"] += 1
        if signal.pnl is None:
            raise ValueError(f"on_close of {signal.id}: the signal carries no PnL")
        if signal.pnl.pnl_percentage < self.rules.pause_below_pnl:
            t = to_ms(when)
            pause = ws.set_strategy_paused(symbol, True)
            await self._track(self.management(signal.id), symbol, "pause", t, price_close, None, pause, snapshot=False)
            self.paused_at = t

    async def on_idle(self, symbol: str, current_price: float, when: datetime, backtest: bool) -> None:
        """Resume 30 minutes after the pause."""
        self.callbacks["onIdle"] += 1
        if self.paused_at is not None and self._ms(when) - self.paused_at >= self.rules.pause_minutes * MINUTE_MS:
            self.paused_at = None
            if await ws.get_strategy_paused(symbol):
                await ws.set_strategy_paused(symbol, False)
                self.resumes += 1


@dataclass(frozen=True)
class ParityRun:
    """The outcome of `run_parity`: the rows in the peer's format and the figures of the peer's summary."""

    rows: list[dict[str, Any]]
    get_signal_calls: int
    scheduled: int
    opened: int
    ticks: int
    candles: int
    """Candles the run spans (warm-up + frame + tail), as the peer counts them for candles/s."""
    elapsed_seconds: float
    """Wall time of ``Backtest.run`` alone."""
    load_seconds: float
    """Time spent reading the CSV before the run."""
    managed: ManagedSummary | None = None
    """The managed variants' command, callback and un-pause counts."""

    @property
    def closed(self) -> int:
        """Number of closed signals."""
        return sum(1 for row in self.rows if row["action"] == "closed")

    @property
    def cancelled(self) -> int:
        """Number of cancelled limit orders."""
        return sum(1 for row in self.rows if row["action"] == "cancelled")

    @property
    def close_reasons(self) -> dict[str, int]:
        """Counts per close reason, cancel reasons as ``cancelled:<reason>`` (the peer's summary keys)."""
        reasons = Counter(
            row["closeReason"] if row["action"] == "closed" else f"cancelled:{row['closeReason']}" for row in self.rows
        )
        return dict(sorted(reasons.items()))

    @property
    def total_pnl_percent(self) -> float:
        """Sum of ``pnlPercentage`` over closed signals, left to right like the peer (no compensated sum)."""
        return reduce(add, (row["pnlPercentage"] for row in self.rows if row["action"] == "closed"), 0.0)

    @property
    def candles_per_second(self) -> float:
        """Candles spanned per second of ``Backtest.run``."""
        return self.candles / self.elapsed_seconds

    @property
    def ticks_per_second(self) -> float:
        """Frame minutes per second of ``Backtest.run``."""
        return self.ticks / self.elapsed_seconds


def result_row(result: ClosedResult | CancelledResult, management: SignalManagement | None = None) -> dict[str, Any]:
    """Return a closed or cancelled result as the peer's JSON object (SPEC §20.4 field mapping).

    Parameters
    ----------
    result
        A ``closed`` or ``cancelled`` result of ``Backtest.run``.
    management
        The managed harness's record of the signal; with it the row has the managed fields of SPEC-position P19.

    Returns
    -------
    dict
        The peer's keys in the peer's order; cancelled rows have ``pendingAt`` 0 and no ``pnlCost`` ... fields.
    """
    signal = result.signal
    if isinstance(result, ClosedResult):
        price_open, pending_at = result.pnl.price_open, signal.pending_at or 0
        open_iso: str | None = iso(pending_at)
    else:
        price_open, pending_at, open_iso = signal.price_open, 0, None
    row: dict[str, Any] = {
        "action": result.action,
        "id": signal.id,
        "position": signal.position,
        "priceOpen": price_open,
        "originalPriceOpen": signal.original_price_open,
        "priceTakeProfit": signal.price_take_profit,
        "priceStopLoss": signal.price_stop_loss,
        "minuteEstimatedTime": signal.minute_estimated_time,
        "scheduledAt": signal.scheduled_at,
        "pendingAt": pending_at,
        "closeTimestamp": result.close_timestamp,
        "scheduledAtIso": iso(signal.scheduled_at),
        "closeIso": iso(result.close_timestamp),
        "currentPrice": result.current_price,
        "openIso": open_iso,
    }
    if isinstance(result, ClosedResult):
        pnl = result.pnl
        row.update(
            closeReason=result.close_reason,
            pnlPercentage=pnl.pnl_percentage,
            pnlCost=pnl.pnl_cost,
            pnlEntries=pnl.pnl_entries,
            pnlPriceOpen=pnl.price_open,
            pnlPriceClose=pnl.price_close,
        )
    else:
        row.update(closeReason=result.reason, pnlPercentage=None)
    if management is None:
        return row
    if isinstance(result, ClosedResult):
        row.update(
            originalPriceTakeProfit=signal.original_price_take_profit,
            originalPriceStopLoss=signal.original_price_stop_loss,
            partialExecuted=signal.partial_executed,
            totalEntries=signal.total_entries,
            totalPartials=signal.total_partials,
            entries=[
                {"price": entry.price, "cost": entry.cost, "timestamp": entry.timestamp} for entry in signal.entries
            ],
            partials=[
                {
                    "type": partial.type,
                    "percent": partial.percent,
                    "currentPrice": partial.current_price,
                    "costBasisAtClose": partial.cost_basis_at_close,
                    "entryCountAtClose": partial.entry_count_at_close,
                    "timestamp": partial.timestamp,
                }
                for partial in signal.partials
            ],
        )
    row.update(commits=management.commits, calls=management.calls)
    return row


async def run_parity(
    csv_path: str | Path, variant: str, *, warmup_min: int = 60, tail_min: int = 360, symbol: str = SYMBOL
) -> ParityRun:
    """Run the peer's parity case on a candle CSV (SPEC §20.2) and collect its closed and cancelled signals.

    The engine is reset first: the case needs the default config and registers ``csv-exchange``, the frame and
    ``sma-cross-<variant>`` itself.

    Parameters
    ----------
    csv_path
        Candle CSV in the peer's format.
    variant
        ``"market"``, ``"limit"``, ``"managed"`` or ``"managed-limit"``.
    warmup_min, tail_min
        The frame runs from the first candle + ``warmup_min`` to the last candle − ``tail_min`` minutes, inclusive.
    symbol
        The symbol to trade (the CSV serves every symbol).

    Returns
    -------
    ParityRun
        Rows in the peer's format, the ``get_signal`` call count, the timings and the managed variants' counts.

    Raises
    ------
    ValueError
        If the CSV is unreadable or too short for the warm-up and tail.
    """
    ws.reset()
    exchange = ws.add_exchange(make_csv_exchange(EXCHANGE_NAME, csv_path))
    assert isinstance(exchange.get_candles, CsvCandles)
    # Read the file before the clock starts, as the peer loads its CSV outside the timed Backtest.run.
    load_started = time.perf_counter()
    candles = await exchange.get_candles.load()
    load_seconds = time.perf_counter() - load_started
    frame_start = int(candles["timestamp"][0]) + warmup_min * MINUTE_MS
    frame_end = int(candles["timestamp"][-1]) - tail_min * MINUTE_MS
    if frame_end < frame_start:
        raise ValueError(f"{csv_path}: {len(candles)} candles leave no frame after {warmup_min} + {tail_min} minutes")
    harness: ManagedHarness | None = None
    if variant in MANAGED_ENTRIES:
        schema = make_strategy({"variant": MANAGED_ENTRIES[variant]})
        harness = ManagedHarness(variant, schema.get_signal)
        counter = CountingGetSignal(harness.get_signal)
        schema = schema.model_copy(
            update={"strategy_name": f"sma-cross-{variant}", "callbacks": harness.strategy_callbacks()}
        )
    else:
        schema = make_strategy({"variant": variant})
        counter = CountingGetSignal(schema.get_signal)
    strategy = ws.add_strategy(schema.model_copy(update={"get_signal": counter}))
    ws.add_frame(
        ws.FrameSchema(
            frame_name=FRAME_NAME, interval="1m", start_date=from_ms(frame_start), end_date=from_ms(frame_end)
        )
    )

    rows: list[dict[str, Any]] = []
    scheduled = opened = 0
    started = time.perf_counter()
    async for result in ws.Backtest.run(
        symbol, strategy_name=strategy.strategy_name, exchange_name=EXCHANGE_NAME, frame_name=FRAME_NAME
    ):
        if isinstance(result, ClosedResult | CancelledResult):
            management = None if harness is None else harness.signals.pop(result.signal.id, SignalManagement())
            rows.append(result_row(result, management))
        elif result.action == "scheduled":
            scheduled += 1
        elif result.action == "opened":
            opened += 1
    elapsed = time.perf_counter() - started
    ticks = (frame_end - frame_start) // MINUTE_MS + 1
    return ParityRun(
        rows=rows,
        get_signal_calls=counter.calls,
        scheduled=scheduled,
        opened=opened,
        ticks=ticks,
        candles=ticks + warmup_min + tail_min,
        elapsed_seconds=elapsed,
        load_seconds=load_seconds,
        managed=None if harness is None else harness.summary(),
    )


def _js_float(value: float) -> str:
    # ECMAScript's Number::toString: the same shortest round-trip digits as repr, but fixed notation from 1e-6 up to
    # 1e21 and no ".0" on integers (100, 0.00006310621047830867, 1e-7, 1e+21), as the peer's JSON.stringify prints.
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    all_digits = whole + fraction
    significant = all_digits.lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(all_digits) - len(significant))
    digits = significant.rstrip("0")
    count = len(digits)
    if count <= point <= 21:
        text = digits + "0" * (point - count)
    elif 0 < point <= 21:
        text = f"{digits[:point]}.{digits[point:]}"
    elif -6 < point <= 0:
        text = "0." + "0" * -point + digits
    else:
        mantissa_text = digits[0] + (f".{digits[1:]}" if count > 1 else "")
        text = f"{mantissa_text}e{point - 1:+d}"
    return "-" + text if value < 0 else text


def _js_json(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(f"{_js_json(key)}:{_js_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_js_json(item) for item in value) + "]"
    if isinstance(value, float):
        return _js_float(value)
    return json.dumps(value, ensure_ascii=False)


def format_row(row: dict[str, Any]) -> str:
    """Return ``row`` as one compact JSON line, printed as JavaScript's ``JSON.stringify`` would print it.

    Parameters
    ----------
    row
        A row from `result_row`.

    Returns
    -------
    str
        The JSON text, without the newline.
    """
    return _js_json(row)


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file of rows (gzip-compressed when the name ends in ``.gz``).

    Parameters
    ----------
    path
        One JSON object per line; blank lines are skipped.

    Returns
    -------
    list of dict
        The rows in file order.

    Raises
    ------
    OSError
        If the file cannot be read.
    ValueError
        If a line is not a JSON object; the message names the file and line.
    """
    file_path = Path(path)
    data = file_path.read_bytes()
    if file_path.suffix == ".gz":
        data = gzip.decompress(data)
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json_object(line))
        except ValueError as error:
            raise ValueError(f"{file_path}: line {number} {error}") from None
    return rows


def _differences(path: str, ours: Any, expected: Any) -> list[str]:
    # Lists and objects are walked, so a managed row names e.g. ``commits[3].sl`` instead of printing both logs.
    if isinstance(ours, list) and isinstance(expected, list):
        found = [
            line
            for index, (our_item, expected_item) in enumerate(zip(ours, expected, strict=False))
            for line in _differences(f"{path}[{index}]", our_item, expected_item)
        ]
        if len(ours) != len(expected):
            found.append(f"{path} length ours={len(ours)} expected={len(expected)}")
        return found
    if isinstance(ours, dict) and isinstance(expected, dict):
        keys = [*expected, *(key for key in ours if key not in expected)]
        return [line for key in keys for line in _differences(f"{path}.{key}", ours.get(key), expected.get(key))]
    return [] if ours == expected else [f"{path} ours={ours!r} expected={expected!r}"]


def compare_rows(ours: Sequence[dict[str, Any]], expected: Sequence[dict[str, Any]]) -> list[str]:
    """Compare rows field by field with ``==`` over `COMPARED_FIELDS` (a missing field counts as ``null``).

    Parameters
    ----------
    ours, expected
        Rows in the peer's format, in result order.

    Returns
    -------
    list of str
        Empty when identical. Otherwise a line about a differing row count (if any) first, then one line per
        differing row of the common prefix, naming the row, its id and every differing field with both values;
        inside the managed rows' lists a field is named by its path (``partials[0].currentPrice``).
    """
    differences: list[str] = []
    if len(ours) != len(expected):
        differences.append(f"row count differs: ours {len(ours)}, expected {len(expected)}")
    for number, (our_row, expected_row) in enumerate(zip(ours, expected, strict=False), start=1):
        fields = [
            line for name in COMPARED_FIELDS for line in _differences(name, our_row.get(name), expected_row.get(name))
        ]
        if fields:
            differences.append(f"row {number} (id {expected_row.get('id')}): " + "; ".join(fields))
    return differences


def _print_summary(run: ParityRun, csv_path: Path, variant: str, out: TextIO) -> None:
    print(
        f"candles={run.candles} ticks={run.ticks} getSignal calls={run.get_signal_calls} scheduled={run.scheduled} "
        f"opened={run.opened} closed={run.closed} cancelled={run.cancelled}",
        file=out,
    )
    print(f"close reasons: {json.dumps(run.close_reasons, separators=(',', ':'))}", file=out)
    print(f"total pnl % (sum of pnlPercentage over closed) = {run.total_pnl_percent:.6f}", file=out)
    if run.managed is not None:
        print(f"commits [calls, ok]: {_js_json(run.managed.commits)}", file=out)
        print(f"callbacks: {_js_json(run.managed.callbacks)} resumes={run.managed.resumes}", file=out)
    print(
        f"wall={run.elapsed_seconds:.3f}s load={run.load_seconds:.3f}s candles/sec={run.candles_per_second:.1f} "
        f"ticks/sec={run.ticks_per_second:.1f} | workstation {version('workstation')} sma-cross-{variant} {csv_path}",
        file=out,
    )


def _run_command(args: argparse.Namespace) -> int:
    if not args.csv.is_file():
        raise UsageError(f"{PROG} run: error: --csv: {str(args.csv)!r} is not a file")
    for flag, minutes in (("--warmup-min", args.warmup_min), ("--tail-min", args.tail_min)):
        if minutes < 0:
            raise UsageError(f"{PROG} run: error: {flag}: {minutes} is negative")
    try:
        out = args.out.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{PROG} run: error: --out: cannot write {str(args.out)!r}: {exc.strerror}") from None
    with out:
        try:
            run = asyncio.run(run_parity(args.csv, args.strategy, warmup_min=args.warmup_min, tail_min=args.tail_min))
        except Exception as exc:
            print(f"{PROG} run: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        for row in run.rows:
            out.write(format_row(row) + "\n")
    _print_summary(run, args.csv, args.strategy, sys.stdout)
    return 0


def _compare_command(args: argparse.Namespace) -> int:
    try:
        ours, expected = read_rows(args.ours), read_rows(args.expected)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{PROG} compare: error: {exc}") from None
    differences = compare_rows(ours, expected)
    compared = min(len(ours), len(expected))
    if not differences:
        print(f"compared {compared} rows: ALL IDENTICAL (bit-exact)")
        return 0
    for line in differences[:SHOWN_DIFFERENCES]:
        print(line)
    if len(differences) > SHOWN_DIFFERENCES:
        print(f"... and {len(differences) - SHOWN_DIFFERENCES} more")
    print(f"compared {compared} rows: DIFFERENT")
    return 1


def build_parser() -> ArgumentParser:
    """Return the parser of ``python -m workstation.parity`` with its ``run`` and ``compare`` commands."""
    parser = ArgumentParser(prog=PROG, description="Trade-by-trade parity with the backtest-kit peer (SPEC §20).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the SMA-cross case on a CSV and write the peer's JSONL")
    run.add_argument("--csv", type=Path, required=True, metavar="FILE", help="candle CSV in the peer's format")
    run.add_argument(
        "--strategy", required=True, choices=("market", "limit", *MANAGED_ENTRIES), help="SMA-cross variant"
    )
    run.add_argument("--out", type=Path, required=True, metavar="FILE", help="JSONL to write")
    run.add_argument("--warmup-min", type=int, default=60, metavar="N", help="minutes before the frame (default 60)")
    run.add_argument("--tail-min", type=int, default=360, metavar="N", help="minutes after the frame (default 360)")
    run.set_defaults(handler=_run_command)
    compare = commands.add_parser("compare", help="compare our JSONL with the peer's, field by field")
    compare.add_argument("ours", type=Path, help="our JSONL")
    compare.add_argument("expected", type=Path, help="the peer's JSONL (.jsonl or .jsonl.gz)")
    compare.set_defaults(handler=_compare_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m workstation.parity`` and return its exit status.

    Parameters
    ----------
    argv
        The arguments after the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success or identical rows, 1 for differing rows or a failed run, 2 for a bad command line.
    """
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except SystemExit as exit_request:  # --help
        return exit_request.code if isinstance(exit_request.code, int) else 0
    except UsageError as problem:
        print(problem, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())

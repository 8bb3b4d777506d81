"""Trade-by-trade parity with the backtest-kit peer (SPEC §20).

``python -m workstation.parity run --csv FILE --strategy market|limit|managed|managed-limit --out ours.jsonl
[--warmup-min 60] [--tail-min 360]`` runs the SMA-cross strategy on a candle CSV the way the peer's ``run_peer.mjs``
does and writes one JSON line per closed or cancelled signal in the peer's format. The managed variants run the
built-in ``managed-sma`` strategy (`workstation.examples.managed_sma`, the peer's ``managed`` logic), which manages
each position from its callbacks; `ManagedHarness` records its commands and callbacks for the fields of
SPEC-position P19 and the peer's counts.
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
from workstation.examples.managed_sma import ManagedSma, ManagedSmaParams
from workstation.examples.sma_cross import make_strategy
from workstation.exchanges.csv import CsvCandles, make_csv_exchange
from workstation.json_object import json_object
from workstation.models.results import CancelledResult, ClosedResult
from workstation.models.signal import SignalRow
from workstation.schemas.strategy import StrategySchema
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

#: The managed fields the harness's recording writes (its command log and counts); `TRADE_FIELDS` are the others.
RECORDED_FIELDS: tuple[str, ...] = ("commits", "calls")

#: What a run's trades carry, compared without the harness's recording (`run_parity` with ``record=False``).
TRADE_FIELDS: tuple[str, ...] = tuple(name for name in COMPARED_FIELDS if name not in RECORDED_FIELDS)

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


@dataclass
class SignalRecord:
    """What the managed harness logged for one signal (SPEC-position P19): its ``commits`` log and ``calls`` counts."""

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
    """Records a `ManagedSma` strategy the way ``run_peer.mjs`` logs its ``managed`` runs; it decides nothing.

    The harness stands in for the strategy's ``commands``: each command goes on to `workstation`, then is counted
    and, when it succeeded (or returns nothing), logged on its signal with the position read back through the getters.
    It wraps the strategy's callbacks to count them and to know the signal, minute and price a command is issued at.

    Parameters
    ----------
    strategy
        The strategy to record; from now on it issues its commands through the harness.
    """

    def __init__(self, strategy: ManagedSma) -> None:
        self.strategy = strategy
        self.signals: dict[str, SignalRecord] = {}
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
        # The callback running now: the signal, price and time its commands are logged with.
        self._signal_id = ""
        self._price = 0.0
        self._when: datetime | None = None
        strategy.commands = self

    def schema(self) -> StrategySchema:
        """Return the strategy with its callbacks counted."""
        schema = self.strategy.schema()
        callbacks = schema.callbacks.model_copy(
            update={
                "on_active_ping": self.on_active_ping,
                "on_schedule_ping": self.on_schedule_ping,
                "on_partial_profit": self.on_partial_profit,
                "on_partial_loss": self.on_partial_loss,
                "on_breakeven": self.on_breakeven,
                "on_close": self.on_close,
                "on_idle": self.on_idle,
            }
        )
        return schema.model_copy(update={"callbacks": callbacks})

    def summary(self) -> ManagedSummary:
        """Return the run's command, callback and un-pause counts."""
        return ManagedSummary(commits=self.commits, callbacks=self.callbacks, resumes=self.resumes)

    # -- the callbacks, counted --------------------------------------------------------------------------------

    async def on_active_ping(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Count the ping and pass it on."""
        self.callbacks["onActivePing"] += 1
        self._signal_id, self._price, self._when = signal.id, current_price, when
        await self.strategy.on_active_ping(symbol, signal, current_price, when, backtest)

    async def on_schedule_ping(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Count the ping and pass it on."""
        self.callbacks["onSchedulePing"] += 1
        self._signal_id, self._price, self._when = signal.id, current_price, when
        await self.strategy.on_schedule_ping(symbol, signal, current_price, when, backtest)

    async def on_partial_profit(
        self, symbol: str, signal: SignalRow, percent: float, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Count the call and pass it on."""
        self.callbacks["onPartialProfit"] += 1
        self._signal_id, self._price, self._when = signal.id, current_price, when
        await self.strategy.on_partial_profit(symbol, signal, percent, current_price, when, backtest)

    async def on_partial_loss(
        self, symbol: str, signal: SignalRow, percent: float, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Count the call and pass it on."""
        self.callbacks["onPartialLoss"] += 1
        self._signal_id, self._price, self._when = signal.id, current_price, when
        await self.strategy.on_partial_loss(symbol, signal, percent, current_price, when, backtest)

    async def on_breakeven(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Count the call and pass it on."""
        self.callbacks["onBreakeven"] += 1
        self._signal_id, self._price, self._when = signal.id, current_price, when
        await self.strategy.on_breakeven(symbol, signal, current_price, when, backtest)

    async def on_close(
        self, symbol: str, signal: SignalRow, price_close: float, when: datetime, backtest: bool
    ) -> None:
        """Count the close and pass it on."""
        self.callbacks["onClose"] += 1
        self._signal_id, self._price, self._when = signal.id, price_close, when
        await self.strategy.on_close(symbol, signal, price_close, when, backtest)

    async def on_idle(self, symbol: str, current_price: float, when: datetime, backtest: bool) -> None:
        """Count the flat minute and pass it on."""
        self.callbacks["onIdle"] += 1
        await self.strategy.on_idle(symbol, current_price, when, backtest)

    # -- the commands, recorded ----------------------------------------------------------------------------------

    async def _track(
        self, symbol: str, name: str, arg: float | None, command: Awaitable[bool | None], *, snapshot: bool
    ) -> bool:
        """Run one command, count it, log it when it succeeded (or returns nothing) and tell whether it did."""
        ok = await command is not False
        record = self.signals.get(self._signal_id)
        if record is None:
            record = self.signals[self._signal_id] = SignalRecord()
        for counts in (record.calls.setdefault(name, [0, 0]), self.commits.setdefault(name, [0, 0])):
            counts[0] += 1
            counts[1] += ok
        if ok:
            assert self._when is not None
            entry: dict[str, Any] = {"t": to_ms(self._when), "fn": name}
            if arg is not None:
                entry["arg"] = arg
            entry["price"] = self._price
            if snapshot:
                entry.update(await _position_snapshot(symbol))
            record.commits.append(entry)
        return ok

    async def commit_partial_profit(self, symbol: str, percent: float) -> bool:
        """`workstation.commit_partial_profit`, recorded as ``partialProfit``."""
        command = ws.commit_partial_profit(symbol, percent)
        return await self._track(symbol, "partialProfit", percent, command, snapshot=True)

    async def commit_partial_profit_cost(self, symbol: str, dollars: float) -> bool:
        """`workstation.commit_partial_profit_cost`, recorded as ``partialProfitCost``."""
        command = ws.commit_partial_profit_cost(symbol, dollars)
        return await self._track(symbol, "partialProfitCost", dollars, command, snapshot=True)

    async def commit_partial_loss(self, symbol: str, percent: float) -> bool:
        """`workstation.commit_partial_loss`, recorded as ``partialLoss``."""
        command = ws.commit_partial_loss(symbol, percent)
        return await self._track(symbol, "partialLoss", percent, command, snapshot=True)

    async def commit_partial_loss_cost(self, symbol: str, dollars: float) -> bool:
        """`workstation.commit_partial_loss_cost`, recorded as ``partialLossCost``."""
        command = ws.commit_partial_loss_cost(symbol, dollars)
        return await self._track(symbol, "partialLossCost", dollars, command, snapshot=True)

    async def commit_trailing_stop(self, symbol: str, percent_shift: float, current_price: float) -> bool:
        """`workstation.commit_trailing_stop`, recorded as ``trailingStop``."""
        command = ws.commit_trailing_stop(symbol, percent_shift, current_price)
        return await self._track(symbol, "trailingStop", percent_shift, command, snapshot=True)

    async def commit_trailing_stop_cost(self, symbol: str, new_stop_loss_price: float) -> bool:
        """`workstation.commit_trailing_stop_cost`, recorded as ``trailingStopCost``."""
        command = ws.commit_trailing_stop_cost(symbol, new_stop_loss_price)
        return await self._track(symbol, "trailingStopCost", new_stop_loss_price, command, snapshot=True)

    async def commit_trailing_take(self, symbol: str, percent_shift: float, current_price: float) -> bool:
        """`workstation.commit_trailing_take`, recorded as ``trailingTake``."""
        command = ws.commit_trailing_take(symbol, percent_shift, current_price)
        return await self._track(symbol, "trailingTake", percent_shift, command, snapshot=True)

    async def commit_trailing_take_cost(self, symbol: str, new_take_profit_price: float) -> bool:
        """`workstation.commit_trailing_take_cost`, recorded as ``trailingTakeCost``."""
        command = ws.commit_trailing_take_cost(symbol, new_take_profit_price)
        return await self._track(symbol, "trailingTakeCost", new_take_profit_price, command, snapshot=True)

    async def commit_breakeven(self, symbol: str) -> bool:
        """`workstation.commit_breakeven`, recorded as ``breakeven``."""
        return await self._track(symbol, "breakeven", None, ws.commit_breakeven(symbol), snapshot=True)

    async def commit_average_buy(self, symbol: str, cost: float | None = None) -> bool:
        """`workstation.commit_average_buy`, recorded as ``averageBuy``."""
        return await self._track(symbol, "averageBuy", cost, ws.commit_average_buy(symbol, cost), snapshot=True)

    async def commit_close_pending(self, symbol: str, id: str | None = None, note: str | None = None) -> None:
        """`workstation.commit_close_pending`, recorded as ``closePending``."""
        command = ws.commit_close_pending(symbol, id=id, note=note)
        await self._track(symbol, "closePending", None, command, snapshot=False)

    async def commit_cancel_scheduled(self, symbol: str, id: str | None = None, note: str | None = None) -> None:
        """`workstation.commit_cancel_scheduled`, recorded as ``cancelScheduled``."""
        command = ws.commit_cancel_scheduled(symbol, id=id, note=note)
        await self._track(symbol, "cancelScheduled", None, command, snapshot=False)

    async def commit_activate_scheduled(self, symbol: str, id: str | None = None, note: str | None = None) -> None:
        """`workstation.commit_activate_scheduled`, recorded as ``activateScheduled``."""
        command = ws.commit_activate_scheduled(symbol, id=id, note=note)
        await self._track(symbol, "activateScheduled", None, command, snapshot=False)

    async def set_strategy_paused(self, symbol: str, paused: bool) -> None:
        """`workstation.set_strategy_paused`: a pause recorded as ``pause``, a resume counted."""
        if paused:
            await self._track(symbol, "pause", None, ws.set_strategy_paused(symbol, True), snapshot=False)
        else:
            await ws.set_strategy_paused(symbol, False)
            self.resumes += 1

    async def get_strategy_paused(self, symbol: str) -> bool:
        """`workstation.get_strategy_paused`."""
        return await ws.get_strategy_paused(symbol)


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


def result_row(
    result: ClosedResult | CancelledResult, record: SignalRecord | None = None, *, managed: bool = False
) -> dict[str, Any]:
    """Return a closed or cancelled result as the peer's JSON object (SPEC §20.4 field mapping).

    Parameters
    ----------
    result
        A ``closed`` or ``cancelled`` result of ``Backtest.run``.
    record
        The managed harness's record of the signal; with it the row has the managed fields of SPEC-position P19.
    managed
        Without a record, still write the managed fields the trade carries (all but `RECORDED_FIELDS`).

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
    if record is None and not managed:
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
    if record is not None:
        row.update(commits=record.commits, calls=record.calls)
    return row


async def run_parity(
    csv_path: str | Path,
    variant: str,
    *,
    warmup_min: int = 60,
    tail_min: int = 360,
    symbol: str = SYMBOL,
    record: bool = True,
    get_signal: Callable[..., Any] | None = None,
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
    record
        Record the managed variants' commands and callbacks (`ManagedHarness`). Without it the built-in strategy
        runs as a trader registers it and the rows carry every managed field but `RECORDED_FIELDS`.
    get_signal
        Run this ``get_signal`` in place of the variant's own (a benchmark's rewrite of the same strategy, which
        must make the variant's trades); the rest of the strategy is the variant's.

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
    managed = variant in MANAGED_ENTRIES
    if managed and record:
        harness = ManagedHarness(ManagedSma(ManagedSmaParams(variant=MANAGED_ENTRIES[variant])))
        schema = harness.schema().model_copy(update={"strategy_name": f"sma-cross-{variant}"})
    elif managed:
        schema = ManagedSma(ManagedSmaParams(variant=MANAGED_ENTRIES[variant])).schema()
    else:
        schema = make_strategy({"variant": variant})
    counter = CountingGetSignal(schema.get_signal if get_signal is None else get_signal)
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
            signal_record = None if harness is None else harness.signals.pop(result.signal.id, SignalRecord())
            rows.append(result_row(result, signal_record, managed=managed))
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


def compare_rows(
    ours: Sequence[dict[str, Any]], expected: Sequence[dict[str, Any]], fields: Sequence[str] = COMPARED_FIELDS
) -> list[str]:
    """Compare rows field by field with ``==`` over ``fields`` (a missing field counts as ``null``).

    Parameters
    ----------
    ours, expected
        Rows in the peer's format, in result order.
    fields
        The fields compared: all of the peer's (`COMPARED_FIELDS`), or e.g. `TRADE_FIELDS` for an unrecorded run.

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
        found = [line for name in fields for line in _differences(name, our_row.get(name), expected_row.get(name))]
        if found:
            differences.append(f"row {number} (id {expected_row.get('id')}): " + "; ".join(found))
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

"""``ClientStrategy``: the signal state machine of one strategy on one symbol in one mode (SPEC §6)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from pydantic import ValidationError

from workstation.clients.calls import ErrorSink, call_callback, end_run
from workstation.clients.exchange import ClientExchange
from workstation.clients.partial import LEVELS, ClientPartial, OpenPhase
from workstation.clients.pnl import compute_pnl
from workstation.clients.risk import NoRisk, Risk, position_key
from workstation.clients.validation import validate_signal
from workstation.config import Config
from workstation.errors import SignalValidationError, StrategyAbortedError
from workstation.models.events import RiskStage
from workstation.models.fast import construct
from workstation.models.position import Entry
from workstation.models.results import (
    ActiveResult,
    CancelledResult,
    CancelReason,
    ClosedResult,
    CloseReason,
    IdleResult,
    OpenedResult,
    ScheduledResult,
)
from workstation.models.risk import RiskCheckArgs, RiskPosition
from workstation.models.signal import Signal, SignalRow
from workstation.schemas.strategy import StrategySchema
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, iso

logger = logging.getLogger("workstation.strategy")

_LEVELS = np.array(LEVELS, dtype=np.float64)
_INT64_MAX = int(np.iinfo(np.int64).max)

Result = IdleResult | ScheduledResult | OpenedResult | ActiveResult | ClosedResult | CancelledResult
GetSignal = Callable[[str, int], Awaitable[Any]]
PartialFactory = Callable[[str], Awaitable[ClientPartial]]
PartialRelease = Callable[[str], Awaitable[None]]
PhaseSink = Callable[[OpenPhase], None]


class ClientStrategy:
    """One strategy on one symbol in one mode: at most one signal (scheduled or open) at a time.

    Dependencies come in as values: the exchange and risk clients, the ``get_signal`` caller (which sets the
    contexts and the helper gate), the partial factory and the publisher of results. The client itself never
    reads a context variable.
    """

    def __init__(
        self,
        schema: StrategySchema,
        *,
        symbol: str,
        exchange_name: str,
        frame_name: str,
        backtest: bool,
        config: Config,
        exchange: ClientExchange,
        risk: Risk,
        get_signal: GetSignal,
        get_partial: PartialFactory,
        release_partial: PartialRelease,
        publish: Callable[[Result], None],
        report_error: ErrorSink,
    ) -> None:
        self.schema = schema
        self.strategy_name = schema.strategy_name
        self.symbol = symbol
        self.exchange_name = exchange_name
        self.frame_name = frame_name
        self.backtest = backtest
        self.config = config
        self.exchange = exchange
        self.risk = risk
        self._get_signal = get_signal
        self._get_partial = get_partial
        self._release_partial = release_partial
        self._publish = publish
        self._report_error = report_error
        self.interval_ms = CANDLE_INTERVAL_MINUTES[schema.interval] * MINUTE_MS
        self.callbacks: dict[str, Callable[..., Any]] = {
            name: fn for name, fn in schema.callbacks.model_dump().items() if fn is not None
        }
        self.idle_wanted: Callable[[], bool] = lambda: True
        #: In backtest, levels are only observable through events and callbacks; live persists them regardless.
        self.partials_observed: Callable[[], bool] = lambda: True
        #: Where a backtest's open phases go when neither a listener nor a callback would see their levels: the
        #: partial report, which works the levels out itself, many positions at a time.
        self.record_levels: PhaseSink | None = None
        self._partial_callbacks = "on_partial_profit" in self.callbacks or "on_partial_loss" in self.callbacks
        self.last_bucket: int | None = None
        self.last_signal_id: str | None = None
        self.stopped = False
        #: The key this strategy's open position is counted under in its risk profiles (a backtest adds its run).
        self.risk_key = position_key(self.strategy_name, symbol)

    async def wait_for_init(self) -> None:
        """Nothing to restore in backtest; live persistence hooks in here."""

    def stop(self) -> None:
        """Stop generating signals; a waiting order is cancelled, an open position runs to its end."""
        self.stopped = True

    @property
    def observes_idle(self) -> bool:
        """Tell whether an idle result would be seen by a callback (listeners are checked by the engine)."""
        return "on_idle" in self.callbacks or "on_tick" in self.callbacks

    def is_throttled(self, when: int) -> bool:
        """Tell whether a flat tick at ``when`` falls in the bucket of the previous ``get_signal`` call."""
        return when // self.interval_ms * self.interval_ms == self.last_bucket

    # ------------------------------------------------------------------ generation (SPEC §6.3)

    async def generate(self, when: int) -> Result | None:
        """Evaluate a flat tick: maybe call ``get_signal`` and schedule or open the signal it returns.

        An idle tick returns None instead of an ``IdleResult`` when nobody would see it (``idle_wanted``).
        """
        price = await self.exchange.get_average_price(self.symbol, when, self.config)
        if self.stopped:
            return await self._idle(when, price)
        bucket = when // self.interval_ms * self.interval_ms
        if bucket == self.last_bucket:
            return await self._idle(when, price)
        self.last_bucket = bucket
        if not await self._risk_allows("pre_check", price, when, None):
            return await self._idle(when, price)
        try:
            dto = await self._get_signal(self.symbol, when)
        except StrategyAbortedError:
            raise  # code get_signal called (an exchange's callback) has already ended the run
        except Exception as exc:
            self._report_error("get_signal", exc)
            return await self._idle(when, price)
        except BaseException as raised:
            end_run(raised, where="get_signal", strategy_name=self.strategy_name)
        if dto is None or self.stopped:
            return await self._idle(when, price)
        try:
            signal = dto if isinstance(dto, Signal) else Signal.model_validate(dto)
        except ValidationError as exc:
            self._report_error("get_signal", exc)
            return await self._idle(when, price)
        signal_id = signal.id or f"{self.strategy_name}:{self.symbol}:{when}"
        if signal_id == self.last_signal_id:
            self._report_error(
                "get_signal", SignalValidationError(f'id "{signal_id}" was already used by the previous signal')
            )
            return await self._idle(when, price)
        if signal.price_open is None:
            price_open, immediate = price, True
        else:
            price_open = signal.price_open
            immediate = price <= price_open if signal.position == "long" else price >= price_open
        try:
            validate_signal(
                signal.position,
                price,
                price_open,
                signal.price_take_profit,
                signal.price_stop_loss,
                signal.minute_estimated_time,
                scheduled=not immediate,
                config=self.config,
            )
        except SignalValidationError as exc:
            self._report_error("get_signal", exc)
            return await self._idle(when, price)
        row = construct(
            SignalRow,
            id=signal_id,
            position=signal.position,
            note=signal.note,
            price_open=price_open,
            price_take_profit=signal.price_take_profit,
            price_stop_loss=signal.price_stop_loss,
            minute_estimated_time=signal.minute_estimated_time,
            symbol=self.symbol,
            exchange_name=self.exchange_name,
            strategy_name=self.strategy_name,
            frame_name=self.frame_name,
            scheduled_at=when,
            pending_at=None if not immediate else when,
            is_scheduled=not immediate,
            original_price_open=price_open,
            original_price_take_profit=signal.price_take_profit,
            original_price_stop_loss=signal.price_stop_loss,
            entries=(construct(Entry, price=price_open, cost=self.config.position_entry_cost, timestamp=when),),
            partials=(),
            partial_executed=0.0,
            pnl=None,
        )
        if not immediate:
            self.last_signal_id = signal_id
            await self._before_schedule(row)
            await self._callback("on_schedule", self.symbol, row, price, self.backtest)
            scheduled = construct(
                ScheduledResult, action="scheduled", signal=row, current_price=price, timestamp=when, **self._where()
            )
            await self._emit(scheduled)
            return scheduled
        if not await self._risk_allows("open", price_open, when, row):
            return await self._idle(when, price)
        self.last_signal_id = signal_id
        opened = await self._open(row, when)
        return opened

    async def _open(self, row: SignalRow, when: int) -> OpenedResult:
        await self._before_open(row)
        await self._callback("on_write", self.symbol, row, self.backtest)
        await self.risk.add_signal(
            self.risk_key,
            construct(
                RiskPosition,
                strategy_name=self.strategy_name,
                symbol=self.symbol,
                exchange_name=self.exchange_name,
                signal_id=row.id,
                open_timestamp=when,
            ),
        )
        await self._callback("on_open", self.symbol, row, row.price_open, self.backtest)
        opened = construct(
            OpenedResult, action="opened", signal=row, current_price=row.price_open, timestamp=when, **self._where()
        )
        await self._emit(opened)
        return opened

    # ------------------------------------------------------------------ backtest fast path (SPEC §6.4)

    async def resolve_backtest(self, result: ScheduledResult | OpenedResult, frame_end: int) -> list[Result]:
        """Resolve a new signal candle by candle to its close or cancel; return the fill (if any) and the end."""
        row = result.signal
        start = row.scheduled_at
        window_start = start - (self.config.avg_price_candles_count - 1) * MINUTE_MS
        after_frame = frame_end // MINUTE_MS * MINUTE_MS + MINUTE_MS
        produced: list[Result] = []
        first_open_candle = start
        if isinstance(result, ScheduledResult):
            deadline = start + self.config.schedule_await_minutes * MINUTE_MS
            candles, vwap = await self.exchange.get_forward_candles(
                self.symbol, window_start, min(deadline, after_frame), self.config
            )
            outcome = self._scan_scheduled(row, candles, vwap, start, frame_end, deadline)
            if outcome is None:
                ending = await self._cancel(row, "timeout", *self._end_of_data(candles, vwap, start, result))
                return [ending]
            reason, timestamp, price = outcome
            if reason != "fill":
                return [await self._cancel(row, reason, timestamp, price)]
            if not await self._risk_allows("activation", row.price_open, timestamp, row):
                return [await self._cancel(row, "risk_reject", timestamp, price)]
            row = row.model_copy(update={"pending_at": timestamp, "is_scheduled": False})
            produced.append(await self._open(row, timestamp))
            first_open_candle = timestamp + MINUTE_MS
        assert row.pending_at is not None
        deadline = row.pending_at + row.minute_estimated_time * MINUTE_MS
        candles, vwap = await self.exchange.get_forward_candles(
            self.symbol, window_start, min(deadline, after_frame), self.config
        )
        first = int(np.searchsorted(candles["timestamp"], first_open_candle))
        closing = self._scan_open(row, candles[first:], vwap[first:], frame_end)
        if closing is None:
            last = len(candles) - 1
            if last >= first:
                closing = (last - first, "time_expired", float(vwap[last]))
            logger.warning(
                "%s %s: data ends at %s before signal %s closed; closing it at the last candle",
                self.strategy_name,
                self.symbol,
                iso(int(candles["timestamp"][-1])) if len(candles) else "its start",
                row.id,
            )
        if closing is None:
            produced.append(await self._close(row, "time_expired", row.pending_at, row.price_open))
            return produced
        index, reason, price = closing
        await self._progress(row, candles[first : first + index], vwap[first : first + index])
        produced.append(await self._close(row, reason, int(candles["timestamp"][first + index]), price))
        return produced

    def _scan_scheduled(
        self, row: SignalRow, candles: np.ndarray, vwap: np.ndarray, start: int, frame_end: int, deadline: int
    ) -> tuple[CancelReason | str, int, float] | None:
        """First candle that fills or cancels a waiting limit order, as (reason, candle time, VWAP)."""
        first = int(np.searchsorted(candles["timestamp"], start))
        stamps = candles["timestamp"][first:]
        if len(stamps) == 0:
            return None
        if row.position == "long":
            touch = candles["low"][first:]
            rejected = touch <= row.price_stop_loss
            filled = touch <= row.price_open
        else:
            touch = candles["high"][first:]
            rejected = touch >= row.price_stop_loss
            filled = touch >= row.price_open
        after_frame = stamps > frame_end
        expired = stamps >= deadline
        decisive = after_frame | expired | rejected | filled
        if self.stopped:
            decisive[:] = True
        if not decisive.any():
            return None
        index = int(np.argmax(decisive))
        timestamp, price = int(stamps[index]), float(vwap[first + index])
        if after_frame[index]:
            return "timeout", timestamp, price
        if self.stopped:
            return "stopped", timestamp, price
        if expired[index]:
            return "timeout", timestamp, price
        if rejected[index]:
            return "price_reject", timestamp, price
        return "fill", timestamp, price

    def _scan_open(
        self, row: SignalRow, candles: np.ndarray, vwap: np.ndarray, frame_end: int
    ) -> tuple[int, CloseReason, float] | None:
        """First candle that closes an open position, as (index, reason, close price)."""
        if len(candles) == 0:
            return None
        assert row.pending_at is not None
        stamps = candles["timestamp"]
        after_frame = stamps > frame_end
        # Clamped: with the lifetime cap disabled, a huge lifetime must not overflow int64 (it never expires).
        expired = stamps >= min(row.pending_at + row.minute_estimated_time * MINUTE_MS, _INT64_MAX)
        if row.position == "long":
            stop_hit = candles["low"] <= row.price_stop_loss
            profit_hit = vwap >= row.price_take_profit
        else:
            stop_hit = candles["high"] >= row.price_stop_loss
            profit_hit = vwap <= row.price_take_profit
        decisive = after_frame | expired | stop_hit | profit_hit
        if not decisive.any():
            return None
        index = int(np.argmax(decisive))
        if after_frame[index] or expired[index]:
            return index, "time_expired", float(vwap[index])
        if stop_hit[index]:
            return index, "stop_loss", row.price_stop_loss
        return index, "take_profit", row.price_take_profit

    def _end_of_data(
        self, candles: np.ndarray, vwap: np.ndarray, start: int, result: ScheduledResult
    ) -> tuple[int, float]:
        """Where a waiting order ends when the data runs out: its last scanned candle, else its start."""
        logger.warning(
            "%s %s: data ends before limit order %s resolved", self.strategy_name, self.symbol, result.signal.id
        )
        scanned = candles["timestamp"] >= start
        if scanned.any():
            last = len(candles) - 1
            return int(candles["timestamp"][last]), float(vwap[last])
        return start, result.current_price

    async def _progress(self, row: SignalRow, candles: np.ndarray, vwap: np.ndarray) -> None:
        """Partial levels and callbacks for every non-closing candle of the open phase (SPEC §8)."""
        count = len(candles)
        if count == 0:
            return
        if not (self.partials_observed() or self._partial_callbacks):
            if self.record_levels is not None:
                self.record_levels(OpenPhase(row, self.backtest, vwap, candles["timestamp"]))
            return
        o = row.price_open
        distance = vwap - o if row.position == "long" else o - vwap
        profit = distance > 0
        loss = distance < 0
        percent_tp = np.minimum(distance / abs(row.price_take_profit - o) * 100, 100.0)
        percent_sl = np.minimum(np.abs(distance) / abs(o - row.price_stop_loss) * 100, 100.0)
        steps: set[int] = set()
        for branch, branch_percent, callback in (
            (profit, percent_tp, "on_partial_profit"),
            (loss, percent_sl, "on_partial_loss"),
        ):
            if callback in self.callbacks:
                steps.update(np.flatnonzero(branch).tolist())
                continue
            # A level is first reached where the running maximum of the branch's progress crosses it.
            peak = np.maximum.accumulate(np.where(branch, branch_percent, -np.inf))
            if peak[-1] >= LEVELS[0]:
                steps.update(index for index in np.searchsorted(peak, _LEVELS, side="left").tolist() if index < count)
        if not steps:
            return
        partial = await self._get_partial(row.id)
        stamps = candles["timestamp"]
        for index in sorted(steps):
            price = float(vwap[index])
            timestamp = int(stamps[index])
            if profit[index]:
                percent = float(percent_tp[index])
                partial.profit(row, price, percent, timestamp)
                await self._callback("on_partial_profit", self.symbol, row, price, percent, self.backtest)
            elif loss[index]:
                percent = float(percent_sl[index])
                partial.loss(row, price, percent, timestamp)
                await self._callback("on_partial_loss", self.symbol, row, price, percent, self.backtest)

    async def _close(self, row: SignalRow, reason: CloseReason, timestamp: int, price: float) -> ClosedResult:
        closed = construct(
            ClosedResult,
            action="closed",
            signal=row,
            current_price=price,
            timestamp=timestamp,
            close_reason=reason,
            close_timestamp=timestamp,
            pnl=compute_pnl(row.position, row.price_open, price, self.config),
            **self._where(),
        )
        await self._before_end(closed)
        await self._callback("on_close", self.symbol, row, price, self.backtest)
        await self._release_partial(row.id)
        await self.risk.remove_signal(self.risk_key)
        await self._callback("on_write", self.symbol, None, self.backtest)
        await self._emit(closed)
        await self._after_announce(closed)
        return closed

    async def _cancel(self, row: SignalRow, reason: str, timestamp: int, price: float) -> CancelledResult:
        cancelled = construct(
            CancelledResult,
            action="cancelled",
            signal=row,
            current_price=price,
            timestamp=timestamp,
            reason=reason,
            close_timestamp=timestamp,
            **self._where(),
        )
        await self._before_end(cancelled)
        await self._callback("on_cancel", self.symbol, row, price, self.backtest)
        await self._emit(cancelled)
        await self._after_announce(cancelled)
        return cancelled

    # ------------------------------------------------------------------ persistence hooks (live overrides them)

    async def _before_schedule(self, row: SignalRow) -> None:
        """Persist a new waiting limit order before anyone hears of it (backtest: nothing to persist)."""

    async def _before_open(self, row: SignalRow) -> None:
        """Persist an opening position before anyone hears of it (backtest: nothing to persist)."""

    async def _before_end(self, result: ClosedResult | CancelledResult) -> None:
        """Persist the end of a signal before anyone hears of it (backtest: nothing to persist)."""

    async def _after_announce(self, result: ClosedResult | CancelledResult) -> None:
        """Record that the end of a signal was published (backtest: nothing to record)."""

    # ------------------------------------------------------------------ plumbing

    def _where(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "strategy_name": self.strategy_name,
            "exchange_name": self.exchange_name,
            "frame_name": self.frame_name,
            "backtest": self.backtest,
        }

    async def _idle(self, when: int, price: float) -> IdleResult | None:
        if not self.observes_idle and not self.idle_wanted():
            return None
        idle = construct(IdleResult, action="idle", signal=None, current_price=price, timestamp=when, **self._where())
        if "on_idle" in self.callbacks:
            await self._callback("on_idle", self.symbol, price, self.backtest)
        await self._emit(idle)
        return idle

    async def _emit(self, result: Result) -> None:
        if "on_tick" in self.callbacks:
            await self._callback("on_tick", self.symbol, result, self.backtest)
        self._publish(result)

    async def _risk_allows(self, stage: RiskStage, price: float, when: int, row: SignalRow | None) -> bool:
        if isinstance(self.risk, NoRisk):
            return True
        return await self.risk.check_signal(
            construct(
                RiskCheckArgs,
                symbol=self.symbol,
                strategy_name=self.strategy_name,
                exchange_name=self.exchange_name,
                current_price=price,
                timestamp=when,
                stage=stage,
                signal=row,
            )
        )

    async def _callback(self, name: str, *args: Any) -> None:
        callback = self.callbacks.get(name)
        if callback is None:
            return
        await call_callback(callback, *args, where=name, on_error=self._report_error, strategy_name=self.strategy_name)

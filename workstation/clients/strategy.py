"""``ClientStrategy``: the signal state machine of one strategy on one symbol in one mode (SPEC §6)."""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from contextvars import Token
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import ValidationError

from workstation.clients.calls import ErrorSink, PendingCall, end_run, is_async_callable
from workstation.clients.exchange import ClientExchange
from workstation.clients.partial import LEVELS, ClientPartial, OpenPhase
from workstation.clients.pnl import compute_pnl
from workstation.clients.position import PositionState, StopReason, Valuation, with_exit_excursion
from workstation.clients.position_manager import PositionManager, active_manager
from workstation.clients.risk import NoRisk, Risk, position_key
from workstation.clients.validation import validate_signal
from workstation.config import Config
from workstation.context import ExecutionContext, execution_context, helpers_enabled
from workstation.errors import SignalValidationError, StrategyAbortedError
from workstation.models.events import PositionPriceEvent, RiskStage
from workstation.models.fast import construct
from workstation.models.pnl import Pnl
from workstation.models.position import Entry, PartialPnl
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
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, from_ms, iso

logger = logging.getLogger("workstation.strategy")

_LEVELS = np.array(LEVELS, dtype=np.float64)
_ONE_MINUTE = timedelta(minutes=1)
#: The candles a managed walk turns into lists first (then twice as many each time it needs more).
_WALK_CHUNK = 128
#: Builds a named tuple from its fields without the keyword handling of its generated ``__new__``.
_new_tuple = tuple.__new__
#: The persistence hooks a live client overrides (`ClientStrategy._open_gate` and those after it).
_HOOKS = ("_open_gate", "_before_schedule", "_before_open", "_before_end", "_after_announce")

Result = IdleResult | ScheduledResult | OpenedResult | ActiveResult | ClosedResult | CancelledResult
#: Calls ``get_signal`` (`signal_caller`): its value, or a `PendingCall` to await when it awaits something real.
GetSignal = Callable[[str, int], Any]
PartialFactory = Callable[[str], Awaitable[ClientPartial]]
PartialRelease = Callable[[str], Awaitable[None]]
PhaseSink = Callable[[OpenPhase], None]

#: Callbacks that see the position candle by candle: a strategy with one of them is walked one candle at a time
#: while it holds a position or a waiting order (SPEC-position P3, P4); any other keeps the vectorised scan.
CANDLE_CALLBACKS = frozenset(
    {"on_active_ping", "on_schedule_ping", "on_partial_profit", "on_partial_loss", "on_breakeven"}
)


def _next_level(reached: Sequence[int]) -> float:
    """Return the lowest partial level (%) not in ``reached``; infinity once all are."""
    return next((level for level in LEVELS if level not in reached), math.inf)


#: The tokens of the callbacks' context a callback runs in (execution context, helper gate, active manager): what
#: puts back the context it replaced. A plain tuple: a named one takes ten times as long to build, at every idle tick.
_Entered = tuple[Token[ExecutionContext | None], Token[bool], Token[PositionManager | None]]


class _Resumed:
    """What awaits the rest of a coroutine whose first step (``send(None)``) suspended on ``awaited``.

    It hands ``awaited`` to the task running it, then passes to the coroutine whatever the task sends or throws back,
    as awaiting the coroutine from its start would have.
    """

    __slots__ = ("awaited", "coroutine")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], awaited: Any) -> None:
        self.coroutine, self.awaited = coroutine, awaited

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, value = self.coroutine, self.awaited
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


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
        emit_event: Callable[[str, Any], None],
        event_listened: Callable[[str], bool],
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
        self._partial_factory = get_partial
        self._release_partial = release_partial
        #: The signals whose partial client `_get_partial` made: in a backtest only they have one to release.
        self._partials_taken: set[str] = set()
        self._publish = publish
        self._report_error = report_error
        self.interval_ms = CANDLE_INTERVAL_MINUTES[schema.interval] * MINUTE_MS
        self.callbacks: dict[str, Callable[..., Any]] = {
            name: fn for name, fn in schema.callbacks.model_dump().items() if fn is not None
        }
        #: Which callbacks are ``async def``: awaited directly, without inspecting what they return.
        self._async_callbacks = {name: is_async_callable(fn) for name, fn in self.callbacks.items()}
        #: The last tick a callback ran at, with its aware time and context: the callbacks of one candle share them.
        self._callback_tick: tuple[int, datetime, ExecutionContext] | None = None
        self.idle_wanted: Callable[[], bool] = lambda: True
        #: In backtest, levels are only observable through events and callbacks; live persists them regardless.
        self.partials_observed: Callable[[], bool] = lambda: True
        #: Where a backtest's open phases go when neither a listener nor a callback would see their levels: the
        #: partial report, which works the levels out itself, many positions at a time.
        self.record_levels: PhaseSink | None = None
        self.walks_candles = not CANDLE_CALLBACKS.isdisjoint(self.callbacks)
        #: Only ``on_idle`` sees a flat tick when no listener does: a throttled one can skip the rest (`idle`).
        self.idles_alone = "on_idle" in self.callbacks and "on_tick" not in self.callbacks
        #: No callback sees a flat tick: unless a listener wants idle results, `_idle` does nothing.
        self._idle_unseen = "on_idle" not in self.callbacks and "on_tick" not in self.callbacks
        self._where_fields: dict[str, Any] | None = None
        #: Whether a subclass persists through the hooks (live does): a backtest's are no-ops, not even awaited.
        self._hooked = any(getattr(type(self), hook) is not getattr(ClientStrategy, hook) for hook in _HOOKS)
        self.manager = PositionManager(
            where=self._where(),
            config=config,
            price_at=lambda when: exchange.get_average_price(symbol, when, config),
            emit=emit_event,
        )
        self._emit_event = emit_event
        #: Whether anything listens to an event stream: in a backtest the run's `ListenerCheck`, which the engine's
        #: tick loop asks too.
        self.event_listened = event_listened
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
        self.manager.stopped = True

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
        price = self.exchange.cached_average_price(self.symbol, when, self.config)
        if price is None:
            price = await self.exchange.get_average_price(self.symbol, when, self.config)
        manager = self.manager
        if self.stopped:
            return await self._idle(when, price)
        if manager.paused:
            # Paused: no signal, and the throttle forgets its bucket, so get_signal runs the minute after a resume.
            self.last_bucket = None
            return await self._idle(when, price)
        bucket = when // self.interval_ms * self.interval_ms
        if bucket == self.last_bucket:
            return await self._idle(when, price)
        self.last_bucket = bucket
        if not isinstance(self.risk, NoRisk) and not await self._risk_allows("pre_check", price, when, None):
            return await self._idle(when, price)
        manager.avg = price
        manager_token = active_manager.set(manager)
        try:
            # A plain call: its value, or the `PendingCall` of a get_signal that awaits something real.
            dto = self._get_signal(self.symbol, when)
            if dto.__class__ is PendingCall:
                dto = await dto
        except StrategyAbortedError:
            raise  # code get_signal called (an exchange's callback) has already ended the run
        except Exception as exc:
            self._report_error("get_signal", exc)
            return await self._idle(when, price)
        except BaseException as raised:
            end_run(raised, where="get_signal", strategy_name=self.strategy_name)
        finally:
            active_manager.reset(manager_token)
        if dto is None or self.stopped:
            if self._idle_unseen and not self.idle_wanted():
                return None  # what `_idle` comes to, without a coroutine: most calls of a backtest end here
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
            peak_profit=None,
            max_drawdown=None,
        )
        return await self._start_signal(row, when, price)

    async def _start_signal(self, row: SignalRow, when: int, price: float) -> Result | None:
        """Schedule ``row`` as a waiting limit order or open it at market, once the open gate let it (live)."""
        signal_id = row.id
        if row.is_scheduled:
            if self._hooked and not await self._open_gate("schedule", row, when, price):
                return await self._idle(when, price)
            self.last_signal_id = signal_id
            if self._hooked:
                await self._before_schedule(row)
            self.manager.start(PositionState(row, self.config.position_entry_cost))
            await self._callback("on_schedule", when, None, self.symbol, row, price)
            scheduled = construct(
                ScheduledResult, action="scheduled", signal=row, current_price=price, timestamp=when, **self._where()
            )
            await self._emit(scheduled)
            return scheduled
        if not isinstance(self.risk, NoRisk) and not await self._risk_allows("open", row.price_open, when, row):
            return await self._idle(when, price)
        if self._hooked and not await self._open_gate("active", row, when, price):
            return await self._idle(when, price)
        self.last_signal_id = signal_id
        state = PositionState(row, self.config.position_entry_cost)
        state.start_excursions(when, self.config)
        self.manager.start(state)
        return await self._open(state.row, when)

    async def _open(self, row: SignalRow, when: int) -> OpenedResult:
        if self._hooked:
            await self._before_open(row)
        if "on_write" in self.callbacks:
            await self._callback("on_write", when, None, self.symbol, row, row.price_open)
        if not isinstance(self.risk, NoRisk):
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
        if "on_open" in self.callbacks:
            await self._callback("on_open", when, None, self.symbol, row, row.price_open)
        opened = construct(
            OpenedResult, action="opened", signal=row, current_price=row.price_open, timestamp=when, **self._where()
        )
        if "on_tick" in self.callbacks:
            await self._emit(opened)
        else:
            self._publish(opened)  # `_emit` without its coroutine: no on_tick to run first
        return opened

    def idle_ticks(self) -> IdleTicks:
        """Return what runs ``on_idle`` at the flat ticks inside the last ``get_signal`` call's bucket (`IdleTicks`)."""
        return IdleTicks(self)

    # ------------------------------------------------------------------ backtest fast path (SPEC §6.4)

    async def resolve_backtest(self, result: ScheduledResult | OpenedResult, frame_end: int) -> list[Result]:
        """Resolve a new signal candle by candle to its close or cancel; return the fill (if any) and the end.

        A strategy with candle callbacks, or one whose position a command changed, is walked one candle at a time
        (SPEC-position P3, P4); any other is scanned with array operations.
        """
        walk = self.walks_candles or self.manager.touched
        manager = self.manager
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
            if walk:
                outcome = await self._walk_scheduled(row, candles, vwap, frame_end, deadline)
            else:
                outcome = self._scan_scheduled(row, candles, vwap, start, frame_end, deadline)
            if outcome is None:
                return [await self._cancel(row, "timeout", *self._end_of_data(candles, vwap, start, result))]
            reason, timestamp, price = outcome
            if reason == "activate":
                request = manager.activate_request
                assert request is not None
                if not await self._risk_allows("activation", price, timestamp, row):
                    return [await self._cancel(row, "user", timestamp, price)]
                row = manager.fill(timestamp)
                produced.append(await self._open(row, timestamp))
                state = manager.position
                assert state is not None
                manager.emit_now(
                    "activate-scheduled",
                    state,
                    price,
                    timestamp,
                    activate_id=request.id,
                    note=request.note,
                    source=request.source,
                )
            elif reason != "fill":
                cancel = manager.cancel_request
                if reason == "user" and cancel is not None:
                    assert manager.state is not None
                    manager.emit_now(
                        "cancel-scheduled",
                        manager.state,
                        price,
                        timestamp,
                        cancel_id=cancel.id,
                        note=cancel.note,
                        source=cancel.source,
                    )
                return [await self._cancel(row, reason, timestamp, price)]
            elif not await self._risk_allows("activation", row.price_open, timestamp, row):
                return [await self._cancel(row, "risk_reject", timestamp, price)]
            else:
                row = manager.fill(timestamp)
                produced.append(await self._open(row, timestamp))
            first_open_candle = timestamp + MINUTE_MS
        assert row.pending_at is not None
        deadline = row.pending_at + row.minute_estimated_time * MINUTE_MS
        candles, vwap = await self.exchange.get_forward_candles(
            self.symbol, window_start, min(deadline, after_frame), self.config
        )
        if walk:
            produced.append(await self._walk_open(row, candles, vwap, first_open_candle, frame_end, deadline))
            return produced
        count = len(candles)
        # The forward candles are consecutive minutes (one cached segment's): a candle's index is arithmetic.
        first_stamp = int(candles[0]["timestamp"]) if count else first_open_candle
        first = min(count, max(0, -((first_stamp - first_open_candle) // MINUTE_MS)))
        closing = self._scan_open(row, candles[first:], vwap[first:], first_stamp + first * MINUTE_MS, frame_end)
        if closing is None:
            last = count - 1
            if last >= first:
                closing = (last - first, "time_expired", float(vwap[last]))
            self._warn_data_end(row, candles["timestamp"])
        if closing is None:
            produced.append(await self._close(row, "time_expired", row.pending_at, row.price_open))
            return produced
        index, reason, price = closing
        end = first + index
        open_candles, open_vwap = candles[first:end], vwap[first:end]
        await self._progress(row, open_candles, open_vwap)
        state = manager.position
        assert state is not None
        state.scan_excursions(open_vwap, open_candles["timestamp"], self.config)
        produced.append(await self._close(state.row, reason, first_stamp + end * MINUTE_MS, price))
        return produced

    def _warn_data_end(self, row: SignalRow, stamps: Sequence[int] | np.ndarray) -> None:
        """Log that the candles end before ``row`` closed: it closes at the last candle."""
        logger.warning(
            "%s %s: data ends at %s before signal %s closed; closing it at the last candle",
            self.strategy_name,
            self.symbol,
            iso(int(stamps[-1])) if len(stamps) else "its start",
            row.id,
        )

    async def _walk_scheduled(
        self, row: SignalRow, candles: np.ndarray, vwap: np.ndarray, frame_end: int, deadline: int
    ) -> tuple[CancelReason | str, int, float] | None:
        """P4: the first candle that ends the wait, as (reason, candle time, VWAP); None when the data runs out.

        The reasons are those of :meth:`_scan_scheduled` plus ``"user"`` (a cancel request) and ``"activate"``.
        """
        manager = self.manager
        state = manager.order
        assert state is not None
        first = int(np.searchsorted(candles["timestamp"], row.scheduled_at))
        stamps = candles["timestamp"].tolist()
        touches = (candles["low"] if row.position == "long" else candles["high"]).tolist()
        prices = vwap.tolist()
        long = row.position == "long"
        config, symbol, backtest = self.config, self.symbol, self.backtest
        ping = self.callbacks.get("on_schedule_ping")
        stepped = ping is not None and self._async_callbacks["on_schedule_ping"]
        # As the open walk does, the wait stays in the callbacks' context from one ping to the next; it is left
        # before a listener hears of a ping or a commit, and when the wait ends.
        entered: _Entered | None = None
        try:
            for index in range(first, len(stamps)):
                timestamp, price = stamps[index], prices[index]
                if timestamp > frame_end:
                    return "timeout", timestamp, price
                if self.stopped:
                    return "stopped", timestamp, price
                if manager.cancel_request is not None:
                    return "user", timestamp, price
                if manager.activate_request is not None:
                    return "activate", timestamp, price
                if timestamp >= deadline:
                    return "timeout", timestamp, price
                touch = touches[index]
                if (touch <= row.price_stop_loss) if long else (touch >= row.price_stop_loss):
                    return "price_reject", timestamp, price
                if (touch <= row.price_open) if long else (touch >= row.price_open):
                    return "fill", timestamp, price
                if ping is not None:
                    view = state.view(price, config)
                    if entered is not None and self.event_listened("schedule_ping"):
                        self._leave(entered)
                        entered = None
                    self._announce("schedule_ping", view, price, timestamp)
                    # `_callback`'s context for the ping: its time, and the previous minute's VWAP to book at.
                    manager.avg = prices[index - 1]
                    moment, context = self._tick(timestamp)
                    if entered is None:
                        entered = self._enter(context)
                    else:
                        execution_context.set(context)
                    if stepped:
                        try:
                            coroutine = ping(symbol, view, price, moment, backtest)
                            awaited = coroutine.send(None)
                        except StopIteration:
                            pass
                        except BaseException as raised:
                            self._failed("on_schedule_ping", raised)
                        else:
                            await self._finish(_Resumed(coroutine, awaited), "on_schedule_ping")
                    elif rest := self._start(ping, "on_schedule_ping", symbol, view, price, moment):
                        await rest
                if manager.queued:
                    if entered is not None:
                        self._leave(entered)
                        entered = None
                    manager.flush(state, timestamp)
        finally:
            if entered is not None:
                self._leave(entered)
        return None

    async def _walk_open(
        self,
        row: SignalRow,
        candles: np.ndarray,
        vwap: np.ndarray,
        first_candle: int,
        frame_end: int,
        deadline: int,
    ) -> ClosedResult:
        """P3: walk the open position from ``first_candle`` to its close, running the candle callbacks.

        The levels a candle is checked against are worked out again only after a command changed the position, and
        the view only for a callback or listener that sees it (a year of a managed strategy is 300 000 candles): a
        minute without a command is a few comparisons, one view and the callbacks, stepped here as `_start` does.
        """
        manager = self.manager
        state = manager.position
        assert state is not None and row.pending_at is not None
        first = int(np.searchsorted(candles["timestamp"], first_candle))
        # The candles become lists as the walk reaches them, in chunks that double: a position read a day ahead
        # closes after an hour or two.
        count = len(candles)
        converted = min(count, first + _WALK_CHUNK)
        stamps = candles["timestamp"][:converted].tolist()
        lows = candles["low"][:converted].tolist()
        highs = candles["high"][:converted].tolist()
        prices = vwap[:converted].tolist()
        long = row.position == "long"
        breakeven_reached = False
        partial = await self._get_partial(row.id)
        callbacks, stepped = self.callbacks, self._async_callbacks
        ping, breakeven = callbacks.get("on_active_ping"), callbacks.get("on_breakeven")
        profit, loss = callbacks.get("on_partial_profit"), callbacks.get("on_partial_loss")
        listened = self.event_listened
        # The partial levels are recorded (and announced) when the progress reaches the first one not reached yet.
        next_profit, next_loss = _next_level(partial.profit_levels), _next_level(partial.loss_levels)
        stop, stopped_by, take_profit, effective, to_take, to_stop, breakeven_price, valuation, changes = (
            self._walk_levels(state)
        )
        symbol, backtest = self.symbol, self.backtest
        start = self._start
        ending: tuple[CloseReason, int, float] | None = None
        # The walk enters the callbacks' context at its first candle and stays in it to the close (a position has
        # thousands of minutes), each candle setting its own time over the last one's.
        entered: _Entered | None = None
        # Who listens to pings is asked again only after a callback that may have waited: nothing else runs meanwhile.
        heard = listened("active_ping")
        peak_price, fall_price = state.excursion_prices()
        try:
            for index in range(first, count):
                if index == converted:
                    upto = min(count, 2 * converted)
                    stamps += candles["timestamp"][converted:upto].tolist()
                    lows += candles["low"][converted:upto].tolist()
                    highs += candles["high"][converted:upto].tolist()
                    prices += vwap[converted:upto].tolist()
                    converted = upto
                timestamp, price = stamps[index], prices[index]
                if timestamp > frame_end:
                    ending = "time_expired", timestamp, price
                    break
                if (request := manager.close_request) is not None:
                    filled = request.filled
                    if filled is None:
                        ending = "closed", timestamp, price
                    else:
                        ending = filled, timestamp, state.take_profit if filled == "take_profit" else state.stop_loss
                    break
                if timestamp >= deadline:
                    ending = "time_expired", timestamp, price
                    break
                if manager.changes != changes:
                    stop, stopped_by, take_profit, effective, to_take, to_stop, breakeven_price, valuation, changes = (
                        self._walk_levels(state)
                    )
                # The close checks, then the excursions (before the candle's callbacks, SPEC-statistics §4), as
                # `PositionState.watch_excursions` moves them, then the branch and progress (P3 step 6): commands of
                # the ping do not change what this candle reports.
                if long:
                    if lows[index] <= stop:
                        ending = stopped_by, timestamp, stop
                        break
                    if price >= take_profit:
                        ending = "take_profit", timestamp, take_profit
                        break
                    if price > peak_price or price < fall_price:
                        if price > effective and price > peak_price:
                            if (gain := valuation.pnl_percentage(price)) > 0:
                                state.move_peak_to(price, timestamp, gain)
                                peak_price = price
                        elif price < effective and price < fall_price:
                            state.move_fall_to(price, timestamp, valuation.pnl_percentage(price))
                            fall_price = price
                    distance = price - effective
                else:
                    if highs[index] >= stop:
                        ending = stopped_by, timestamp, stop
                        break
                    if price <= take_profit:
                        ending = "take_profit", timestamp, take_profit
                        break
                    if price < peak_price or price > fall_price:
                        if price < effective and price < peak_price:
                            if (gain := valuation.pnl_percentage(price)) > 0:
                                state.move_peak_to(price, timestamp, gain)
                                peak_price = price
                        elif price > effective and price > fall_price:
                            state.move_fall_to(price, timestamp, valuation.pnl_percentage(price))
                            fall_price = price
                    distance = effective - price
                # `progress` of P3, inline: ``min(max(x, 0.0), 100.0)`` as the two comparisons it makes.
                if distance > 0:
                    percent = 100.0 if to_take <= 0 else (distance / to_take) * 100
                elif distance < 0:
                    percent = 100.0 if to_stop <= 0 else (abs(distance) / to_stop) * 100
                else:
                    percent = 0.0
                percent = 0.0 if percent < 0.0 else 100.0 if percent > 100.0 else percent
                # The callbacks of a candle share its context (as `_callback` sets it): its time, and the previous
                # minute's VWAP to book at.
                manager.avg = prices[index - 1]
                # `_tick`, inline: the next minute's time is one addition away from the last one's.
                tick = self._callback_tick
                if tick is None or tick[0] != timestamp:
                    moment = (
                        tick[1] + _ONE_MINUTE
                        if tick is not None and timestamp - tick[0] == MINUTE_MS
                        else from_ms(timestamp)
                    )
                    tick = self._callback_tick = (
                        timestamp,
                        moment,
                        _new_tuple(ExecutionContext, (symbol, timestamp, backtest)),
                    )
                moment, context = tick[1], tick[2]
                if entered is None:
                    entered = self._enter(context)
                else:
                    execution_context.set(context)
                if ping is not None or heard:
                    view = valuation.view(price)
                    if heard:
                        self._announce("active_ping", view, price, timestamp)
                    if ping is not None:
                        if stepped["on_active_ping"]:
                            try:
                                coroutine = ping(symbol, view, price, moment, backtest)
                                awaited = coroutine.send(None)
                            except StopIteration:
                                pass
                            except BaseException as raised:
                                self._failed("on_active_ping", raised)
                            else:
                                await self._finish(_Resumed(coroutine, awaited), "on_active_ping")
                                heard = listened("active_ping")
                        elif rest := start(ping, "on_active_ping", symbol, view, price, moment):
                            await rest
                            heard = listened("active_ping")
                if distance > 0:
                    if manager.changes != changes:  # the ping's commands count here
                        (
                            stop,
                            stopped_by,
                            take_profit,
                            effective,
                            to_take,
                            to_stop,
                            breakeven_price,
                            valuation,
                            changes,
                        ) = self._walk_levels(state)
                    if not breakeven_reached and (price >= breakeven_price if long else price <= breakeven_price):
                        breakeven_reached = True
                        view = valuation.view(price)
                        self._announce("breakeven_available", view, price, timestamp)
                        await self._call(breakeven, "on_breakeven", symbol, view, price, moment)
                        heard = listened("active_ping")
                        if manager.changes != changes:  # and those of on_breakeven in what follows
                            (
                                stop,
                                stopped_by,
                                take_profit,
                                effective,
                                to_take,
                                to_stop,
                                breakeven_price,
                                valuation,
                                changes,
                            ) = self._walk_levels(state)
                    if percent >= next_profit:
                        partial.profit(valuation.view(price), price, percent, timestamp)
                        next_profit = _next_level(partial.profit_levels)
                    callback, name = profit, "on_partial_profit"
                elif distance < 0:
                    if percent >= next_loss:
                        partial.loss(valuation.view(price), price, percent, timestamp)
                        next_loss = _next_level(partial.loss_levels)
                    callback, name = loss, "on_partial_loss"
                else:
                    callback = None
                if callback is not None:
                    view = valuation.view(price)
                    if stepped[name]:
                        try:
                            coroutine = callback(symbol, view, percent, price, moment, backtest)
                            awaited = coroutine.send(None)
                        except StopIteration:
                            pass
                        except BaseException as raised:
                            self._failed(name, raised)
                        else:
                            await self._finish(_Resumed(coroutine, awaited), name)
                            heard = listened("active_ping")
                    elif rest := start(callback, name, symbol, view, percent, price, moment):
                        await rest
                        heard = listened("active_ping")
                if manager.queued:
                    # The candle's commit events reach their listeners outside the callbacks' context, as the close
                    # does: a command issued from a listener is refused.
                    self._leave(entered)
                    entered = None
                    manager.flush(state, timestamp)
        finally:
            if entered is not None:
                self._leave(entered)
        if ending is not None:
            reason, timestamp, price = ending
        else:
            self._warn_data_end(row, stamps)
            reason = "time_expired"
            timestamp, price = (stamps[-1], prices[-1]) if count > first else (row.pending_at, row.price_open)
        if (request := manager.close_request) is not None and reason in ("closed", request.filled):
            manager.emit_now(
                "close-pending",
                state,
                price,
                timestamp,
                close_id=request.id,
                note=request.note,
                source=request.source,
            )
        return await self._close_managed(state, reason, timestamp, price)

    def _walk_levels(
        self, state: PositionState
    ) -> tuple[float, StopReason, float, float, float, float, float, Valuation, int]:
        """Return what a walked candle is checked against until the next command, and the count of commands so far.

        The `Levels` of ``state`` (but its side), its `Valuation`, and the manager's ``changes`` they are of.
        """
        levels = state.levels(self.config)
        return (
            levels.stop,
            levels.stopped_by,
            levels.take_profit,
            levels.effective,
            levels.to_take,
            levels.to_stop,
            levels.breakeven_price,
            state.valuation(self.config),
            self.manager.changes,
        )

    def _announce(self, stream: str, view: SignalRow, price: float, timestamp: int) -> None:
        """Emit a ping or breakeven-available event (P17) when someone listens to ``stream``."""
        if self.event_listened(stream):
            self._emit_event(
                stream,
                construct(
                    PositionPriceEvent,
                    **self._where(),
                    signal=view,
                    current_price=price,
                    timestamp=timestamp,
                ),
            )

    async def _close_managed(
        self, state: PositionState, reason: CloseReason, timestamp: int, price: float
    ) -> ClosedResult:
        """Close a walked position at ``price``: its result has the view, the PnL and the partial closes' PnL."""
        config = self.config
        return await self._close(
            state.view(price, config), reason, timestamp, price, state.pnl(price, config), state.partial_pnl(config)
        )

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
        self, row: SignalRow, candles: np.ndarray, vwap: np.ndarray, first_stamp: int, frame_end: int
    ) -> tuple[int, CloseReason, float] | None:
        """First candle that closes an open position, as (index, reason, close price).

        The candles are consecutive minutes from ``first_stamp``: the first one past the frame or the lifetime is
        found by arithmetic, and the prices are compared only before it.
        """
        count = len(candles)
        if count == 0:
            return None
        assert row.pending_at is not None
        expiry = row.pending_at + row.minute_estimated_time * MINUTE_MS
        # The first candle after the frame, or opening at or after the position's expiry (time wins a tie).
        timed = min(
            count,
            max(0, (frame_end - first_stamp) // MINUTE_MS + 1),
            max(0, -((first_stamp - expiry) // MINUTE_MS)),
        )
        state = self.manager.position
        assert state is not None
        stop, stopped_by = state.stop_trigger(self.config)
        if timed:
            lows_or_highs = candles["low" if row.position == "long" else "high"][:timed]
            prices = vwap[:timed]
            if row.position == "long":
                hits = (lows_or_highs <= stop) | (prices >= row.price_take_profit)
            else:
                hits = (lows_or_highs >= stop) | (prices <= row.price_take_profit)
            index = int(hits.argmax())
            if hits[index]:
                touch = float(lows_or_highs[index])
                if (touch <= stop) if row.position == "long" else (touch >= stop):
                    return index, stopped_by, stop
                return index, "take_profit", row.price_take_profit
        if timed < count:
            return timed, "time_expired", float(vwap[timed])
        return None

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
        if not self.partials_observed():
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
        for branch, branch_percent in ((profit, percent_tp), (loss, percent_sl)):
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
                partial.profit(row, price, float(percent_tp[index]), timestamp)
            elif loss[index]:
                partial.loss(row, price, float(percent_sl[index]), timestamp)

    async def _close(
        self,
        row: SignalRow,
        reason: CloseReason,
        timestamp: int,
        price: float,
        pnl: Pnl | None = None,
        partial_pnl: tuple[PartialPnl, ...] = (),
    ) -> ClosedResult:
        """Close the position; ``pnl`` and ``partial_pnl`` of a managed position come from its state.

        Every close but one on request ends the position's excursions at the exit (SPEC-statistics §4).
        """
        if pnl is None:
            pnl = compute_pnl(row.position, row.price_open, price, self.config)
        if reason != "closed":
            row = with_exit_excursion(row, price, timestamp, pnl.pnl_percentage)
        closed = construct(
            ClosedResult,
            action="closed",
            signal=row,
            current_price=price,
            timestamp=timestamp,
            close_reason=reason,
            close_timestamp=timestamp,
            pnl=pnl,
            partial_pnl=partial_pnl,
            **self._where(),
        )
        if self._hooked:
            await self._before_end(closed)
        self.manager.finish()
        callbacks = self.callbacks
        if "on_close" in callbacks:
            await self._callback("on_close", timestamp, None, self.symbol, row, price)
        if row.id in self._partials_taken or not self.backtest:
            self._partials_taken.discard(row.id)
            await self._release_partial(row.id)
        if not isinstance(self.risk, NoRisk):
            await self.risk.remove_signal(self.risk_key)
        if "on_write" in callbacks:
            await self._callback("on_write", timestamp, None, self.symbol, None, price)
        if "on_tick" in callbacks:
            await self._emit(closed)
        else:
            self._publish(closed)  # `_emit` without its coroutine: no on_tick to run first
        if self._hooked:
            await self._after_announce(closed)
        return closed

    async def _get_partial(self, signal_id: str) -> ClientPartial:
        """Return the partial client of ``signal_id`` (`get_partial`), noting that it has one to release."""
        self._partials_taken.add(signal_id)
        return await self._partial_factory(signal_id)

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
        if self._hooked:
            await self._before_end(cancelled)
        self.manager.finish()
        await self._callback("on_cancel", timestamp, None, self.symbol, row, price)
        await self._emit(cancelled)
        if self._hooked:
            await self._after_announce(cancelled)
        return cancelled

    # ------------------------------------------------------------------ persistence hooks (live overrides them)

    async def _open_gate(self, kind: Literal["schedule", "active"], row: SignalRow, when: int, price: float) -> bool:
        """Tell whether a new signal may be scheduled or opened (live: its broker's open gate; backtest: always)."""
        return True

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
        # Built once: the fields never change, and every result and event spreads them.
        where = self._where_fields
        if where is None:
            where = self._where_fields = {
                "symbol": self.symbol,
                "strategy_name": self.strategy_name,
                "exchange_name": self.exchange_name,
                "frame_name": self.frame_name,
                "backtest": self.backtest,
            }
        return where

    async def _idle(self, when: int, price: float) -> IdleResult | None:
        if "on_tick" not in self.callbacks and not self.idle_wanted():
            # Nobody would see the result: only on_idle runs (a managed strategy has one on each flat minute).
            if "on_idle" in self.callbacks:
                await self._callback("on_idle", when, price, self.symbol, price)
            return None
        idle = construct(IdleResult, action="idle", signal=None, current_price=price, timestamp=when, **self._where())
        if "on_idle" in self.callbacks:
            await self._callback("on_idle", when, price, self.symbol, price)
        await self._emit(idle)
        return idle

    async def _emit(self, result: Result) -> None:
        if "on_tick" in self.callbacks:
            await self._callback("on_tick", result.timestamp, None, self.symbol, result, result.current_price)
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

    async def _callback(self, name: str, when: int, avg: float | None, *args: Any) -> None:
        """Call the callback ``name`` with ``args``, then ``when`` (aware UTC) and ``backtest`` (19.5's order).

        It runs in the context of the tick at ``when``: the helpers and the position commands work, and the
        commands book at ``avg`` (None: the VWAP before ``when``, looked up when a command needs it).
        """
        if rest := self._start_callback(name, when, avg, *args):
            await rest

    def _start_callback(self, name: str, when: int, avg: float | None, *args: Any) -> Awaitable[None] | None:
        """Run `_callback` up to the callback's first suspension: return what awaits the rest, or None once done."""
        callback = self.callbacks.get(name)
        if callback is None:
            return None
        self.manager.avg = avg
        moment, context = self._tick(when)
        entered = self._enter(context)
        try:
            rest = self._start(callback, name, *args, moment)
        finally:
            self._leave(entered)
        return None if rest is None else self._rest_in(context, rest)

    async def _rest_in(self, context: ExecutionContext, rest: Awaitable[None]) -> None:
        """Await the rest of a callback that suspended, back in the context it began in."""
        entered = self._enter(context)
        try:
            await rest
        finally:
            self._leave(entered)

    def _enter(self, context: ExecutionContext) -> _Entered:
        """Enter the callbacks' context at the tick of ``context``: the helpers work, the commands act on ours."""
        return execution_context.set(context), helpers_enabled.set(True), active_manager.set(self.manager)

    @staticmethod
    def _leave(entered: _Entered) -> None:
        """Put back the context `_enter` replaced."""
        execution, gate, active = entered
        active_manager.reset(active)
        helpers_enabled.reset(gate)
        execution_context.reset(execution)

    def _tick(self, when: int) -> tuple[datetime, ExecutionContext]:
        """Return the aware time of ``when`` and the execution context at it, built once for a tick's callbacks."""
        tick = self._callback_tick
        if tick is None or tick[0] != when:
            # The next minute's time is one addition away from the last one's (a managed walk asks every minute).
            moment = tick[1] + _ONE_MINUTE if tick is not None and when - tick[0] == MINUTE_MS else from_ms(when)
            context = _new_tuple(ExecutionContext, (self.symbol, when, self.backtest))
            tick = self._callback_tick = (when, moment, context)
        return tick[1], tick[2]

    async def _call(self, callback: Callable[..., Any] | None, name: str, *args: Any) -> None:
        """Call a user callback (if any) with ``args`` and ``backtest``, in the context already entered."""
        if callback is not None and (rest := self._start(callback, name, *args)):
            await rest

    def _start(self, callback: Callable[..., Any], name: str, *args: Any) -> Awaitable[None] | None:
        """Run a user callback with ``args`` and ``backtest`` up to its first suspension, in the context entered.

        Return what awaits the rest, or None once it is done: a managed strategy's callbacks, tens of thousands a
        month of candles, finish without waiting on anything, so an ``async def`` one is stepped here rather than
        awaited through a coroutine of the engine's. A failure is handled as `_failed` says.
        """
        try:
            if self._async_callbacks[name]:
                coroutine = callback(*args, self.backtest)
                try:
                    awaited = coroutine.send(None)
                except StopIteration:
                    return None
                return self._finish(_Resumed(coroutine, awaited), name)
            result = callback(*args, self.backtest)
            if inspect.isawaitable(result):
                return self._finish(result, name)
        except BaseException as raised:
            self._failed(name, raised)
        return None

    async def _finish(self, rest: Awaitable[Any], name: str) -> None:
        """Await the rest of callback ``name`` that `_start` began."""
        try:
            await rest
        except BaseException as raised:
            self._failed(name, raised)

    def _failed(self, name: str, raised: BaseException) -> None:
        """Handle what callback ``name`` raised: an error is reported, the run goes on; anything else ends it."""
        if isinstance(raised, StrategyAbortedError):
            raise raised  # code the callback called has already ended the run
        if isinstance(raised, Exception):
            self._report_error(name, raised)
            return
        end_run(raised, where=name, strategy_name=self.strategy_name)


class IdleTicks:
    """Runs ``on_idle`` at a strategy's successive flat ticks that only it observes, in the callbacks' context.

    What `ClientStrategy.generate` comes to on such a tick, given its price: the engine uses it when `idles_alone`
    holds, no listener wants idle results and the strategy is neither stopped nor paused (a year has 200 000 such
    ticks). The context is entered at the first tick and each later one sets its own time over it, as a managed walk
    does; the engine calls :meth:`leave` before anything but the callback may see it (a listener, the loop's turn).
    """

    __slots__ = ("_callback", "_entered", "_strategy")

    def __init__(self, strategy: ClientStrategy) -> None:
        self._strategy = strategy
        self._callback = strategy.callbacks["on_idle"]
        self._entered: _Entered | None = None

    def run(self, when: int, price: float) -> Awaitable[None] | None:
        """Run ``on_idle`` at ``when`` (booking at ``price``); return what awaits the rest of a callback that waits.

        The rest is awaited in the context entered, which stays until :meth:`leave`.
        """
        strategy = self._strategy
        strategy.manager.avg = price
        moment, context = strategy._tick(when)
        if self._entered is None:
            self._entered = strategy._enter(context)
        else:
            execution_context.set(context)
        return strategy._start(self._callback, "on_idle", strategy.symbol, price, moment)

    def leave(self) -> None:
        """Put back the context the first tick replaced, if it is still entered."""
        if self._entered is not None:
            entered, self._entered = self._entered, None
            self._strategy._leave(entered)

"""The live side of ``ClientStrategy`` (SPEC §6.5, §15.3, §15.4): one tick at a time, persisted write-ahead.

With a broker (issue 16, 19.5's ``IBroker``) the run asks it before it changes a position: the open gates (a limit
order placed, a market entry, a limit order's fill), the close gate, the position commands' gates; and on every tick
it holds something, the order check. What the broker raises is read as 19.5's verdict and spent against the retry
budgets of ``Config.order_*_retry_attempts``; the try counters are stored before each gate call (write-ahead).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from workstation.brokers.broker import Broker
from workstation.brokers.errors import Channel, Verdict
from workstation.brokers.gates import (
    BrokerGateError,
    GateName,
    ProposedChange,
    call_hook,
    check_given_up,
    close_forced,
    open_exhausted,
)
from workstation.brokers.payloads import (
    AverageBuy,
    LevelMove,
    OrderCheck,
    OrderClose,
    OrderOpen,
    PartialClose,
    ScheduleCancelled,
)
from workstation.clients.pnl import compute_pnl
from workstation.clients.position import Branch, PositionState
from workstation.clients.position_manager import Request, active_manager
from workstation.clients.strategy import ClientStrategy, Result
from workstation.clients.validation import validate_signal
from workstation.context import execution_context, helpers_enabled
from workstation.errors import SignalValidationError
from workstation.models.fast import construct
from workstation.models.pnl import Pnl
from workstation.models.position import Entry
from workstation.models.results import ActiveResult, CancelledResult, ClosedResult, CloseReason
from workstation.models.signal import SignalRow
from workstation.services.live_records import (
    LiveBrokerAttempts,
    LiveManagement,
    LivePause,
    LiveProgress,
    LiveRecords,
    LiveRequest,
    LiveSignalKind,
)
from workstation.timeutil import MINUTE_MS

P = TypeVar("P")


class LiveClientStrategy(ClientStrategy):
    """A strategy trading live: it holds its open position or waiting order and persists every change first.

    Each state change is written before callbacks run and the result is emitted; a failed write leaves the state
    as it was, so the tick fails and the next tick tries again (SPEC §15.3).
    """

    def __init__(self, *args: Any, records: LiveRecords, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records = records
        self.open_position: SignalRow | None = None
        self.limit_order: SignalRow | None = None
        #: Ticks up to this one were evaluated before a restart and are skipped (None: nothing to skip).
        self.resume_after: int | None = None
        self._restored_callback: tuple[str, SignalRow] | None = None
        self._initialised = False
        #: The run was restored paused: its first tick announces it (:meth:`PositionManager.announce_restored_pause`).
        self._restored_pause = False
        #: The price of the tick being evaluated: the view of a managed position is stored valued at it.
        self._price = 0.0
        #: What the store holds of the signal held (:meth:`_signature`), so a tick writes it only when it changed.
        self._stored: tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]] | None = None
        #: The commit event of a requested close or cancel, emitted once the end is stored (write-ahead).
        self._on_end: Callable[[], None] | None = None
        #: The signal whose ``on_breakeven`` ran (P10: once per signal).
        self._breakeven_announced: str | None = None
        self.manager.save_pause = self._save_pause
        #: Where the run's orders go (None: positions are tracked, nothing is sent).
        self.broker: Broker | None = None
        #: The broker's try counters of the signal held or being opened, as stored (None: nothing tried).
        self._attempts: LiveBrokerAttempts | None = None

    def use_broker(self, broker: Broker) -> None:
        """Send the run's orders through ``broker``: its gates and checks run from the first tick (before any)."""
        self.broker = broker
        self.records.brokered = True
        self.manager.confirm = self._confirm_change

    @property
    def is_flat(self) -> bool:
        """Tell whether the strategy holds neither an open position nor a waiting limit order.

        An open the broker has not confirmed yet counts as held: a stopping run drops it at its next tick rather than
        leave it stored for a later run to send.
        """
        attempts = self._attempts
        return (
            self.open_position is None and self.limit_order is None and (attempts is None or attempts.open_row is None)
        )

    async def wait_for_init(self) -> None:
        """Restore the persisted state once, before the first tick (SPEC §15.4).

        Raises
        ------
        PersistedStateConflictError
            If a stored record belongs to another exchange.
        """
        if self._initialised:
            return
        if self.broker is not None:
            await self.broker.wait_for_init()
        state = await self.records.restore(self.exchange_name)
        self._attempts = state.broker
        if state.finished_close is not None:
            await self._release_partial(state.finished_close.id)
            if state.finished_close.pending_at is not None and not state.finished_close.is_scheduled:
                await self.risk.remove_signal(self.risk_key)
        self.open_position = state.open_position
        self.limit_order = state.limit_order
        if state.open_position is not None:
            self._restored_callback = ("on_active", state.open_position)
        elif state.limit_order is not None:
            self._restored_callback = ("on_schedule", state.limit_order)
        if state.progress is not None:
            self.last_bucket = state.progress.last_bucket
            self.last_signal_id = state.progress.last_signal_id
        self.resume_after = state.resume_after
        held = state.open_position or state.limit_order
        if held is not None:
            self._resume(held, state.management)
        self.manager.paused = self._restored_pause = state.paused
        self._initialised = True

    def _resume(self, row: SignalRow, management: LiveManagement | None) -> None:
        """Hold the restored signal with the commands' changes and requests it was stored with."""
        manager = self.manager
        manager.start(PositionState(row, self.config.position_entry_cost))
        if management is not None:
            manager.close_request = _request(management.close_request)
            manager.cancel_request = _request(management.cancel_request)
            manager.activate_request = _request(management.activate_request)
            if management.breakeven_announced:
                self._breakeven_announced = row.id
        self._stored = self._signature()

    async def tick(self, when: int) -> Result | None:
        """Evaluate the tick at ``when`` (SPEC §6.5); :meth:`save_progress` records it afterwards."""
        price = await self.exchange.get_average_price(self.symbol, when, self.config)
        self._price = price
        if self._restored_callback is not None:
            name, row = self._restored_callback
            self._restored_callback = None
            await self._callback(name, when, price, self.symbol, row, price)
        result: Result | None
        state = self.manager.state
        if state is not None and state.is_open:
            result = await self._manage_position(state, when, price)
        elif state is not None:
            result = await self._manage_order(state, when, price)
        else:
            bucket, signal_id = self.last_bucket, self.last_signal_id
            try:
                retried = await self._retry_open(when, price)
                result = retried[1] if retried is not None else await self.generate(when)
            except BaseException:
                # The tick failed before its signal was stored: the next tick asks get_signal again.
                self.last_bucket, self.last_signal_id = bucket, signal_id
                raise
        if self._restored_pause:
            # After the tick's result, so that a view listing runs as they first report already lists this one.
            self._restored_pause = False
            if self.manager.paused:
                self.manager.announce_restored_pause(when)
        return result

    async def save_progress(self, when: int) -> None:
        """Record that the tick at ``when`` was evaluated, with the throttle state it left.

        When the tick's commands changed the signal held (entries, partial closes, trailing levels, requests), the
        signal is written in the same change; then the tick's commit events are emitted (written before heard).
        """
        progress = LiveProgress(
            last_tick=when,
            last_bucket=self.last_bucket,
            last_signal_id=self.last_signal_id,
            exchange_name=self.exchange_name,
        )
        manager = self.manager
        state = manager.state
        signature = self._signature()
        stored_row, stored_excursions, stored_management = (None, None, None) if self._stored is None else self._stored
        held: tuple[LiveSignalKind, SignalRow] | None = None
        management: LiveManagement | None = None
        if state is not None and signature is not None:
            row_part, excursions_part, management_part = signature
            if row_part != stored_row:
                # Only a command changes the row: the position is then seen, and stored, as its public view.
                if state.is_open:
                    held = ("open_position", state.view(self._price, self.config))
                else:
                    held = ("limit_order", state.row)
            elif excursions_part != stored_excursions and self.open_position is not None:
                # A new peak or fall alone: the row stored keeps its entry (a view's is the effective one, an ulp off).
                peak, fall = excursions_part
                held = (
                    "open_position",
                    self.open_position.model_copy(update={"peak_profit": peak, "max_drawdown": fall}),
                )
            if management_part != stored_management:
                management = LiveManagement(
                    signal_id=state.row.id,
                    close_request=_stored_request(manager.close_request),
                    cancel_request=_stored_request(manager.cancel_request),
                    activate_request=_stored_request(manager.activate_request),
                    breakeven_announced=self._breakeven_announced == state.row.id,
                )
        await self.records.save_tick(progress, held, management)
        self._stored = signature
        if held is not None:
            if held[0] == "open_position":
                self.open_position = held[1]
            else:
                self.limit_order = held[1]
        if state is not None:
            manager.flush(state, when)

    def _signature(self) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]] | None:
        """Return what the store must hold of the signal held: its row's part, its excursions and its requests'.

        None when flat.
        """
        manager = self.manager
        state = manager.state
        if state is None:
            return None
        signal_id = state.row.id
        return (
            (
                signal_id,
                state.is_open,
                len(state.entries),
                len(state.partials),
                state.trailing_stop_loss,
                state.trailing_take_profit,
            ),
            (state.row.peak_profit, state.row.max_drawdown),
            (
                signal_id,
                manager.close_request,
                manager.cancel_request,
                manager.activate_request,
                self._breakeven_announced == signal_id,
            ),
        )

    async def _save_pause(self, paused: bool, when: int) -> None:
        await self.records.write_pause(LivePause(paused=paused, at=when))

    def _is_managed(self, state: PositionState) -> bool:
        """Tell whether the position is seen through its public view (SPEC-position P3).

        So it is for a strategy with candle callbacks, or a position a command changed; any other keeps its row and
        PnL as opened, as the backtest's scan does.
        """
        return (
            self.walks_candles
            or len(state.entries) > 1
            or bool(state.partials)
            or state.trailing_stop_loss is not None
            or state.trailing_take_profit is not None
        )

    def valued(self, state: PositionState, price: float) -> tuple[SignalRow, Pnl]:
        """Return the open position as the run shows it at ``price``, and its PnL if it closed there.

        A managed position (:meth:`_is_managed`) is its public view; any other keeps its row and PnL as opened.
        """
        if self._is_managed(state):
            return state.view(price, self.config), state.pnl(price, self.config)
        row = state.row
        return row, compute_pnl(row.position, row.price_open, price, self.config)

    async def apply_manual(self, when: int, act: Callable[[], Awaitable[bool]]) -> tuple[bool, Result | None]:
        """Apply a trader's command at ``when``, a moment of its own between two ticks, as strategy code would.

        ``act`` issues the command (the contexts of a callback set, booking at the price at ``when``) and tells
        whether it was accepted. A close, cancel or fill it asked for is evaluated at once, at ``when``; the change
        is stored with the moment's progress before its commit event is emitted, like a tick's commands; when that
        write fails, the change is undone and the error raised.
        """
        price = await self.exchange.get_average_price(self.symbol, when, self.config)
        self._price = price
        manager = self.manager
        held = manager.state
        checkpoint = manager.checkpoint()
        # The contexts _callback sets around a callback: the commands act on this run's position at ``price``.
        self.manager.avg = price
        execution = execution_context.set(self._tick(when)[1])
        gate = helpers_enabled.set(True)
        active = active_manager.set(self.manager)
        try:
            accepted = await act()
        finally:
            active_manager.reset(active)
            helpers_enabled.reset(gate)
            execution_context.reset(execution)
        if not accepted:
            return False, None
        result: Result | None = None
        try:
            requested = (manager.close_request, manager.cancel_request, manager.activate_request)
            if manager.state is not None and requested != (None, None, None):
                result = await self.tick(when)
            await self.save_progress(when)
        except BaseException:
            if manager.state is held:
                # Not stored: the command did not happen (a later tick must not store it either).
                manager.rollback(checkpoint)
                self._on_end = None
            raise
        return True, result

    async def _end_position(
        self,
        state: PositionState,
        reason: CloseReason,
        when: int,
        price: float,
        *,
        on_end: Callable[[], None] | None = None,
        gated: bool = True,
    ) -> Result:
        """Close the position, once the broker's close gate let it (``gated``); else it stays open for this tick.

        ``on_end`` runs once the close is stored (the commit event of a requested close).
        """
        if gated and self.broker is not None and not await self._close_gate(state, reason, when, price):
            return await self._still_open(state, when, price)
        self._on_end = on_end
        row, pnl = self.valued(state, price)
        return await self._close(row, reason, when, price, pnl, state.partial_pnl(self.config))

    async def _still_open(self, state: PositionState, when: int, price: float) -> Result:
        """Report the position as held at this tick (its close is tried again at the next)."""
        shown = state.view(price, self.config) if self._is_managed(state) else state.row
        return await self._active(shown, when, price, 0.0, 0.0)

    async def _manage_position(self, state: PositionState, when: int, price: float) -> Result:
        """SPEC-position P3 live: a requested close first, then the completion check, then the callbacks."""
        manager = self.manager
        request = manager.close_request
        if request is not None:
            filled = request.filled
            # A fill the broker reported books at its level and is not sent again (19.5's createTakeProfit).
            at = price if filled is None else state.take_profit if filled == "take_profit" else state.stop_loss

            def close_pending() -> None:
                manager.emit_now(
                    "close-pending", state, at, when, close_id=request.id, note=request.note, source=request.source
                )

            if filled is not None:
                return await self._end_position(state, filled, when, at, on_end=close_pending, gated=False)
            return await self._end_position(state, "closed", when, price, on_end=close_pending)
        if self.broker is not None and (checked := await self._check(state, when, price)) is not None:
            return checked
        row = state.row
        assert row.pending_at is not None
        if when - row.pending_at >= row.minute_estimated_time * MINUTE_MS:
            return await self._end_position(state, "time_expired", when, price)
        long = state.is_long
        (stop, stopped_by), take = state.stop_trigger(self.config), state.take_profit
        if (price >= take) if long else (price <= take):
            return await self._end_position(state, "take_profit", when, take)
        if (price <= stop) if long else (price >= stop):
            return await self._end_position(state, stopped_by, when, stop)
        config = self.config
        # Before the tick's callbacks (SPEC-statistics §4); a moved peak or fall is stored with the tick.
        state.watch_excursions(price, when, config)
        row = state.row
        managed = self._is_managed(state)
        # The branch and progress come first: commands of the ping do not change what this tick reports.
        branch, percent = state.progress(price) if managed else _progress_from_entry(row, price)
        if "on_active_ping" in self.callbacks or self.event_listened("active_ping"):
            view = state.view(price, config)
            self._announce("active_ping", view, price, when)
            await self._callback("on_active_ping", when, price, self.symbol, view, price)
        percent_tp = percent_sl = 0.0
        if branch == "profit":
            percent_tp = percent
            if self._breakeven_announced != row.id and state.breakeven_available(price, config):
                self._breakeven_announced = row.id
                view = state.view(price, config)
                self._announce("breakeven_available", view, price, when)
                await self._callback("on_breakeven", when, price, self.symbol, view, price)
        elif branch == "loss":
            percent_sl = percent
        if branch != "flat":
            shown = state.view(price, config) if managed else row
            partial = await self._get_partial(row.id)
            await partial.reach_live(branch, shown, price, percent, when)
            name = "on_partial_profit" if branch == "profit" else "on_partial_loss"
            await self._callback(name, when, price, self.symbol, shown, percent, price)
        shown = state.view(price, config) if self._is_managed(state) else row
        return await self._active(shown, when, price, percent_tp, percent_sl)

    async def _manage_order(self, state: PositionState, when: int, price: float) -> Result:
        """SPEC-position P4 live: a requested cancel or activation first, then the order's own checks, then the ping."""
        manager = self.manager
        row = state.row
        long = row.position == "long"
        if self.stopped:
            return await self._cancel(row, "stopped", when, price)
        cancel = manager.cancel_request
        if cancel is not None:
            self._on_end = lambda: manager.emit_now(
                "cancel-scheduled", state, price, when, cancel_id=cancel.id, note=cancel.note, source=cancel.source
            )
            return await self._cancel(row, "user", when, price)
        activate = manager.activate_request
        if activate is not None:
            if not await self._risk_allows("activation", price, when, row):
                return await self._cancel(row, "user", when, price)
            if (gated := await self._fill_gate(state, when, price)) is not None:
                return gated
            opened = await self._open(manager.fill(when), when)
            manager.emit_now(
                "activate-scheduled",
                state,
                price,
                when,
                activate_id=activate.id,
                note=activate.note,
                source=activate.source,
            )
            return opened
        if self.broker is not None and (checked := await self._check(state, when, price)) is not None:
            return checked
        if when - row.scheduled_at >= self.config.schedule_await_minutes * MINUTE_MS:
            return await self._cancel(row, "timeout", when, price)
        if (price <= row.price_stop_loss) if long else (price >= row.price_stop_loss):
            return await self._cancel(row, "price_reject", when, price)
        if (price <= row.price_open) if long else (price >= row.price_open):
            if not await self._risk_allows("activation", row.price_open, when, row):
                return await self._cancel(row, "risk_reject", when, price)
            if (gated := await self._fill_gate(state, when, price)) is not None:
                return gated
            return await self._open(manager.fill(when), when)
        if "on_schedule_ping" in self.callbacks or self.event_listened("schedule_ping"):
            view = state.view(price, self.config)
            self._announce("schedule_ping", view, price, when)
            await self._callback("on_schedule_ping", when, price, self.symbol, view, price)
        return await self._active(row, when, price, 0.0, 0.0)

    # ------------------------------------------------------------------ the broker's gates and checks (issue 16)

    async def _ask(
        self, hook: Callable[[P], Awaitable[None]], payload: P, channel: Channel, when: int, price: float
    ) -> tuple[Verdict, Exception | None]:
        """Call a broker hook in the context of the tick at ``when``: it may issue the position commands (19.5)."""
        self.manager.avg = price
        entered = self._enter(self._tick(when)[1])
        try:
            return await call_hook(hook, payload, channel)
        finally:
            self._leave(entered)

    def _report_broker(
        self, gate: GateName, signal_id: str, attempt: int, outcome: str, cause: BaseException | None
    ) -> None:
        error = BrokerGateError(
            gate=gate,
            strategy_name=self.strategy_name,
            symbol=self.symbol,
            signal_id=signal_id,
            attempt=attempt,
            outcome=outcome,
            cause=cause,
        )
        self._report_error("broker", error)

    def _counters(self, signal_id: str) -> LiveBrokerAttempts:
        """Return the try counters of ``signal_id`` (all 0 when nothing of it was tried yet)."""
        attempts = self._attempts
        if attempts is None or attempts.signal_id != signal_id:
            return LiveBrokerAttempts(signal_id=signal_id)
        return attempts

    async def _store_attempts(self, attempts: LiveBrokerAttempts) -> None:
        await self.records.write_attempts(attempts)
        self._attempts = attempts

    async def _forget_attempts(self) -> None:
        if self._attempts is not None:
            await self.records.forget_attempts()
            self._attempts = None

    def _payload_fields(self, row: SignalRow, when: int) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "signal_id": row.id,
            "position": row.position,
            "strategy_name": self.strategy_name,
            "exchange_name": self.exchange_name,
            "when": when,
        }

    async def _open_gate(self, kind: Literal["schedule", "active"], row: SignalRow, when: int, price: float) -> bool:
        """Ask the broker to place the limit order or enter the position of a new signal (19.5's open gate).

        The try is counted and, with the open row, stored first: a failed or interrupted open is tried again with the
        same id at the next tick (:meth:`_retry_open`), up to ``order_open_retry_attempts`` retries, then dropped.
        A rejection drops it at once; a dropped signal's id is spent.
        """
        broker = self.broker
        if broker is None:
            return True
        budget = self.config.order_open_retry_attempts
        tries = self._counters(row.id).open_tries + 1
        if budget > 0:
            await self._store_attempts(
                LiveBrokerAttempts(signal_id=row.id, open_kind=kind, open_row=row, open_tries=tries)
            )
        attempt = tries - 1 if budget > 0 else 0
        payload = OrderOpen(
            **self._payload_fields(row, when),
            kind=kind,
            cost=row.entries[0].cost,
            price_open=row.price_open,
            price_take_profit=row.price_take_profit,
            price_stop_loss=row.price_stop_loss,
            current_price=price,
            attempt=attempt,
        )
        verdict, error = await self._ask(broker.on_order_open, payload, "gate", when, price)
        if verdict == "confirmed":
            # The open's own write forgets the counters (a limit order's fill counts its own tries).
            self._attempts = None
            return True
        gate: GateName = "open schedule" if kind == "schedule" else "open active"
        if verdict == "transient":
            # 19.5: the throttle is rolled back, so get_signal is asked again once the row is given up.
            self.last_bucket = None
            if budget <= 0:
                self._report_broker(gate, row.id, attempt, "failed: the signal is dropped (no retries)", error)
                return False
            if not open_exhausted(tries, budget):
                outcome = f"failed: tried again with the same id at the next tick (try {tries} of {budget + 1})"
                self._report_broker(gate, row.id, attempt, outcome, error)
                return False
            outcome = f"failed {tries} times: the signal is dropped"
        else:
            outcome = "rejected: the signal is dropped"
        self._report_broker(gate, row.id, attempt, outcome, error)
        # The id is spent: a strategy returning it again does not send an order the broker gave up on (19.5).
        self.last_signal_id = row.id
        await self._forget_attempts()
        return False

    async def _retry_open(self, when: int, price: float) -> tuple[bool, Result | None] | None:
        """Try again the open the broker failed (the same row and id, re-stamped to now); None: nothing to retry.

        As in 19.5 the row is checked again against the current price first, and dropped when it no longer holds;
        a stopping run drops it; a paused one keeps it for after the resume.
        """
        attempts = self._attempts
        if self.broker is None or attempts is None or attempts.open_row is None or attempts.open_kind is None:
            return None
        row, kind = attempts.open_row, attempts.open_kind
        gate: GateName = "open schedule" if kind == "schedule" else "open active"
        if self.stopped:
            self._report_broker(gate, row.id, attempts.open_tries, "dropped: the run is stopping", None)
            await self._forget_attempts()
            return None
        if self.manager.paused:
            return None
        try:
            validate_signal(
                row.position,
                price,
                row.price_open,
                row.price_take_profit,
                row.price_stop_loss,
                row.minute_estimated_time,
                scheduled=kind == "schedule",
                config=self.config,
            )
        except SignalValidationError as exc:
            self._report_broker(gate, row.id, attempts.open_tries, "dropped: the price moved since the last try", exc)
            self.last_signal_id = row.id
            await self._forget_attempts()
            return None
        result = await self._start_signal(_restamped(row, when), when, price)
        if self._attempts == attempts:
            # The gate was not asked: the risk check refused the entry, which gives the row up.
            self._report_broker(gate, row.id, attempts.open_tries, "dropped: the risk check refused the entry", None)
            self.last_signal_id = row.id
            await self._forget_attempts()
        return True, result

    async def _fill_gate(self, state: PositionState, when: int, price: float) -> Result | None:
        """Ask the broker to confirm a waiting limit order's fill; None: it did, the position opens.

        A failure keeps the order waiting and tries again at the next tick, up to ``order_open_retry_attempts``
        retries; a rejection, or the budget spent, cancels the order (reason ``user``, as 19.5 does).
        """
        broker = self.broker
        if broker is None:
            return None
        row = state.row
        budget = self.config.order_open_retry_attempts
        counters = self._counters(row.id)
        tries = counters.open_tries + 1
        await self._store_attempts(counters.model_copy(update={"open_tries": tries}))
        payload = OrderOpen(
            **self._payload_fields(row, when),
            kind="active",
            cost=row.entries[0].cost,
            price_open=row.price_open,
            price_take_profit=row.price_take_profit,
            price_stop_loss=row.price_stop_loss,
            current_price=price,
            attempt=tries - 1,
        )
        verdict, error = await self._ask(broker.on_order_open, payload, "gate", when, price)
        if verdict == "confirmed":
            return None
        if verdict == "transient" and not open_exhausted(tries, budget):
            outcome = (
                f"failed: the limit order keeps waiting, its fill is tried again at the next tick "
                f"(try {tries} of {budget + 1})"
            )
            self._report_broker("open active", row.id, tries - 1, outcome, error)
            return await self._active(row, when, price, 0.0, 0.0)
        what = "rejected" if verdict == "rejected" else f"failed {tries} times"
        self._report_broker("open active", row.id, tries - 1, f"{what}: the limit order is cancelled", error)
        return await self._cancel(row, "user", when, price)

    async def _close_gate(self, state: PositionState, reason: CloseReason, when: int, price: float) -> bool:
        """Ask the broker to close the position; tell whether the engine closes it now.

        A failure keeps it open and tries again at the next tick; after ``order_close_retry_attempts`` retries, or
        at once on a rejection, the engine closes it without the broker (19.5's force-close) and says so.
        """
        broker = self.broker
        assert broker is not None
        row = state.row
        budget = self.config.order_close_retry_attempts
        counters = self._counters(row.id)
        tries = counters.close_tries + 1
        await self._store_attempts(counters.model_copy(update={"close_tries": tries}))
        shown, pnl = self.valued(state, price)
        payload = OrderClose(
            **self._payload_fields(row, when),
            close_reason=reason,
            cost=state.remaining(),
            current_price=price,
            price_open=shown.price_open,
            price_take_profit=state.take_profit,
            price_stop_loss=state.stop_loss,
            total_entries=len(state.entries),
            total_partials=len(state.partials),
            pnl=pnl,
            attempt=tries - 1,
        )
        verdict, error = await self._ask(broker.on_order_close, payload, "gate", when, price)
        if verdict == "confirmed":
            return True
        forced = f"the position is closed ({reason}) without the broker: reconcile the exchange"
        if verdict == "rejected":
            self._report_broker("close", row.id, tries - 1, f"rejected: {forced}", error)
            return True
        if close_forced(tries, budget):
            self._report_broker("close", row.id, tries - 1, f"failed {tries} times: {forced}", error)
            return True
        limit = f" of {budget + 1}" if budget > 0 else ""
        again = f"its close ({reason}) is tried again at the next tick (try {tries}{limit})"
        outcome = f"failed: the position stays open, {again}"
        self._report_broker("close", row.id, tries - 1, outcome, error)
        return False

    async def _check(self, state: PositionState, when: int, price: float) -> Result | None:
        """Ask the broker whether the signal's orders still stand (19.5's order check); None: carry on with the tick.

        A failure is tolerated ``order_check_retry_attempts`` times in a row (a success starts the count again);
        beyond, or at once when the broker says the order is gone, the position closes (``closed``) or the limit
        order is cancelled (``user``), without asking the broker again. What the broker reports through a command
        (a fill, a close) is acted on at the next tick, as in 19.5.
        """
        broker = self.broker
        assert broker is not None
        manager = self.manager
        row = state.row
        is_open = state.is_open
        counters = self._counters(row.id)
        failures = counters.check_failures
        payload = OrderCheck(
            **self._payload_fields(row, when),
            kind="active" if is_open else "schedule",
            current_price=price,
            price_open=self.valued(state, price)[0].price_open if is_open else row.price_open,
            price_take_profit=state.take_profit,
            price_stop_loss=state.stop_loss,
            total_entries=len(state.entries),
            total_partials=len(state.partials),
            attempt=failures,
        )
        requests = (manager.close_request, manager.cancel_request, manager.activate_request)
        verdict, error = await self._ask(broker.on_order_check, payload, "check", when, price)
        if verdict == "confirmed" and failures:
            await self._store_attempts(counters.model_copy(update={"check_failures": 0}))
        if (manager.close_request, manager.cancel_request, manager.activate_request) != requests:
            return await (self._still_open(state, when, price) if is_open else self._active(row, when, price, 0.0, 0.0))
        if verdict == "confirmed":
            return None
        failures += 1
        budget = self.config.order_check_retry_attempts
        gate: GateName = "check active" if is_open else "check schedule"
        if verdict != "deleted" and not check_given_up(failures, budget):
            await self._store_attempts(counters.model_copy(update={"check_failures": failures}))
            outcome = f"failed: tolerated ({failures} of {budget} failures in a row)"
            self._report_broker(gate, row.id, failures - 1, outcome, error)
            return None
        ended = "the position is closed" if is_open else "the limit order is cancelled"
        said = "the order is gone" if verdict == "deleted" else f"failed {failures} times in a row"
        self._report_broker(gate, row.id, failures - 1, f"{said}: {ended}", error)
        if is_open:
            return await self._end_position(state, "closed", when, price, gated=False)
        return await self._cancel(row, "user", when, price)

    async def _confirm_change(self, change: ProposedChange) -> bool:
        """Ask the broker to make a position command's change on the exchange first; False: refused (reported)."""
        broker = self.broker
        assert broker is not None
        state = change.state
        row = state.row
        held = change.held
        fields = {
            **self._payload_fields(row, change.when),
            "total_entries": len(held.entries),
            "total_partials": len(held.partials),
        }
        gate: GateName
        verdict: Verdict
        kind = change.kind
        if kind in ("partial_profit", "partial_loss"):
            assert change.percent is not None and change.cost is not None
            gate = "partial close"
            partial = PartialClose(
                **fields,
                kind="profit" if kind == "partial_profit" else "loss",
                percent_to_close=change.percent,
                cost=change.cost,
                current_price=change.price,
                price_take_profit=state.take_profit,
                price_stop_loss=state.stop_loss,
            )
            verdict, error = await call_hook(broker.on_partial_close, partial, "gate")
        elif kind == "average_buy":
            assert change.cost is not None
            gate = "average buy"
            average = AverageBuy(
                **fields,
                cost=change.cost,
                current_price=change.price,
                price_open=state.eff(),
                price_take_profit=state.take_profit,
                price_stop_loss=state.stop_loss,
            )
            verdict, error = await call_hook(broker.on_average_buy, average, "gate")
        else:
            gate = "level move"
            move = LevelMove(
                **fields,
                kind=kind,
                current_price=change.price,
                price_take_profit=state.take_profit,
                price_stop_loss=state.stop_loss,
            )
            verdict, error = await call_hook(broker.on_level_move, move, "gate")
        if verdict == "confirmed":
            return True
        self._report_broker(
            gate, row.id, 0, f"{verdict}: the {kind} command is refused, the position is unchanged", error
        )
        self.manager.broker_refusal = f"the broker refused it: {type(error).__name__}: {error}"
        return False

    async def _schedule_cancelled(self, result: CancelledResult) -> None:
        """Tell the broker a limit order was dropped (informational: a failure is only reported)."""
        broker = self.broker
        assert broker is not None
        row = result.signal
        payload = ScheduleCancelled(**self._payload_fields(row, result.close_timestamp), reason=result.reason)
        _, error = await call_hook(broker.on_schedule_cancelled, payload, "gate")
        if error is not None:
            outcome = "failed: the order may still rest on the exchange (the reconciliation finds it)"
            self._report_broker("schedule cancelled", row.id, 0, outcome, error)

    async def _active(self, row: SignalRow, when: int, price: float, percent_tp: float, percent_sl: float) -> Result:
        active = construct(
            ActiveResult,
            action="active",
            signal=row,
            current_price=price,
            timestamp=when,
            percent_tp=percent_tp,
            percent_sl=percent_sl,
            **self._where(),
        )
        await self._emit(active)
        return active

    async def _before_schedule(self, row: SignalRow) -> None:
        await self.records.write_limit_order(row)
        self.limit_order = row

    async def _before_open(self, row: SignalRow) -> None:
        await self.records.write_open_position(row, fills_limit_order=self.limit_order is not None)
        self.open_position = row
        self.limit_order = None
        self._stored = self._signature()

    async def _before_end(self, result: ClosedResult | CancelledResult) -> None:
        await self.records.end(result)
        self._attempts = None
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()
        if result.action == "closed":
            self.open_position = None
        else:
            self.limit_order = None
            if self.broker is not None:
                await self._schedule_cancelled(result)

    async def _after_announce(self, result: ClosedResult | CancelledResult) -> None:
        try:
            await self.records.mark_announced(result)
        except Exception as exc:
            # The close stands; a later run of the pair would announce it again, which is all this can cost.
            self._report_error("persist announcement", exc)

    async def announce_saved_closes(self) -> list[ClosedResult | CancelledResult]:
        """Publish the closes and cancels a previous run saved but was killed before announcing, oldest first."""
        results = await self.records.unannounced()
        for result in results:
            # The run may have died before on_close / on_cancel ran: they run again (a pause they set is kept once).
            name = "on_close" if result.action == "closed" else "on_cancel"
            await self._callback(name, result.close_timestamp, None, self.symbol, result.signal, result.current_price)
            await self._emit(result)
            await self._after_announce(result)
        return results


def _progress_from_entry(row: SignalRow, price: float) -> tuple[Branch, float]:
    """Return the branch and progress of a position nobody manages, from its entry as opened (SPEC §8)."""
    long = row.position == "long"
    distance = price - row.price_open if long else row.price_open - price
    if distance > 0:
        return "profit", min(distance / abs(row.price_take_profit - row.price_open) * 100, 100.0)
    if distance < 0:
        return "loss", min(abs(distance) / abs(row.price_open - row.price_stop_loss) * 100, 100.0)
    return "flat", 0.0


def _stored_request(request: Request | None) -> LiveRequest | None:
    if request is None:
        return None
    return LiveRequest(id=request.id, note=request.note, source=request.source, filled=request.filled)


def _request(stored: LiveRequest | None) -> Request | None:
    return None if stored is None else Request(stored.id, stored.note, stored.source, stored.filled)


def _restamped(row: SignalRow, when: int) -> SignalRow:
    """Return ``row`` as tried again at ``when``: the same signal and id, its wait or life counted from now."""
    entry = construct(Entry, price=row.entries[0].price, cost=row.entries[0].cost, timestamp=when)
    update: dict[str, Any] = {"scheduled_at": when, "entries": (entry,)}
    if not row.is_scheduled:
        update["pending_at"] = when
    return row.model_copy(update=update)

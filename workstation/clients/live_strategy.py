"""The live side of ``ClientStrategy`` (SPEC §6.5, §15.3, §15.4): one tick at a time, persisted write-ahead."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from workstation.clients.pnl import compute_pnl
from workstation.clients.position import Branch, PositionState
from workstation.clients.position_manager import Request, active_manager
from workstation.clients.strategy import ClientStrategy, Result
from workstation.context import execution_context, helpers_enabled
from workstation.models.fast import construct
from workstation.models.pnl import Pnl
from workstation.models.results import ActiveResult, CancelledResult, ClosedResult, CloseReason
from workstation.models.signal import SignalRow
from workstation.services.live_records import (
    LiveManagement,
    LivePause,
    LiveProgress,
    LiveRecords,
    LiveRequest,
    LiveSignalKind,
)
from workstation.timeutil import MINUTE_MS


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

    @property
    def is_flat(self) -> bool:
        """Tell whether the strategy holds neither an open position nor a waiting limit order."""
        return self.open_position is None and self.limit_order is None

    async def wait_for_init(self) -> None:
        """Restore the persisted state once, before the first tick (SPEC §15.4).

        Raises
        ------
        PersistedStateConflictError
            If a stored record belongs to another exchange.
        """
        if self._initialised:
            return
        state = await self.records.restore(self.exchange_name)
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
                result = await self.generate(when)
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

    async def _end_position(self, state: PositionState, reason: CloseReason, when: int, price: float) -> Result:
        row, pnl = self.valued(state, price)
        return await self._close(row, reason, when, price, pnl, state.partial_pnl(self.config))

    async def _manage_position(self, state: PositionState, when: int, price: float) -> Result:
        """SPEC-position P3 live: a requested close first, then the completion check, then the callbacks."""
        manager = self.manager
        request = manager.close_request
        if request is not None:
            self._on_end = lambda: manager.emit_now(
                "close-pending", state, price, when, close_id=request.id, note=request.note, source=request.source
            )
            return await self._end_position(state, "closed", when, price)
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
        if when - row.scheduled_at >= self.config.schedule_await_minutes * MINUTE_MS:
            return await self._cancel(row, "timeout", when, price)
        if (price <= row.price_stop_loss) if long else (price >= row.price_stop_loss):
            return await self._cancel(row, "price_reject", when, price)
        if (price <= row.price_open) if long else (price >= row.price_open):
            if not await self._risk_allows("activation", row.price_open, when, row):
                return await self._cancel(row, "risk_reject", when, price)
            return await self._open(manager.fill(when), when)
        if "on_schedule_ping" in self.callbacks or self.event_listened("schedule_ping"):
            view = state.view(price, self.config)
            self._announce("schedule_ping", view, price, when)
            await self._callback("on_schedule_ping", when, price, self.symbol, view, price)
        return await self._active(row, when, price, 0.0, 0.0)

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
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()
        if result.action == "closed":
            self.open_position = None
        else:
            self.limit_order = None

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
    return None if request is None else LiveRequest(id=request.id, note=request.note, source=request.source)


def _request(stored: LiveRequest | None) -> Request | None:
    return None if stored is None else Request(stored.id, stored.note, stored.source)

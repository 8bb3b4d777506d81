"""The live side of ``ClientStrategy`` (SPEC §6.5, §15.3, §15.4): one tick at a time, persisted write-ahead."""

from __future__ import annotations

from typing import Any

from workstation.clients.strategy import ClientStrategy, Result
from workstation.models.fast import construct
from workstation.models.results import ActiveResult, CancelledResult, ClosedResult
from workstation.models.signal import SignalRow
from workstation.services.live_records import LiveProgress, LiveRecords
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
        self._initialised = True

    async def tick(self, when: int) -> Result | None:
        """Evaluate the tick at ``when`` (SPEC §6.5); :meth:`save_progress` records it afterwards."""
        price = await self.exchange.get_average_price(self.symbol, when, self.config)
        if self._restored_callback is not None:
            name, row = self._restored_callback
            self._restored_callback = None
            await self._callback(name, when, price, self.symbol, row, price)
        result: Result | None
        if self.open_position is not None:
            result = await self._manage_position(self.open_position, when, price)
        elif self.limit_order is not None:
            result = await self._manage_order(self.limit_order, when, price)
        else:
            bucket, signal_id = self.last_bucket, self.last_signal_id
            try:
                result = await self.generate(when)
            except BaseException:
                # The tick failed before its signal was stored: the next tick asks get_signal again.
                self.last_bucket, self.last_signal_id = bucket, signal_id
                raise
        return result

    async def save_progress(self, when: int) -> None:
        """Record that the tick at ``when`` was evaluated, with the throttle state it left."""
        await self.records.write_progress(
            LiveProgress(
                last_tick=when,
                last_bucket=self.last_bucket,
                last_signal_id=self.last_signal_id,
                exchange_name=self.exchange_name,
            )
        )

    async def _manage_position(self, row: SignalRow, when: int, price: float) -> Result:
        assert row.pending_at is not None
        if when - row.pending_at >= row.minute_estimated_time * MINUTE_MS:
            return await self._close(row, "time_expired", when, price)
        long = row.position == "long"
        if (price >= row.price_take_profit) if long else (price <= row.price_take_profit):
            return await self._close(row, "take_profit", when, row.price_take_profit)
        if (price <= row.price_stop_loss) if long else (price >= row.price_stop_loss):
            return await self._close(row, "stop_loss", when, row.price_stop_loss)
        distance = price - row.price_open if long else row.price_open - price
        percent_tp = percent_sl = 0.0
        if distance > 0:
            percent_tp = min(distance / abs(row.price_take_profit - row.price_open) * 100, 100.0)
            partial = await self._get_partial(row.id)
            await partial.reach_live("profit", row, price, percent_tp, when)
            await self._callback("on_partial_profit", when, price, self.symbol, row, percent_tp, price)
        elif distance < 0:
            percent_sl = min(abs(distance) / abs(row.price_open - row.price_stop_loss) * 100, 100.0)
            partial = await self._get_partial(row.id)
            await partial.reach_live("loss", row, price, percent_sl, when)
            await self._callback("on_partial_loss", when, price, self.symbol, row, percent_sl, price)
        return await self._active(row, when, price, percent_tp, percent_sl)

    async def _manage_order(self, row: SignalRow, when: int, price: float) -> Result:
        long = row.position == "long"
        if self.stopped:
            return await self._cancel(row, "stopped", when, price)
        if when - row.scheduled_at >= self.config.schedule_await_minutes * MINUTE_MS:
            return await self._cancel(row, "timeout", when, price)
        if (price <= row.price_stop_loss) if long else (price >= row.price_stop_loss):
            return await self._cancel(row, "price_reject", when, price)
        if (price <= row.price_open) if long else (price >= row.price_open):
            if not await self._risk_allows("activation", row.price_open, when, row):
                return await self._cancel(row, "risk_reject", when, price)
            return await self._open(row.model_copy(update={"pending_at": when, "is_scheduled": False}), when)
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

    async def _before_end(self, result: ClosedResult | CancelledResult) -> None:
        await self.records.end(result)
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
            await self._emit(result)
            await self._after_announce(result)
        return results

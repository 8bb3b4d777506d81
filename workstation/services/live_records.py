"""The persisted state of one live strategy (SPEC §15.3, §15.4): its records, typed, and their recovery.

Besides the four entities of the SPEC, two records make a restart exact rather than approximately right:

* ``closed`` (key: signal id): every closed or cancelled signal, written in the same change that removes the open
  record; it is also the live trade history that outlives the process. It carries ``announced``: false until the
  result has been published, so a close saved by a process killed before it could tell anyone is announced by the
  next run of the pair (:meth:`LiveRecords.unannounced`).
* ``progress`` (key: ``symbol:strategy_name``): the last tick evaluated, the throttle bucket of the last
  ``get_signal`` call and the last signal id, so a restarted run neither evaluates a tick twice nor calls
  ``get_signal`` earlier than the uninterrupted run would have.

Position management (SPEC-position) adds two more, so a restart resumes a managed position exactly:

* ``management`` (key: ``symbol:strategy_name``): the deferred close, cancel and activation requests of the signal
  held and whether its breakeven was announced. A tick's commands change the held row (entries, partial closes,
  trailing levels) and this record; both are written with the tick's progress in one change (:meth:`save_tick`), so
  a kill either keeps the tick and its commands or neither, and the re-evaluated tick issues them once.
* ``pause`` (key: ``symbol:strategy_name``): the pause flag and the tick it flipped at, written as it flips. A flip
  at a tick the store does not hold as evaluated is undone at a restart, since that tick runs again.

Records written before these existed read as no request, breakeven not announced, not paused.

A run with a broker (issue 16) adds one more:

* ``broker`` (key: ``symbol:strategy_name``): the broker's try counters of the signal being opened or held
  (:class:`LiveBrokerAttempts`), written before each gate call and after each failed check, so a try cut short by a
  kill comes back with ``attempt >= 1`` and the broker looks its order up before sending it again. An open the broker
  has not confirmed keeps its row here, and is tried again with the same id. The open, the limit order's placement
  and the end remove it in their own change.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, RootModel, SerializerFunctionWrapHandler, model_serializer

from workstation import persist
from workstation.errors import PersistedStateConflictError
from workstation.models.position import CommandSource
from workstation.models.results import CancelledResult, ClosedResult
from workstation.models.risk import RiskPosition
from workstation.models.signal import SignalRow
from workstation.persist.adapter import PersistAdapter
from workstation.persist.change import Change, commit
from workstation.persist.corrupt import CORRUPT_MARK, corrupt_stamp
from workstation.persist.records import read_record
from workstation.timeutil import from_ms

logger = logging.getLogger("workstation.live")

LiveSignalKind = Literal["open_position", "limit_order"]

#: The closes a broker reports filled on the exchange, which the engine books without asking it again.
FilledReason = Literal["take_profit", "stop_loss"]


class LiveProgress(BaseModel):
    """Where a live strategy had got to: its last evaluated tick and throttle state."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    last_tick: int
    last_bucket: int | None
    last_signal_id: str | None
    #: The exchange of the run that got there (records written before it was kept have None).
    exchange_name: str | None = None


class EndedSignal(BaseModel):
    """A live signal that closed or was cancelled, as journalled before its open record was removed."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action: Literal["closed", "cancelled"]
    symbol: str
    strategy_name: str
    close_timestamp: int
    signal: SignalRow
    #: Whether the result was published; records written before the flag existed were.
    announced: bool = True


class LiveRequest(BaseModel):
    """A deferred close, cancel or activation asked for by the strategy (SPEC-position P11, P12)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None
    note: str | None
    #: Who asked for it; requests stored before the field existed were the strategy's.
    source: CommandSource = "strategy"
    #: A close the broker reported filled on the exchange (``commit_create_take_profit`` / ``_stop_loss``).
    filled: FilledReason | None = None

    @model_serializer(mode="wrap")
    def _plain_without_fill(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A plain request is stored as before the field existed.
        data = handler(self)
        if isinstance(data, dict) and data.get("filled") is None:
            data.pop("filled", None)
        return data


class LiveManagement(BaseModel):
    """What the commands left pending on the signal held, beyond its row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: str
    close_request: LiveRequest | None = None
    cancel_request: LiveRequest | None = None
    activate_request: LiveRequest | None = None
    #: ``on_breakeven`` runs once per signal (P10).
    breakeven_announced: bool = False


class LiveBrokerAttempts(BaseModel):
    """The broker's try counters of one signal: stored before each gate call (write-ahead) and after a failed check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: str
    #: An open the broker has not confirmed: its kind and row, tried again with the same id (None: nothing to open).
    open_kind: Literal["schedule", "active"] | None = None
    open_row: SignalRow | None = None
    #: Tries of the open gate started (for a waiting limit order: of its fill's gate).
    open_tries: int = 0
    #: Tries of the close gate started.
    close_tries: int = 0
    #: Checks failed in a row.
    check_failures: int = 0


class LivePause(BaseModel):
    """The pause flag of a live strategy (P13) and the tick it flipped at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    paused: bool
    at: int


class RiskPositions(RootModel[list[RiskPosition]]):
    """The persisted positions of one risk profile."""


class PersistedLiveSignal(BaseModel):
    """An open position or waiting limit order stored by a live run that is not running now."""

    model_config = ConfigDict(frozen=True)

    kind: LiveSignalKind
    signal: SignalRow


@dataclass(frozen=True, slots=True)
class StoredSession:
    """What a stopped run of a pair on one exchange left in the store: how far it got and what it holds."""

    reached: int | None
    open_position: bool
    limit_order: bool
    closes: int

    def describe(self) -> str:
        """Say what is stored in the trader's words: ``reached 2024-03-02 14:00 UTC, 3 closed trades, …``."""
        parts = [] if self.reached is None else [f"reached {from_ms(self.reached):%Y-%m-%d %H:%M} UTC"]
        parts.append(f"{self.closes} closed trade{'' if self.closes == 1 else 's'}")
        if self.open_position:
            parts.append("an open position")
        if self.limit_order:
            parts.append("a waiting limit order")
        return ", ".join(parts)


@dataclass(slots=True)
class RestoredState:
    """What a live strategy resumes from."""

    open_position: SignalRow | None = None
    limit_order: SignalRow | None = None
    progress: LiveProgress | None = None
    finished_close: SignalRow | None = None
    #: Ticks up to and including this one were evaluated before the restart and are not evaluated again.
    resume_after: int | None = None
    #: The requests and flags of the signal held (None: nothing pending, or nothing held).
    management: LiveManagement | None = None
    paused: bool = False
    #: The broker's try counters of the signal held or being opened (None: no broker, or nothing tried).
    broker: LiveBrokerAttempts | None = None


class LiveRecords:
    """Read and write the records of ``symbol:strategy_name`` through the current persistence adapters."""

    def __init__(self, symbol: str, strategy_name: str) -> None:
        self.key = f"{symbol}:{strategy_name}"
        self.symbol = symbol
        self.strategy_name = strategy_name
        self._signal = persist.adapter("signal")
        self._schedule = persist.adapter("schedule")
        self._closed = persist.adapter("closed")
        self._progress = persist.adapter("progress")
        self._management = persist.adapter("management")
        self._pause = persist.adapter("pause")
        self._broker = persist.adapter("broker")
        #: A broker sends the run's orders: its counters are stored, and forgotten with what they count.
        self.brokered = False

    async def restore(self, exchange_name: str) -> RestoredState:
        """Read the pair's records and apply the recovery rules of SPEC §15.4.

        Raises
        ------
        PersistedStateConflictError
            If a stored open position or limit order belongs to another exchange; nothing is changed.
        """
        open_position = await read_record(self._signal, self.key, SignalRow, entity="signal")
        limit_order = await read_record(self._schedule, self.key, SignalRow, entity="schedule")
        for kind, row in (("open position", open_position), ("limit order", limit_order)):
            if row is not None and row.exchange_name != exchange_name:
                raise PersistedStateConflictError(
                    f"persisted {kind} for {self.key} belongs to exchange "
                    f'"{row.exchange_name}", this run uses "{exchange_name}"'
                )
        state = RestoredState(open_position=open_position, limit_order=limit_order)
        if open_position is not None and limit_order is not None:
            logger.error(
                "%s: both an open position (%s) and a limit order (%s) are stored; keeping the position and "
                "moving the limit order aside",
                self.key,
                open_position.id,
                limit_order.id,
            )
            await _move_aside(self._schedule, self.key, limit_order, "an open position is stored for the same pair")
            state.limit_order = None
        ended = await self._ended_signals()
        for row in (state.open_position, state.limit_order):
            if row is not None and row.id in ended:
                # The end was journalled, then the process died before the record was removed: finish it.
                state.finished_close = row
                if row is state.open_position:
                    await self._signal.remove_value(self.key)
                    state.open_position = None
                else:
                    await self._schedule.remove_value(self.key)
                    state.limit_order = None
        state.progress = await read_record(self._progress, self.key, LiveProgress, entity="progress")
        marks = [ended_signal.close_timestamp for ended_signal in ended.values()]
        if state.progress is not None:
            marks.append(state.progress.last_tick)
        if state.open_position is not None and state.open_position.pending_at is not None:
            marks.append(state.open_position.pending_at)
        if state.limit_order is not None:
            marks.append(state.limit_order.scheduled_at)
        state.resume_after = max(marks) if marks else None
        management = await read_record(self._management, self.key, LiveManagement, entity="management")
        held = state.open_position or state.limit_order
        if management is not None and held is not None and management.signal_id == held.id:
            state.management = management
        pause = await read_record(self._pause, self.key, LivePause, entity="pause")
        if pause is not None:
            # A flip at a tick not held as evaluated is undone: that tick runs again and flips it again.
            kept = state.resume_after is not None and pause.at <= state.resume_after
            state.paused = pause.paused if kept else not pause.paused
        if self.brokered:
            state.broker = await self._restored_attempts(state)
        return state

    async def _restored_attempts(self, state: RestoredState) -> LiveBrokerAttempts | None:
        """Return the stored broker counters that still count: of the signal held, or of an open not confirmed.

        Through a restart only ``attempt >= 1`` matters ("an earlier try may have reached the exchange: look it up
        first"), so the tries started are at most 1, as in 19.5: yesterday's outage does not spend today's budget.
        """
        attempts = await read_record(self._broker, self.key, LiveBrokerAttempts, entity="broker")
        if attempts is None:
            return None
        held = state.open_position or state.limit_order
        if held is None:
            if attempts.open_row is None or attempts.signal_id in await self._ended_signals():
                return None
        elif held.id != attempts.signal_id:
            return None
        else:
            attempts = attempts.model_copy(update={"open_kind": None, "open_row": None})
        return attempts.model_copy(
            update={"open_tries": min(attempts.open_tries, 1), "close_tries": min(attempts.close_tries, 1)}
        )

    async def write_attempts(self, attempts: LiveBrokerAttempts) -> None:
        """Store the broker's try counters before the gate call they count (write-ahead)."""
        await self._broker.write_value(self.key, attempts.model_dump(mode="json"))

    async def forget_attempts(self) -> None:
        """Forget the broker's try counters (an open given up)."""
        await self._broker.remove_value(self.key)

    async def save_tick(
        self,
        progress: LiveProgress,
        held: tuple[LiveSignalKind, SignalRow] | None = None,
        management: LiveManagement | None = None,
    ) -> None:
        """Store an evaluated tick with what its commands changed (the signal held, its requests): one change."""
        change = Change().write("progress", self.key, progress.model_dump(mode="json"))
        if held is not None:
            kind, row = held
            change.write("signal" if kind == "open_position" else "schedule", self.key, row.model_dump(mode="json"))
        if management is not None:
            change.write("management", self.key, management.model_dump(mode="json"))
        await commit(change)

    async def write_pause(self, pause: LivePause) -> None:
        """Store a pause flip."""
        await self._pause.write_value(self.key, pause.model_dump(mode="json"))

    async def write_open_position(self, row: SignalRow, *, fills_limit_order: bool) -> None:
        """Store the open position; a fill removes its limit order and the order's requests in the same change."""
        change = Change().write("signal", self.key, row.model_dump(mode="json"))
        if fills_limit_order:
            change.remove("schedule", self.key).remove("management", self.key)
        if self.brokered:
            change.remove("broker", self.key)
        await commit(change)

    async def write_limit_order(self, row: SignalRow) -> None:
        """Store a new waiting limit order."""
        if self.brokered:
            await commit(Change().write("schedule", self.key, row.model_dump(mode="json")).remove("broker", self.key))
            return
        await self._schedule.write_value(self.key, row.model_dump(mode="json"))

    async def end(self, result: ClosedResult | CancelledResult) -> None:
        """Journal a close or cancel as not yet announced and remove the record it ends, in one change."""
        ended = "signal" if result.action == "closed" else "schedule"
        change = (
            Change()
            .write("closed", result.signal.id, {**result.model_dump(mode="json"), "announced": False})
            .remove(ended, self.key)
            .remove("management", self.key)
        )
        if self.brokered:
            change.remove("broker", self.key)
        await commit(change)

    async def mark_announced(self, result: ClosedResult | CancelledResult) -> None:
        """Record that ``result`` was published, so no later run announces it again.

        Call it right after publishing: a process killed in between announces the close again at its restart. The
        built-in storages therefore write on the calling thread, so that gap is a few statements long rather than
        a hop to the storage thread (milliseconds on a busy machine).
        """
        value = {**result.model_dump(mode="json"), "announced": True}
        write_now = getattr(self._closed, "write_value_now", None)
        if callable(write_now):
            write_now(result.signal.id, value)
        else:
            await self._closed.write_value(result.signal.id, value)

    async def unannounced(self) -> list[ClosedResult | CancelledResult]:
        """Return the pair's saved closes and cancels that were never published, oldest first."""
        found: list[ClosedResult | CancelledResult] = []
        for ended in await self.ended_signals():
            if ended.announced:
                continue
            raw = await self._closed.read_value(ended.signal.id)
            model = ClosedResult if ended.action == "closed" else CancelledResult
            found.append(model.model_validate(raw))
        return found

    async def stored_session(self, exchange_name: str) -> StoredSession | None:
        """Return what runs of the pair on ``exchange_name`` stored, or None when they stored nothing."""
        progress = await read_record(self._progress, self.key, LiveProgress, entity="progress")
        reached = None if progress is None or progress.exchange_name != exchange_name else progress.last_tick
        open_position = await self._own(self._signal, "signal", exchange_name)
        limit_order = await self._own(self._schedule, "schedule", exchange_name)
        closes = [ended for ended in await self.ended_signals() if ended.signal.exchange_name == exchange_name]
        if reached is None and open_position is None and limit_order is None and not closes:
            return None
        return StoredSession(
            reached=reached,
            open_position=open_position is not None,
            limit_order=limit_order is not None,
            closes=sum(ended.action == "closed" for ended in closes),
        )

    async def forget(self, exchange_name: str) -> None:
        """Forget, in one change, everything runs of the pair on ``exchange_name`` stored: start afresh."""
        change = Change()
        progress = await read_record(self._progress, self.key, LiveProgress, entity="progress")
        if progress is not None and progress.exchange_name == exchange_name:
            change.remove("progress", self.key).remove("pause", self.key)
            if await self._broker.has_value(self.key):
                change.remove("broker", self.key)
        for entity, adapter in (("signal", self._signal), ("schedule", self._schedule)):
            row = await self._own(adapter, entity, exchange_name)
            if row is not None:
                change.remove(entity, self.key).remove("partial", row.id).remove("management", self.key)
        for ended in await self.ended_signals():
            if ended.signal.exchange_name == exchange_name:
                change.remove("closed", ended.signal.id)
        await commit(change)

    async def _own(self, adapter: PersistAdapter, entity: str, exchange_name: str) -> SignalRow | None:
        row = await read_record(adapter, self.key, SignalRow, entity=entity)
        return row if row is not None and row.exchange_name == exchange_name else None

    async def write_progress(self, progress: LiveProgress) -> None:
        """Store how far the run has got."""
        await self._progress.write_value(self.key, progress.model_dump(mode="json"))

    async def ended_signals(self) -> list[EndedSignal]:
        """Return the pair's journalled closes and cancels, oldest first."""
        ended = await self._ended_signals()
        return sorted(ended.values(), key=lambda item: item.close_timestamp)

    async def _ended_signals(self) -> dict[str, EndedSignal]:
        ended: dict[str, EndedSignal] = {}
        for key in await self._closed.keys():
            if CORRUPT_MARK in key:
                continue
            record = await read_record(self._closed, key, EndedSignal, entity="closed")
            if record is not None and record.symbol == self.symbol and record.strategy_name == self.strategy_name:
                ended[key] = record
        return ended


async def _move_aside(adapter: PersistAdapter, key: str, row: SignalRow, reason: str) -> None:
    await adapter.write_value(f"{key}{CORRUPT_MARK}{corrupt_stamp()}", {"error": reason, "value": row.model_dump()})
    await adapter.remove_value(key)


def partial_store(
    signal_id: str,
) -> tuple[Callable[[], Awaitable[dict[str, Any] | None]], Callable[[dict[str, Any]], Awaitable[None]]]:
    """Return the load and save functions of a live signal's partial levels (entity ``partial``)."""
    adapter = persist.adapter("partial")

    async def load() -> dict[str, Any] | None:
        try:
            value: Any = await adapter.read_value(signal_id)
        except KeyError:
            return None
        return value if isinstance(value, dict) else None

    async def save(record: dict[str, Any]) -> None:
        await adapter.write_value(signal_id, record)

    return load, save


async def remove_partial_record(signal_id: str) -> None:
    """Forget the persisted levels of a closed live signal."""
    await persist.adapter("partial").remove_value(signal_id)


def risk_store(
    risk_name: str,
) -> tuple[Callable[[], Awaitable[list[RiskPosition] | None]], Callable[[list[RiskPosition]], Awaitable[None]]]:
    """Return the load and save functions of a live risk profile's positions (entity ``risk``)."""
    adapter = persist.adapter("risk")

    async def load() -> list[RiskPosition] | None:
        record = await read_record(adapter, risk_name, RiskPositions, entity="risk")
        return None if record is None else record.root

    async def save(positions: list[RiskPosition]) -> None:
        await adapter.write_value(risk_name, [position.model_dump(mode="json") for position in positions])

    return load, save


async def persisted_live_signals() -> list[PersistedLiveSignal]:
    """Return every stored open position and waiting limit order, positions first, each in key order."""
    found: list[PersistedLiveSignal] = []
    sources: tuple[tuple[str, LiveSignalKind], ...] = (("signal", "open_position"), ("schedule", "limit_order"))
    for entity, kind in sources:
        adapter = persist.adapter(entity)
        for key in await adapter.keys():
            if CORRUPT_MARK in key:
                continue
            row = await read_record(adapter, key, SignalRow, entity=entity)
            if row is not None:
                found.append(PersistedLiveSignal(kind=kind, signal=row))
    return found


async def unconfirmed_live_opens() -> list[SignalRow]:
    """Return the opens live runs' brokers were asked for and never confirmed (killed inside the open gate).

    Such a run keeps the signal's row in its ``broker`` record, not as an open position, and tries the open again
    with the same client order ids before anything else when it resumes: what the venue filled of it is the run's.
    A reconciliation at a restart counts them besides :func:`persisted_live_signals`. The row of a pair that stores
    a position or limit order, or of a signal that ended, is none.
    """
    stored = {key for entity in ("signal", "schedule") for key in await persist.adapter(entity).keys()}
    ended = set(await persist.adapter("closed").keys())
    adapter = persist.adapter("broker")
    found: list[SignalRow] = []
    for key in await adapter.keys():
        if CORRUPT_MARK in key or key in stored:
            continue
        attempts = await read_record(adapter, key, LiveBrokerAttempts, entity="broker")
        if attempts is not None and attempts.open_row is not None and attempts.signal_id not in ended:
            found.append(attempts.open_row)
    return found

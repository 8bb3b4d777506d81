"""``PositionManager``: the position commands of one strategy on one symbol (SPEC-position P2, P6–P13).

It holds the open position's or waiting order's :class:`PositionState`, the deferred close / cancel / activate
requests the engine acts on at the next candle or tick, the pause flag, and the commit events of the candle being
evaluated. The public commands (``workstation.commands``) find it through :data:`active_manager`, which the strategy
client sets around ``get_signal`` and every callback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from workstation.clients.position import PositionState
from workstation.config import Config
from workstation.models.events import CommitEvent, PauseEvent, logged_command
from workstation.models.fast import construct
from workstation.models.position import CommandSource, CommitAction, PositionCommand
from workstation.models.signal import SignalRow

if TYPE_CHECKING:
    from workstation.brokers.gates import ConfirmChange

#: Who is issuing position commands now: the trader while a manual command runs (``ws.Live.command``), else the
#: strategy. The commit events and deferred requests of those commands say so.
command_source: ContextVar[CommandSource] = ContextVar("command_source", default="strategy")


@dataclass(frozen=True, slots=True)
class Request:
    """A deferred close, cancel or activation asked for by the strategy or the trader: its id, note and source."""

    id: str | None
    note: str | None
    source: CommandSource = field(default_factory=command_source.get)
    #: A close the broker reported filled on the exchange: booked with this reason at the level, not sent again.
    filled: Literal["take_profit", "stop_loss"] | None = None


class _Queued(NamedTuple):
    """A commit event of the current candle, completed with the position's view when the candle ends."""

    action: CommitAction
    current_price: float
    when: int
    extra: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What :meth:`PositionManager.rollback` puts back: the signal held (a copy), the requests, the events queued."""

    state: PositionState | None
    requests: tuple[Request | None, Request | None, Request | None]
    queued: int


class PositionManager:
    """The managed state of one strategy on one symbol in one run; every command acts on it.

    ``price_at(when)`` returns the VWAP the commands book at when no candle loop has told :attr:`avg` (inside
    ``get_signal`` and the lifecycle callbacks).
    """

    def __init__(
        self,
        *,
        where: Mapping[str, Any],
        config: Config,
        price_at: Callable[[int], Awaitable[float]],
        emit: Callable[[str, Any], None],
    ) -> None:
        """``where``: the run's ``symbol``, ``strategy_name``, ``exchange_name``, ``frame_name`` and ``backtest``."""
        self.where = dict(where)
        self.symbol: str = where["symbol"]
        self.config = config
        self._price_at = price_at
        self._emit = emit
        #: The signal being managed: a waiting order or an open position (None when flat).
        self.state: PositionState | None = None
        self.close_request: Request | None = None
        self.cancel_request: Request | None = None
        self.activate_request: Request | None = None
        self.paused = False
        #: Live: stores a pause flip before anyone hears of it (SPEC §15.3 write-ahead); None in backtest.
        self.save_pause: Callable[[bool, int], Awaitable[None]] | None = None
        #: The strategy was stopped: an activation is ignored (a close or cancel still works).
        self.stopped = False
        #: Set by a command that changed the position or asked for a deferred action: the vectorised scan no
        #: longer knows the position and the engine walks candle by candle.
        self.touched = False
        #: The price commands book at (``get_average_price`` at the callback's time), when the candle loop knows it.
        self.avg: float | None = None
        self._queued: list[_Queued] = []
        #: Position commands that took effect so far: what the position's levels depend on changes only with it.
        self.changes = 0
        #: Live with a broker: confirms a position command before it changes the position (None: no broker).
        self.confirm: ConfirmChange | None = None
        #: Why the broker refused the last command it was asked to confirm, in words (None: it did not refuse one).
        self.broker_refusal: str | None = None
        #: A backtest's command log: while `commit_heard` says no one would receive a candle's commit events, `flush`
        #: hands it their commands instead of building the events (None: the events are always built and emitted).
        self.log_command: Callable[[PositionCommand], None] | None = None
        self.commit_heard: Callable[[], bool] = lambda: True

    @property
    def position(self) -> PositionState | None:
        """The open position the commands act on; None when flat, waiting, or once a close was requested (P11)."""
        state = self.state
        if state is None or not state.is_open or self.close_request is not None:
            return None
        return state

    @property
    def order(self) -> PositionState | None:
        """The waiting limit order; None once a cancel was requested (P12)."""
        state = self.state
        if state is None or state.is_open or self.cancel_request is not None:
            return None
        return state

    # ------------------------------------------------------------------ lifecycle (the engine)

    def start(self, state: PositionState) -> None:
        """Hold a new signal's state: a waiting order or an open position."""
        self.state = state
        self.close_request = self.cancel_request = self.activate_request = None
        self.touched = False
        self._queued.clear()

    def fill(self, timestamp: int) -> SignalRow:
        """Open the waiting order at ``timestamp`` (a fill or an activation); return its opened row."""
        state = self.state
        assert state is not None
        state.activate(timestamp)
        state.start_excursions(timestamp, self.config)
        self.activate_request = None
        return state.row

    def finish(self) -> None:
        """Forget the signal that ended: nothing is held any more."""
        self.state = None
        self.close_request = self.cancel_request = self.activate_request = None
        self._queued.clear()

    async def price(self, when: int) -> float:
        """Return the price a command issued at ``when`` books at: ``avg`` (SPEC-position P2)."""
        if self.avg is not None:
            return self.avg
        return await self._price_at(when)

    # ------------------------------------------------------------------ commands

    def request_close(self, request: Request) -> None:
        """Hand the open position to the deferred close (P11); it stops being the pending position at once."""
        if self.position is None:
            return
        self.close_request = request
        self.touched = True

    def request_cancel(self, request: Request) -> None:
        """Hand the waiting order to the deferred cancel (P12)."""
        if self.order is None:
            return
        self.cancel_request = request
        self.touched = True

    def request_activation(self, request: Request) -> None:
        """Ask for the waiting order to open at its limit price at the next candle (P12); ignored while stopped."""
        if self.order is None or self.stopped:
            return
        self.activate_request = request
        self.touched = True

    async def set_paused(self, paused: bool, when: int) -> None:
        """Pause or resume signal generation (P13); setting the current value again does nothing.

        A live flip is stored first (:attr:`save_pause`): a failed write leaves the flag as it was and raises.
        """
        if paused == self.paused:
            return
        if self.save_pause is not None:
            await self.save_pause(paused, when)
        self.paused = paused
        self._emit("pause", construct(PauseEvent, **self.where, paused=paused, timestamp=when, restored=False))

    def announce_restored_pause(self, when: int) -> None:
        """Tell listeners a restarted run's strategy is paused as it was stored (no flip: nothing is written)."""
        self._emit("pause", construct(PauseEvent, **self.where, paused=True, timestamp=when, restored=True))

    def queue(self, action: CommitAction, current_price: float, when: int, **extra: Any) -> None:
        """Queue a commit event of the current candle (P17); a position command changed the position."""
        self.touched = True
        self.changes += 1
        extra["source"] = command_source.get()
        self._queued.append(_Queued(action, current_price, when, extra))

    def checkpoint(self) -> Checkpoint:
        """Remember the signal held and its requests, for a change that may have to be undone (a failed write)."""
        state = self.state
        return Checkpoint(
            None if state is None else state.copy(),
            (self.close_request, self.cancel_request, self.activate_request),
            len(self._queued),
        )

    def rollback(self, checkpoint: Checkpoint) -> None:
        """Undo what the commands changed since ``checkpoint``, their queued events included."""
        self.state = checkpoint.state
        self.close_request, self.cancel_request, self.activate_request = checkpoint.requests
        del self._queued[checkpoint.queued :]

    def emit_now(
        self, action: CommitAction, state: PositionState, current_price: float, timestamp: int, **extra: Any
    ) -> None:
        """Emit the commit event of a deferred action the engine processes now (P17)."""
        self._emit("commit", self.event(action, state, current_price, timestamp, timestamp, **extra))

    @property
    def queued(self) -> bool:
        """Whether commit events of the current candle wait for `flush`."""
        return bool(self._queued)

    def flush(self, state: PositionState, timestamp: int) -> None:
        """Emit the queued commit events of a candle with the position as it is at the candle's end (P3 step 7)."""
        if not self._queued:
            return
        queued, self._queued = self._queued, []
        log = self.log_command
        if log is not None and not self.commit_heard():
            # What the event's command would read from its view: the view's fields but the PnL, as they are now.
            view = state.valuation(self.config).fields
            for item in queued:
                log(logged_command(view, item.action, timestamp, item.current_price, **item.extra))
            return
        for item in queued:
            self._emit("commit", self.event(item.action, state, item.current_price, timestamp, item.when, **item.extra))

    def event(
        self,
        action: CommitAction,
        state: PositionState,
        current_price: float,
        timestamp: int,
        when: int,
        **extra: Any,
    ) -> CommitEvent:
        """Build the commit event of ``action`` for ``state`` (its view and PnL at ``current_price``)."""
        view = state.view(current_price, self.config)
        fields: dict[str, Any] = dict.fromkeys(_OPTIONAL_FIELDS)
        fields.update(
            self.where,
            action=action,
            timestamp=timestamp,
            when=when,
            signal=view,
            # An open position's view holds its PnL at that price already; a waiting order's shows none.
            pnl=view.pnl if state.is_open else state.pnl(current_price, self.config),
            current_price=current_price,
            note=None,
            source="strategy",
        )
        fields.update(extra)
        return construct(CommitEvent, **fields)


_OPTIONAL_FIELDS = (
    "percent_to_close",
    "percent_shift",
    "cost",
    "effective_price_open",
    "close_id",
    "cancel_id",
    "activate_id",
)

#: The manager of the strategy whose ``get_signal`` or callback is running (None anywhere else).
active_manager: ContextVar[PositionManager | None] = ContextVar("active_manager", default=None)

"""The trader's commands on a live or paper position (issue 14): the request, its preview, its outcome, its queue.

A command is the strategy's own position command (``ws.commit_*``), asked for by hand: the run applies it between
its ticks at the clock's present (:class:`ManualQueue`), and a preview tries the very same command on a copy of the
position, so what the confirmation shows is what the command does.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from workstation import commands
from workstation.clients.position import PositionState, breakeven_threshold
from workstation.clients.position_manager import PositionManager, active_manager, command_source
from workstation.config import Config
from workstation.context import ExecutionContext, MethodContext, execution_context, method_context
from workstation.models.pnl import Pnl
from workstation.models.signal import SignalRow

if TYPE_CHECKING:
    from workstation.clients.live_strategy import LiveClientStrategy
    from workstation.clients.strategy import Result

ManualAction = Literal[
    "close", "close_part", "breakeven", "trail_stop", "trail_take", "add", "cancel", "fill", "pause", "resume"
]

#: The actions on an open position, and those on a waiting limit order.
POSITION_ACTIONS: Final = frozenset({"close", "close_part", "breakeven", "trail_stop", "trail_take", "add"})
ORDER_ACTIONS: Final = frozenset({"cancel", "fill"})

#: The argument each action needs (the others take none).
_NEEDS: Final[dict[str, str]] = {"close_part": "percent", "trail_stop": "price", "trail_take": "price", "add": "cost"}

#: The share "Close part…" offers first, when the desk asks whether the action can be asked for at all.
DEFAULT_CLOSE_PART_PERCENT: Final = 50.0


class ManualCommand(BaseModel):
    """One command of the trader on a live or paper run: the action and the one argument it needs.

    ``percent`` (close_part): the share of what is held to close, in % (0 < percent <= 100). ``price``
    (trail_stop / trail_take): the level's new price. ``cost`` (add): the dollars to add at the current price.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: ManualAction
    percent: float | None = Field(None, gt=0, le=100, allow_inf_nan=False, validate_default=True)
    price: float | None = Field(None, gt=0, allow_inf_nan=False, validate_default=True)
    cost: float | None = Field(None, gt=0, allow_inf_nan=False, validate_default=True)
    note: str | None = None

    @field_validator("percent", "price", "cost")
    @classmethod
    def _the_action_takes_it(cls, value: float | None, info: ValidationInfo) -> float | None:
        action = info.data.get("action")
        if action is None:
            return value
        field = info.field_name
        needed = _NEEDS.get(action) == field
        if needed and value is None:
            raise ValueError(f"{action} needs a {field}")
        if not needed and value is not None:
            raise ValueError(f"{action} takes no {field}, got {value!r}")
        return value


class ManualPreview(BaseModel):
    """What a command would do now, before anything happens (the confirmation dialog shows it)."""

    model_config = ConfigDict(frozen=True)

    action: ManualAction
    allowed: bool
    #: Why the run would refuse it, in words (None when allowed).
    reason: str | None
    #: The price the command books at now (the current average price).
    price: float
    #: The effective entry after the command (None when flat).
    price_open: float | None
    price_stop_loss: float | None
    price_take_profit: float | None
    #: The share of the position held after the command, 0..100 (None without an open position).
    percent_held: float | None
    #: The position's PnL in % at ``price`` after the command (None without an open position).
    pnl_percent: float | None
    #: Whether the command ends the position or the order (close, a close_part of all that is left, cancel).
    closes_position: bool


class ManualOutcome(BaseModel):
    """What the run did with a command."""

    model_config = ConfigDict(frozen=True)

    action: ManualAction
    applied: bool
    #: Why it was not applied, in words (None when applied).
    reason: str | None
    #: When the command was booked (epoch ms): the run clock's present, between two ticks.
    timestamp: int


# ---------------------------------------------------------------------------------------------------------------
# The run's queue
# ---------------------------------------------------------------------------------------------------------------


class ManualQueue:
    """The commands waiting for their run, and the last moment the run evaluated (a tick or a command).

    The run drains it between ticks, one command at a time; a command books after everything evaluated before it,
    so a tick time never repeats and the stored progress only moves forward.
    """

    def __init__(self) -> None:
        self._waiting: list[tuple[ManualCommand, asyncio.Future[ManualOutcome]]] = []
        #: The run's sleep, while it sleeps: a command ends it.
        self._sleeping: asyncio.Future[None] | None = None
        #: The last moment the run evaluated (epoch ms); None before its first tick.
        self.evaluated: int | None = None

    @property
    def pending(self) -> bool:
        """Whether a command waits for the run."""
        return bool(self._waiting)

    def next_moment(self, now: int) -> int:
        """Return the moment a command asked for at ``now`` books at: now, or just after the last evaluated one."""
        return now if self.evaluated is None else max(now, self.evaluated + 1)

    def submit(self, command: ManualCommand) -> asyncio.Future[ManualOutcome]:
        """Hand ``command`` to the run; the future is its outcome."""
        future: asyncio.Future[ManualOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((command, future))
        if self._sleeping is not None:
            self._sleeping.cancel()
        return future

    def take(self) -> tuple[ManualCommand, asyncio.Future[ManualOutcome]]:
        """Return the oldest waiting command."""
        return self._waiting.pop(0)

    async def sleep(self, sleep: Coroutine[Any, Any, None]) -> None:
        """Await ``sleep`` (the run clock's), ending it early when a command arrives.

        A command already waiting did not fit before the moment slept to (the next tick): it waits for that tick.
        """
        if self._waiting:
            await sleep
            return
        sleeping = self._sleeping = asyncio.ensure_future(sleep)
        try:
            await sleeping
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the run itself is cancelled, not just its sleep
        finally:
            self._sleeping = None

    def close(self, error: Exception) -> None:
        """Fail the commands still waiting with ``error``: their run has ended."""
        waiting, self._waiting = self._waiting, []
        for _, future in waiting:
            if not future.done():
                future.set_exception(error)


# ---------------------------------------------------------------------------------------------------------------
# The command, on the run's position or on a copy of it
# ---------------------------------------------------------------------------------------------------------------


async def perform(symbol: str, command: ManualCommand) -> str | None:
    """Issue ``command`` through the strategy's position commands; return None when done, else why not, in words.

    Runs where strategy code runs (the contexts of a tick set, :data:`active_manager` the position's manager).
    """
    manager = active_manager.get()
    execution = execution_context.get()
    assert manager is not None and execution is not None
    price = await manager.price(execution.when)
    unavailable = _unavailable(command, manager)
    if unavailable is not None:
        return unavailable
    # The commands' events and deferred requests say the trader issued them, not the strategy.
    source = command_source.set("trader")
    manager.broker_refusal = None
    try:
        accepted = await _dispatch(symbol, command, manager, price)
    finally:
        command_source.reset(source)
    if accepted:
        return None
    return manager.broker_refusal or _refusal(command, manager, price)


async def _dispatch(symbol: str, command: ManualCommand, manager: PositionManager, price: float) -> bool:
    """Call the ``ws.commit_*`` command of ``command``; return whether it was accepted."""
    action, note = command.action, command.note
    if action == "close":
        await commands.commit_close_pending(symbol, note=note)
        return manager.close_request is not None
    if action == "cancel":
        await commands.commit_cancel_scheduled(symbol, note=note)
        return manager.cancel_request is not None
    if action == "fill":
        await commands.commit_activate_scheduled(symbol, note=note)
        return manager.activate_request is not None
    if action in ("pause", "resume"):
        await commands.set_strategy_paused(symbol, action == "pause")
        return True
    if action == "close_part":
        assert command.percent is not None and manager.position is not None
        in_profit = manager.position.progress(price)[0] == "profit"
        close_part = commands.commit_partial_profit if in_profit else commands.commit_partial_loss
        return await close_part(symbol, command.percent)
    if action == "breakeven":
        return await commands.commit_breakeven(symbol)
    if action == "add":
        return await commands.commit_average_buy(symbol, command.cost)
    assert command.price is not None
    trail = commands.commit_trailing_stop_cost if action == "trail_stop" else commands.commit_trailing_take_cost
    return await trail(symbol, command.price)


def _unavailable(command: ManualCommand, manager: PositionManager) -> str | None:
    """Why ``command`` cannot be asked for in the state the run is in (None: it can)."""
    action = command.action
    state = manager.state
    if action in POSITION_ACTIONS:
        if state is None or not state.is_open:
            return "no open position"
        if manager.close_request is not None:
            return "the position is already being closed"
    elif action in ORDER_ACTIONS:
        if state is None or state.is_open:
            return "no waiting limit order"
        if manager.cancel_request is not None:
            return "the order is already being cancelled"
        if action == "fill" and manager.activate_request is not None:
            return "the order is already being filled"
        if action == "fill" and manager.stopped:
            return "the run is stopping: it fills no order"
    elif action == "pause" and manager.paused:
        return "already paused"
    elif action == "resume" and not manager.paused:
        return "not paused"
    return None


def _refusal(command: ManualCommand, manager: PositionManager, price: float) -> str:
    """Why the position's rules (SPEC-position P6-P10) refused ``command`` at ``price``, in the trader's words."""
    state = manager.position
    assert state is not None
    long = state.is_long
    effective = state.eff()
    stop, take = state.stop_loss, state.take_profit
    action = command.action
    if action == "close_part":
        if price == effective:
            return f"the price {_shown(price)} is at the entry: there is neither profit nor loss to take"
        in_profit = state.progress(price)[0] == "profit"
        if in_profit and ((price >= take) if long else (price <= take)):
            return f"the price {_shown(price)} is past the take profit {_shown(take)}"
        if not in_profit and ((price <= stop) if long else (price >= stop)):
            return f"the price {_shown(price)} is past the stop {_shown(stop)}"
        return f"only {_shown_percent(state.held_percent())} % of the position is left to close"
    if action == "breakeven":
        return _breakeven_refusal(state, price, manager.config)
    if action == "add":
        if long:
            lowest = min(entry.price for entry in state.entries)
            return f"an entry is added only below every entry: the price {_shown(price)} is not below {_shown(lowest)}"
        highest = max(entry.price for entry in state.entries)
        return f"an entry is added only above every entry: the price {_shown(price)} is not above {_shown(highest)}"
    assert command.price is not None
    if action == "trail_stop":
        return _level_refusal("stop", command.price, state.stop_loss_shift(command.price), price, state, below=long)
    return _level_refusal("take profit", command.price, state.take_profit_shift(command.price), price, state,
                          below=not long)  # fmt: skip


def _breakeven_refusal(state: PositionState, price: float, config: Config) -> str:
    effective, take = state.eff(), state.take_profit
    if (effective >= take) if state.is_long else (effective <= take):
        return f"the entry {_shown(effective)} is not short of the take profit {_shown(take)}"
    threshold = breakeven_threshold(config)
    if state.is_long:
        return f"breakeven not reached: the price must pass {_shown(effective * (1 + threshold / 100))}"
    return f"breakeven not reached: the price must fall below {_shown(effective * (1 - threshold / 100))}"


def _level_refusal(name: str, asked: float, shift: float, price: float, state: PositionState, *, below: bool) -> str:
    """Why a trailing move of the level ``name`` to ``asked`` was refused (P8, P9); ``below``: it lies below."""
    if shift == 0:
        return f"the {name} was set at {_shown(asked)}: a move there is no move"
    if not math.isfinite(shift) or not -100 <= shift <= 100:
        return f"the {name} cannot move by more than 100 % of the entry"
    side = "below" if below else "above"
    if (price < asked) if below else (price > asked):
        return f"the {name} must stay {side} the price {_shown(price)}"
    opposite = state.take_profit if name == "stop" else state.stop_loss
    other = "take profit" if name == "stop" else "stop"
    if (asked >= opposite) if below else (asked <= opposite):
        return f"the {name} must stay {side} the {other} {_shown(opposite)}"
    current = state.trailing_stop_loss if name == "stop" else state.trailing_take_profit
    closer = "above" if below else "below"
    return f"a trailed {name} only moves towards the price: it must be {closer} {_shown(current or asked)}"


def _shown(price: float) -> str:
    """Write a price as the trader reads it: thousands separated, cents (more digits below 1)."""
    return f"{price:,.2f}" if abs(price) >= 1 else f"{price:.8g}"


def _shown_percent(percent: float) -> str:
    return f"{percent:.4g}"


# ---------------------------------------------------------------------------------------------------------------
# Preview
# ---------------------------------------------------------------------------------------------------------------

#: How a run shows a position at a price: its row and PnL, as its results and a close at that price would.
Valued = Callable[[PositionState, float], tuple[SignalRow, Pnl]]


def rehearsal(manager: PositionManager, price: float) -> PositionManager:
    """Return a manager holding a copy of ``manager``'s position, requests and pause, booking at ``price``.

    A command issued on it shows what it would do to the real one, and nobody hears of it.
    """
    copy = PositionManager(where=manager.where, config=manager.config, price_at=_fixed(price), emit=_unheard)
    if manager.state is not None:
        copy.start(manager.state.copy())
    copy.close_request, copy.cancel_request = manager.close_request, manager.cancel_request
    copy.activate_request = manager.activate_request
    copy.paused, copy.stopped, copy.avg = manager.paused, manager.stopped, price
    return copy


def _fixed(price: float) -> Callable[[int], Awaitable[float]]:
    async def price_at(when: int) -> float:
        return price

    return price_at


def _unheard(kind: str, event: object) -> None:
    """Events of a rehearsal go nowhere."""


def preview_of(
    command: ManualCommand, reason: str | None, tried: PositionManager, price: float, when: int, valued: Valued
) -> ManualPreview:
    """Describe the position of ``tried`` after ``command`` was issued on it (refused: as it was)."""
    action = command.action
    closes = reason is None and (tried.close_request is not None or tried.cancel_request is not None)
    state = tried.state
    if reason is None and action == "fill":
        state = tried.state.copy() if tried.state is not None else None
        if state is not None:
            state.activate(when)
    if state is None:
        return ManualPreview(
            action=action, allowed=reason is None, reason=reason, price=price, price_open=None, price_stop_loss=None,
            price_take_profit=None, percent_held=None, pnl_percent=None, closes_position=closes,
        )  # fmt: skip
    if not state.is_open:
        row = state.row
        return ManualPreview(
            action=action, allowed=reason is None, reason=reason, price=price, price_open=row.price_open,
            price_stop_loss=row.price_stop_loss, price_take_profit=row.price_take_profit, percent_held=None,
            pnl_percent=None, closes_position=closes,
        )  # fmt: skip
    row, pnl = valued(state, price)
    held = 0.0 if closes and action == "close" else state.held_percent()
    return ManualPreview(
        action=action, allowed=reason is None, reason=reason, price=price, price_open=row.price_open,
        price_stop_loss=row.price_stop_loss, price_take_profit=row.price_take_profit, percent_held=held,
        pnl_percent=pnl.pnl_percentage, closes_position=closes,
    )  # fmt: skip


def default_command(action: ManualAction, manager: PositionManager) -> ManualCommand:
    """Return the command the desk offers first for ``action`` (for "can it be asked for at all")."""
    state = manager.state
    if action == "close_part":
        return ManualCommand(action=action, percent=DEFAULT_CLOSE_PART_PERCENT)
    if action == "add":
        return ManualCommand(action=action, cost=manager.config.position_entry_cost)
    if action in ("trail_stop", "trail_take"):
        level = 1.0 if state is None else state.stop_loss if action == "trail_stop" else state.take_profit
        return ManualCommand(action=action, price=level)
    return ManualCommand(action=action)


def manual_actions() -> tuple[ManualAction, ...]:
    """Every action, in the order the desk lists them."""
    return get_args(ManualAction)


# ---------------------------------------------------------------------------------------------------------------
# On a live run
# ---------------------------------------------------------------------------------------------------------------


async def preview_command(strategy: LiveClientStrategy, command: ManualCommand, when: int) -> ManualPreview:
    """Return what ``command`` would do to the position of ``strategy`` if the run booked it at ``when``."""
    price = await strategy.exchange.get_average_price(strategy.symbol, when, strategy.config)
    tried = rehearsal(strategy.manager, price)
    reason = await _rehearse(strategy, tried, command, when)
    return preview_of(command, reason, tried, price, when, strategy.valued)


async def refusals_of(strategy: LiveClientStrategy, when: int) -> dict[ManualAction, str | None]:
    """For each action with its first offered arguments, None when it can be asked for at ``when``, else why not.

    Trailing a level is asked at a price the trader picks: only the state decides whether it can be asked for.
    """
    price = await strategy.exchange.get_average_price(strategy.symbol, when, strategy.config)
    manager = strategy.manager
    found: dict[ManualAction, str | None] = {}
    for action in manual_actions():
        command = default_command(action, manager)
        if action in ("trail_stop", "trail_take"):
            found[action] = _unavailable(command, manager)
        else:
            found[action] = await _rehearse(strategy, rehearsal(manager, price), command, when)
    return found


async def _rehearse(
    strategy: LiveClientStrategy, tried: PositionManager, command: ManualCommand, when: int
) -> str | None:
    """Issue ``command`` on the rehearsal ``tried`` in the contexts strategy code runs in; return why refused."""
    method = method_context.set(MethodContext(strategy.strategy_name, strategy.exchange_name, "", strategy.config))
    execution = execution_context.set(ExecutionContext(strategy.symbol, when, False))
    manager = active_manager.set(tried)
    try:
        return await perform(strategy.symbol, command)
    finally:
        active_manager.reset(manager)
        execution_context.reset(execution)
        method_context.reset(method)


async def apply_command(
    strategy: LiveClientStrategy, command: ManualCommand, when: int
) -> tuple[ManualOutcome, Result | None]:
    """Apply ``command`` to the run's position at ``when`` (the run's own loop calls this between ticks).

    Returns the outcome and the result of the moment the run evaluated right after a close, cancel or fill.
    """
    refused: list[str] = []

    async def act() -> bool:
        reason = await perform(strategy.symbol, command)
        if reason is not None:
            refused.append(reason)
        return reason is None

    applied, result = await strategy.apply_manual(when, act)
    reason = refused[0] if refused else None
    return ManualOutcome(action=command.action, applied=applied, reason=reason, timestamp=when), result

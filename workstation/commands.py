"""Position commands and getters (SPEC-position P0, P6–P13, P16, P18): coroutines for strategy code.

They work inside ``get_signal`` and inside every strategy callback, on the position of the strategy whose code is
running; the position's state belongs to the run (runs never share one). A command refused for a business reason
returns ``False`` and changes nothing; outside a strategy's code every command raises ``ContextError``.

A live run with a broker asks it before a command changes the position (19.5: "if this method throws, the mutation
is skipped"): the command is tried on a copy, the broker is asked with the copy's figures, and only once it confirmed
is the position changed; a broker that fails makes the command return ``False`` and change nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from workstation.brokers.gates import ChangeKind, ProposedChange
from workstation.clients.position import PositionState
from workstation.clients.position_manager import PositionManager, Request, active_manager
from workstation.context import execution_context, method_context
from workstation.errors import ContextError

#: Builds a named tuple from its fields without the keyword handling of its generated ``__new__``.
_new_tuple = tuple.__new__


class _Call(NamedTuple):
    """The manager a command acts on and the time it was issued at (epoch ms).

    A named tuple: a managed strategy's callbacks make a command or getter call at most candles.
    """

    manager: PositionManager
    when: int


def _call(name: str, symbol: str) -> _Call | None:
    """Return the context of a command named ``name``; None when ``symbol`` is not the running strategy's symbol."""
    execution = execution_context.get()
    manager = active_manager.get()
    if execution is None or manager is None:
        raise ContextError(f"{name} requires an execution context")
    if method_context.get() is None:
        raise ContextError(f"{name} requires a method context")
    if symbol != manager.symbol:
        return None
    return _new_tuple(_Call, (manager, execution.when))


def _open(name: str, symbol: str) -> tuple[_Call, PositionState] | None:
    call = _call(name, symbol)
    if call is None:
        return None
    state = call.manager.position
    return None if state is None else (call, state)


def _held(name: str, symbol: str) -> tuple[_Call, PositionState]:
    """Return the open position a throwing getter reads (P16), or the P18 error."""
    found = _open(name, symbol)
    if found is None:
        manager = active_manager.get()
        assert manager is not None
        where = manager.where
        raise ContextError(
            f"{name} no pending signal for symbol={symbol} strategy_name={where['strategy_name']} "
            f"exchange_name={where['exchange_name']} frame_name={where['frame_name']}"
        )
    return found


# ---------------------------------------------------------------------------------------------------------------
# Commands changing the open position at once
# ---------------------------------------------------------------------------------------------------------------


async def _change(
    manager: PositionManager,
    state: PositionState,
    kind: ChangeKind,
    price: float,
    when: int,
    act: Callable[[PositionState], bool],
    details: Callable[[PositionState], tuple[float | None, float | None]] = lambda _: (None, None),
) -> bool:
    """Apply ``act`` to the position once the run's broker confirmed it; tell whether it was applied.

    Only with a broker (``manager.confirm``): without one a command applies ``act`` at once, without a coroutine.
    ``details`` gives the change's percent and money from the position it was tried on (a partial close's share).
    A change that leaves the position as it was (a breakeven already in place) is not sent to the broker.
    """
    confirm = manager.confirm
    assert confirm is not None
    trial = state.copy()
    if not act(trial):
        return False
    moved = (trial.entries, trial.partials, trial.trailing_stop_loss, trial.trailing_take_profit) != (
        state.entries,
        state.partials,
        state.trailing_stop_loss,
        state.trailing_take_profit,
    )
    if moved:
        percent, cost = details(trial)
        if not await confirm(ProposedChange(kind, state, trial, price, when, percent, cost)):
            return False
    # The command is a function of the position, the price and the time: it does to the position what it did to the
    # copy.
    return act(state)


def _partial_details(trial: PositionState) -> tuple[float | None, float | None]:
    closed = trial.partials[-1]
    return closed.percent, closed.cost_basis_at_close * closed.percent / 100


async def _partial(name: str, symbol: str, kind: str, amount: float, *, dollars: bool) -> bool:
    found = _open(name, symbol)
    if found is None:
        return False
    call, state = found
    # `PositionManager.price` without a coroutine when the candle loop told the price (a walk: most minutes).
    booked = call.manager.avg
    price = await call.manager.price(call.when) if booked is None else booked
    if kind == "profit":
        command = PositionState.partial_profit_cost if dollars else PositionState.partial_profit
    else:
        command = PositionState.partial_loss_cost if dollars else PositionState.partial_loss
    manager = call.manager
    when = call.when
    change: ChangeKind = "partial_profit" if kind == "profit" else "partial_loss"

    def act(target: PositionState) -> bool:
        return command(target, amount, price, when)

    if manager.confirm is None:
        applied = act(state)
    else:
        applied = await _change(manager, state, change, price, when, act, _partial_details)
    if not applied:
        return False
    manager.queue(
        "partial-profit" if kind == "profit" else "partial-loss",
        price,
        call.when,
        percent_to_close=state.partials[-1].percent,
    )
    if state.fully_closed():
        manager.request_close(Request(None, "full_partial_close"))
    return True


async def commit_partial_profit(symbol: str, percent: float) -> bool:
    """Close ``percent`` % of the remaining dollars in profit at the current price (P7)."""
    return await _partial("commit_partial_profit", symbol, "profit", percent, dollars=False)


async def commit_partial_profit_cost(symbol: str, dollars: float) -> bool:
    """Close ``dollars`` of the remaining position in profit at the current price (P7)."""
    return await _partial("commit_partial_profit_cost", symbol, "profit", dollars, dollars=True)


async def commit_partial_loss(symbol: str, percent: float) -> bool:
    """Close ``percent`` % of the remaining dollars in loss at the current price (P7)."""
    return await _partial("commit_partial_loss", symbol, "loss", percent, dollars=False)


async def commit_partial_loss_cost(symbol: str, dollars: float) -> bool:
    """Close ``dollars`` of the remaining position in loss at the current price (P7)."""
    return await _partial("commit_partial_loss_cost", symbol, "loss", dollars, dollars=True)


async def _trailing(name: str, symbol: str, level: str, shift: float, price: float | None) -> bool:
    """Move a level by ``shift`` points checked at ``price``; without ``price``, ``shift`` is the level's new price."""
    found = _open(name, symbol)
    if found is None:
        return False
    call, state = found
    if price is None:
        # The _cost variants: the shift that puts the level at the price asked, checked at the booking price.
        booked = call.manager.avg
        checked_at = await call.manager.price(call.when) if booked is None else booked
        shift = state.stop_loss_shift(shift) if level == "stop" else state.take_profit_shift(shift)
    else:
        checked_at = price
    command = PositionState.trailing_stop if level == "stop" else PositionState.trailing_take
    change: ChangeKind = "trailing_stop" if level == "stop" else "trailing_take"

    def act(target: PositionState) -> bool:
        return command(target, shift, checked_at)

    manager = call.manager
    if manager.confirm is None:
        applied = act(state)
    else:
        applied = await _change(manager, state, change, checked_at, call.when, act)
    if not applied:
        return False
    call.manager.queue(
        "trailing-stop" if level == "stop" else "trailing-take", checked_at, call.when, percent_shift=shift
    )
    return True


async def commit_trailing_stop(symbol: str, percent_shift: float, current_price: float) -> bool:
    """Move the stop by ``percent_shift`` points of the entry from its original distance (P8)."""
    return await _trailing("commit_trailing_stop", symbol, "stop", percent_shift, current_price)


async def commit_trailing_stop_cost(symbol: str, new_stop_loss_price: float) -> bool:
    """Move the stop to ``new_stop_loss_price`` (P8)."""
    return await _trailing("commit_trailing_stop_cost", symbol, "stop", new_stop_loss_price, None)


async def commit_trailing_take(symbol: str, percent_shift: float, current_price: float) -> bool:
    """Move the take profit by ``percent_shift`` points of the entry from its original distance (P9)."""
    return await _trailing("commit_trailing_take", symbol, "take", percent_shift, current_price)


async def commit_trailing_take_cost(symbol: str, new_take_profit_price: float) -> bool:
    """Move the take profit to ``new_take_profit_price`` (P9)."""
    return await _trailing("commit_trailing_take_cost", symbol, "take", new_take_profit_price, None)


async def commit_breakeven(symbol: str) -> bool:
    """Move the stop to the effective entry once the price covers the costs (P10)."""
    found = _open("commit_breakeven", symbol)
    if found is None:
        return False
    call, state = found
    manager = call.manager
    booked = manager.avg
    price = await manager.price(call.when) if booked is None else booked

    def act(target: PositionState) -> bool:
        return target.breakeven(price, manager.config)

    if manager.confirm is None:
        applied = act(state)
    else:
        applied = await _change(manager, state, "breakeven", price, call.when, act)
    if not applied:
        return False
    call.manager.queue("breakeven", price, call.when)
    return True


async def commit_average_buy(symbol: str, cost: float | None = None) -> bool:
    """Add an entry of ``cost`` dollars (default ``position_entry_cost``) at the current price (P6)."""
    found = _open("commit_average_buy", symbol)
    if found is None:
        return False
    call, state = found
    manager = call.manager
    booked = manager.avg
    price = await manager.price(call.when) if booked is None else booked
    amount = manager.config.position_entry_cost if cost is None else cost
    # 19.5 books any cost (P6); a NaN, infinite or non-positive one would corrupt the money held, so it is refused.
    if not (math.isfinite(amount) and amount > 0):
        return False
    when = call.when

    def act(target: PositionState) -> bool:
        return target.average_buy(price, amount, when)

    if manager.confirm is None:
        applied = act(state)
    else:
        applied = await _change(manager, state, "average_buy", price, when, act, lambda _: (None, amount))
    if not applied:
        return False
    manager.queue("average-buy", price, call.when, cost=amount, effective_price_open=state.eff())
    return True


# ---------------------------------------------------------------------------------------------------------------
# Deferred commands and the pause
# ---------------------------------------------------------------------------------------------------------------


async def commit_close_pending(symbol: str, id: str | None = None, note: str | None = None) -> None:
    """Close the open position at the next candle (backtest) or tick (live), reason ``closed`` (P11)."""
    call = _call("commit_close_pending", symbol)
    if call is not None:
        call.manager.request_close(Request(id, note))


async def commit_cancel_scheduled(symbol: str, id: str | None = None, note: str | None = None) -> None:
    """Cancel the waiting limit order at the next candle or tick, reason ``user`` (P12)."""
    call = _call("commit_cancel_scheduled", symbol)
    if call is not None:
        call.manager.request_cancel(Request(id, note))


async def commit_activate_scheduled(symbol: str, id: str | None = None, note: str | None = None) -> None:
    """Open the waiting limit order at its limit price at the next candle or tick (P12)."""
    call = _call("commit_activate_scheduled", symbol)
    if call is not None:
        call.manager.request_activation(Request(id, note))


async def _filled(
    name: str, symbol: str, reason: Literal["take_profit", "stop_loss"], id: str | None, note: str | None
) -> None:
    call = _call(name, symbol)
    if call is None:
        return
    manager = call.manager
    state = manager.state
    if state is None or not state.is_open:
        return
    request = manager.close_request
    # A fill on the exchange wins over a close asked for and not made yet: selling again would sell twice.
    if request is None or request.filled is None:
        manager.close_request = Request(id, note, filled=reason)
        manager.touched = True


async def commit_create_take_profit(symbol: str, id: str | None = None, note: str | None = None) -> None:
    """Report that the position's take profit order filled on the exchange: it closes at the next tick (19.5).

    The close has reason ``take_profit`` and books at the effective take profit; the broker is not asked to close
    again (the exchange already did). Nothing happens without an open position.
    """
    await _filled("commit_create_take_profit", symbol, "take_profit", id, note)


async def commit_create_stop_loss(symbol: str, id: str | None = None, note: str | None = None) -> None:
    """Report that the position's stop loss order filled on the exchange: it closes at the next tick (19.5).

    The close has reason ``stop_loss`` and books at the effective stop loss; the broker is not asked to close again
    (the exchange already did). Nothing happens without an open position.
    """
    await _filled("commit_create_stop_loss", symbol, "stop_loss", id, note)


async def set_strategy_paused(symbol: str, paused: bool) -> None:
    """Pause or resume signal generation (P13); an open position or waiting order is managed either way."""
    call = _call("set_strategy_paused", symbol)
    if call is not None:
        await call.manager.set_paused(paused, call.when)


async def get_strategy_paused(symbol: str) -> bool:
    """Tell whether signal generation is paused (P13)."""
    call = _call("get_strategy_paused", symbol)
    return call is not None and call.manager.paused


# ---------------------------------------------------------------------------------------------------------------
# Getters (P16)
# ---------------------------------------------------------------------------------------------------------------


async def get_total_percent_held(symbol: str) -> float | None:
    """Return the share of all invested dollars still held, in %; None when flat."""
    found = _open("get_total_percent_held", symbol)
    return None if found is None else found[1].held_percent()


async def get_remaining_cost_basis(symbol: str) -> float | None:
    """Return the dollars still held; None when flat."""
    found = _open("get_remaining_cost_basis", symbol)
    return None if found is None else found[1].remaining()


async def get_position_effective_price(symbol: str) -> float:
    """Return the effective entry price (P5)."""
    return _held("get_position_effective_price", symbol)[1].eff()


async def get_position_invested_count(symbol: str) -> int:
    """Return the number of entries."""
    return len(_held("get_position_invested_count", symbol)[1].entries)


async def get_position_invested_cost(symbol: str) -> float:
    """Return the dollars invested over all entries."""
    return _held("get_position_invested_cost", symbol)[1].invested()


async def get_position_pnl_percent(symbol: str) -> float:
    """Return the PnL in % if the position closed at the current price (P15)."""
    call, state = _held("get_position_pnl_percent", symbol)
    return state.pnl(await call.manager.price(call.when), call.manager.config).pnl_percentage


async def get_position_pnl_cost(symbol: str) -> float:
    """Return the PnL in dollars if the position closed at the current price (P15)."""
    call, state = _held("get_position_pnl_cost", symbol)
    return state.pnl(await call.manager.price(call.when), call.manager.config).pnl_cost


async def get_position_levels(symbol: str) -> list[float]:
    """Return the entry prices, first entry first."""
    return [entry.price for entry in _held("get_position_levels", symbol)[1].entries]


async def get_position_entries(symbol: str) -> list[dict[str, Any]] | None:
    """Return the entries as ``{price, cost, timestamp}`` records; None when flat."""
    found = _open("get_position_entries", symbol)
    return None if found is None else [entry.model_dump() for entry in found[1].entries]


async def get_position_partials(symbol: str) -> list[dict[str, Any]] | None:
    """Return the partial closes as records (``[]`` before the first); None when flat."""
    found = _open("get_position_partials", symbol)
    return None if found is None else [partial.model_dump() for partial in found[1].partials]


async def get_breakeven(symbol: str, current_price: float) -> bool:
    """Tell whether ``commit_breakeven`` would move the stop at ``current_price`` (P10); False when flat."""
    found = _open("get_breakeven", symbol)
    if found is None:
        return False
    call, state = found
    return state.get_breakeven(current_price, call.manager.config)


async def get_pending_signal(symbol: str) -> Any:
    """Return the open position's public view at the current price; None when flat."""
    found = _open("get_pending_signal", symbol)
    if found is None:
        return None
    call, state = found
    return state.view(await call.manager.price(call.when), call.manager.config)

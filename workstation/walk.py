"""A walk as the window asks for it, made runnable.

``prepare_walk`` registers what ``Walker.run`` needs::

    prepared = await ws.prepare_walk(request, ["sma-cross-market", "breakout"])
    async for contract in ws.Walker.run(prepared.symbol, walker_name=prepared.walker_name): ...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workstation.account.settings import AccountSettings
from workstation.backtest_request import prepare_backtest
from workstation.registry import add_walker, list_walkers
from workstation.run_requests import WalkerRequest, comparison_backtest


@dataclass(frozen=True)
class PreparedWalk:
    """A registered walker: the symbol to walk and the walker's name, and the strategies as registered."""

    symbol: str
    walker_name: str
    strategy_names: tuple[str, ...]


async def prepare_walk(request: WalkerRequest, strategies: Sequence[str]) -> PreparedWalk:
    """Register the exchange, the strategies and the frame of a walk, then a walker over them, named ``compare-N``.

    Each strategy is prepared as its backtest would be (`prepare_backtest` with the current config's costs), so a
    built-in strategy, a stored exchange or a period that does not fit the candles behave as in a backtest.

    Parameters
    ----------
    request
        The exchange, symbol, period and metric.
    strategies
        The strategies to compare, in the order they run.

    Raises
    ------
    ValueError
        If no strategy is given.
    PreparationError
        If the period does not fit the candles (named by the request's field).
    """
    if not strategies:
        raise ValueError("strategies: tick at least one strategy to compare")
    exchange_name = frame_name = ""
    names: list[str] = []
    for strategy_name in strategies:
        prepared = await prepare_backtest(comparison_backtest(request, strategy_name))
        exchange_name, frame_name = prepared.exchange_name, prepared.frame_name
        names.append(prepared.strategy_name)
    walker = add_walker(
        walker_name=_free_name("compare", {schema.walker_name for schema in list_walkers()}),
        exchange_name=exchange_name,
        frame_name=frame_name,
        strategies=names,
        metric=request.metric,
        account=AccountSettings(starting_balance=request.starting_balance, sizing=request.sizing),
    )
    return PreparedWalk(request.symbol, walker.walker_name, tuple(names))


def _free_name(prefix: str, taken: set[str]) -> str:
    number = len(taken) + 1
    while f"{prefix}-{number}" in taken:
        number += 1
    return f"{prefix}-{number}"

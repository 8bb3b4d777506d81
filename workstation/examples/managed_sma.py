"""Managed SMA crossover: the crossover's entries, each position then managed from the strategy callbacks.

The entries are `sma_cross`'s (market or limit). While a position is open the strategy manages it minute by minute,
with the rules of backtest-kit's ``managed`` parity strategy (the peer's ``run_peer.mjs``, SPEC-position), every
threshold a parameter:

* **Flat for too long** (``flat_close_after`` minutes and still within ``flat_band`` % of the entry): close it.
* **Breakeven**: once the price has moved ``breakeven_from_move`` % the right way, move the stop to the entry (tried
  again every minute until it takes: the command books at the previous minute's price).
* **Trailing stop**: from a ``trail_from_move`` % move, tighten the stop by ``trail_shift_per_step`` points of the
  entry for every ``trail_step`` % of move (a short asks for a stop at ``short_trail_stop_factor`` × the price).
* **Tighter take profit**: a position ``tighten_take_after`` minutes old, in profit but less than
  ``tighten_take_below_move`` %, brings its take profit ``tighten_take_shift`` points closer, once (a short asks for
  ``short_take_profit_factor`` × the entry).
* **Take profit in two steps**: at ``first_take_at`` % of the way to the take profit close ``first_take_percent`` % of
  what is held, then at ``second_take_at`` % another ``second_take_percent`` % (a short closes ``first_take_dollars``
  and ``second_take_dollars`` dollars).
* **Losing**: at ``average_in_at`` % of the way to the stop add ``average_in_cost_long`` (short:
  ``average_in_cost_short``) dollars, once; at ``cut_loss_at`` % close ``cut_loss_percent`` % (short:
  ``cut_loss_dollars`` dollars), once.
* **Waiting limit order**: cancel it after ``cancel_order_after`` minutes; after ``fill_order_after`` minutes, fill it
  at its price when the market is within ``fill_order_within`` % of it.
* **After a bad trade**: a loss worse than ``pause_below_pnl`` % pauses the strategy for ``pause_minutes`` minutes.

Longs use the percent commands, shorts the dollar and price (``_cost``) ones, so the strategy shows both. Every
expression keeps the peer's operation order: its runs match backtest-kit 19.5 bit for bit (``workstation.parity``).

    >>> import workstation as ws
    >>> from workstation.examples.managed_sma import make_strategy
    >>> ws.add_strategy(make_strategy({"variant": "limit", "first_take_percent": 50.0}))  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import Field

import workstation as ws
from workstation.examples.params import StrategyFactory
from workstation.examples.sma_cross import SmaCrossParams, SmaCrossSignal, sma_indicators
from workstation.models.signal import SignalRow
from workstation.schemas.strategy import StrategyCallbacks, StrategySchema
from workstation.timeutil import MINUTE_MS, to_ms


class ManagedSmaParams(SmaCrossParams):
    """The crossover's parameters and the management thresholds; the defaults are the peer's (its ``MP``).

    Moves are in % of the effective entry; progress towards the take profit or the stop loss is in % of the way.
    """

    first_take_at: float = Field(
        30.0, gt=0, le=100, title="First partial take at (%)", description="Progress towards the take profit."
    )
    first_take_percent: float = Field(
        40.0, gt=0, le=100, title="First partial take (%)", description="Share of what is held a long closes."
    )
    first_take_dollars: float = Field(40.0, gt=0, title="First partial take ($)", description="Dollars a short closes.")
    second_take_at: float = Field(
        60.0, gt=0, le=100, title="Second partial take at (%)", description="Progress towards the take profit."
    )
    second_take_percent: float = Field(
        30.0, gt=0, le=100, title="Second partial take (%)", description="Share of what is held a long closes."
    )
    second_take_dollars: float = Field(
        60.0, gt=0, title="Second partial take ($)", description="Dollars a short closes."
    )
    average_in_at: float = Field(
        40.0, gt=0, le=100, title="Average in at (%)", description="Progress towards the stop loss."
    )
    average_in_cost_long: float = Field(100.0, gt=0, title="Long average-in ($)", description="Dollars a long adds.")
    average_in_cost_short: float = Field(50.0, gt=0, title="Short average-in ($)", description="Dollars a short adds.")
    cut_loss_at: float = Field(
        70.0, gt=0, le=100, title="Cut the loss at (%)", description="Progress towards the stop loss."
    )
    cut_loss_percent: float = Field(
        50.0, gt=0, le=100, title="Loss cut (%)", description="Share of what is held a long closes at a loss."
    )
    cut_loss_dollars: float = Field(60.0, gt=0, title="Loss cut ($)", description="Dollars a short closes at a loss.")
    trail_from_move: float = Field(
        0.4, gt=0, title="Trail from (% move)", description="The stop trails once the price moved this far."
    )
    trail_step: float = Field(0.1, gt=0, title="Trail step (% move)", description="Each step of move tightens more.")
    trail_shift_per_step: float = Field(
        -0.15,
        ge=-100,
        lt=0,
        title="Trail per step (points)",
        description="Stop shift per step, in points of the entry (negative: tighter).",
    )
    short_trail_stop_factor: float = Field(
        1.005, gt=1, title="Short trailing stop (× price)", description="A short's trailing stop, times the price."
    )
    breakeven_from_move: float = Field(
        0.6, gt=0, title="Breakeven from (% move)", description="The stop moves to the entry once past this move."
    )
    tighten_take_after: int = Field(
        90, ge=0, title="Tighten take after (minutes)", description="Age of a position whose take profit comes closer."
    )
    tighten_take_below_move: float = Field(
        0.5, gt=0, title="Tighten take below (% move)", description="Only while the profit is below this move."
    )
    tighten_take_shift: float = Field(
        -0.3,
        ge=-100,
        lt=0,
        title="Take shift (points)",
        description="Take profit shift, in points of the entry (negative: closer).",
    )
    short_take_profit_factor: float = Field(
        0.994,
        gt=0,
        lt=1,
        title="Short tighter take (× entry)",
        description="A short's tighter take profit, times the entry.",
    )
    flat_close_after: int = Field(
        150, ge=0, title="Close flat after (minutes)", description="Age of a position closed when it goes nowhere."
    )
    flat_band: float = Field(
        0.1, gt=0, title="Flat band (% move)", description="A position within this move of its entry is flat."
    )
    cancel_order_after: int = Field(
        90, ge=0, title="Cancel order after (minutes)", description="A waiting limit order is cancelled this old."
    )
    fill_order_after: int = Field(
        15, ge=0, title="Fill order after (minutes)", description="A waiting limit order this old may be filled early."
    )
    fill_order_within: float = Field(
        0.15, gt=0, title="Fill order within (%)", description="It is filled when the price comes this close to it."
    )
    pause_below_pnl: float = Field(
        -1.0, lt=0, title="Pause below PnL (%)", description="A trade closing worse than this pauses the strategy."
    )
    pause_minutes: int = Field(30, ge=1, title="Pause (minutes)", description="How long the pause lasts.")


class PositionCommands(Protocol):
    """The commands the strategy issues, as ``workstation`` offers them; a recorder may stand in for them."""

    async def commit_partial_profit(self, symbol: str, percent: float) -> bool:
        """`workstation.commit_partial_profit`."""

    async def commit_partial_profit_cost(self, symbol: str, dollars: float) -> bool:
        """`workstation.commit_partial_profit_cost`."""

    async def commit_partial_loss(self, symbol: str, percent: float) -> bool:
        """`workstation.commit_partial_loss`."""

    async def commit_partial_loss_cost(self, symbol: str, dollars: float) -> bool:
        """`workstation.commit_partial_loss_cost`."""

    async def commit_trailing_stop(self, symbol: str, percent_shift: float, current_price: float) -> bool:
        """`workstation.commit_trailing_stop`."""

    async def commit_trailing_stop_cost(self, symbol: str, new_stop_loss_price: float) -> bool:
        """`workstation.commit_trailing_stop_cost`."""

    async def commit_trailing_take(self, symbol: str, percent_shift: float, current_price: float) -> bool:
        """`workstation.commit_trailing_take`."""

    async def commit_trailing_take_cost(self, symbol: str, new_take_profit_price: float) -> bool:
        """`workstation.commit_trailing_take_cost`."""

    async def commit_breakeven(self, symbol: str) -> bool:
        """`workstation.commit_breakeven`."""

    async def commit_average_buy(self, symbol: str, cost: float | None = None) -> bool:
        """`workstation.commit_average_buy`."""

    async def commit_close_pending(self, symbol: str, id: str | None = None, note: str | None = None) -> None:
        """`workstation.commit_close_pending`."""

    async def commit_cancel_scheduled(self, symbol: str, id: str | None = None, note: str | None = None) -> None:
        """`workstation.commit_cancel_scheduled`."""

    async def commit_activate_scheduled(self, symbol: str, id: str | None = None, note: str | None = None) -> None:
        """`workstation.commit_activate_scheduled`."""

    async def set_strategy_paused(self, symbol: str, paused: bool) -> None:
        """`workstation.set_strategy_paused`."""

    async def get_strategy_paused(self, symbol: str) -> bool:
        """`workstation.get_strategy_paused`."""


@dataclass(slots=True)
class PositionPlan:
    """What the strategy has done to one signal so far: the one-off moves made and the requests sent."""

    first_take_done: bool = False
    second_take_done: bool = False
    averaged_in: bool = False
    loss_cut: bool = False
    at_breakeven: bool = False
    take_tightened: bool = False
    close_requested: bool = False
    cancel_requested: bool = False
    fill_requested: bool = False


class ManagedSma:
    """One managed-sma strategy: its callbacks and the plan of each signal it manages.

    The plans belong to this object, one per (symbol, signal) from the signal's first callback to its close or
    cancel; `make_strategy` builds a new object for each strategy.

    Parameters
    ----------
    params
        The validated parameters.
    """

    #: The coroutines the commands are issued through: `workstation` itself, unless a recorder stands in for them
    #: (``workstation.parity`` logs every command of the peer's managed runs this way).
    commands: PositionCommands = ws

    def __init__(self, params: ManagedSmaParams) -> None:
        self.params = params
        self.signal_id_prefix = "managed" if params.variant == "market" else "managed-limit"
        self._plans: dict[tuple[str, str], PositionPlan] = {}
        self._paused_at: dict[str, int] = {}
        self._moment: tuple[datetime, int] | None = None

    def schema(self) -> StrategySchema:
        """Return the strategy: the crossover's entries, managed by this object's callbacks."""
        p = self.params
        return StrategySchema(
            strategy_name="managed-sma" if p.variant == "market" else "managed-sma-limit",
            interval=p.interval,
            get_signal=SmaCrossSignal(p, self.signal_id_prefix),
            callbacks=StrategyCallbacks(
                on_active_ping=self.on_active_ping,
                on_schedule_ping=self.on_schedule_ping,
                on_partial_profit=self.on_partial_profit,
                on_partial_loss=self.on_partial_loss,
                on_breakeven=self.on_breakeven,
                on_close=self.on_close,
                on_cancel=self.on_cancel,
                on_idle=self.on_idle,
            ),
            note=f"SMA {p.fast}/{p.slow} crossover ({p.variant} entries), managed",
            indicators=sma_indicators(p),
        )

    def plan(self, symbol: str, signal: SignalRow) -> PositionPlan:
        """Return the plan of ``signal``, new on its first callback."""
        key = (symbol, signal.id)
        plan = self._plans.get(key)  # not setdefault: that builds a plan on each of the callbacks of every minute
        if plan is None:
            plan = self._plans[key] = PositionPlan()
        return plan

    def _managed_plan(self, symbol: str, signal: SignalRow) -> PositionPlan | None:
        """Return the plan of ``signal`` while the strategy manages it: None once it asked to close the position."""
        plan = self.plan(symbol, signal)
        return None if plan.close_requested else plan

    def _ms(self, when: datetime) -> int:
        # The callbacks of one minute share its datetime: converted once.
        moment = self._moment
        if moment is None or moment[0] is not when:
            moment = self._moment = (when, to_ms(when))
        return moment[1]

    async def on_active_ping(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Every minute of an open position: close it when flat, breakeven, trailing stop, tighter take profit."""
        plan = self._managed_plan(symbol, signal)
        if plan is None:
            return
        p, commands, price = self.params, self.commands, current_price
        assert signal.pending_at is not None  # an open position
        age = (self._ms(when) - signal.pending_at) / MINUTE_MS
        long = signal.position == "long"
        entry = signal.price_open  # the effective entry, after averaging in
        move = (price - entry) / entry * 100 if long else (entry - price) / entry * 100
        if age >= p.flat_close_after and abs(move) < p.flat_band:
            plan.close_requested = True
            await commands.commit_close_pending(symbol, id=f"close-{signal.id}", note="flat")
            return
        if not plan.at_breakeven and move >= p.breakeven_from_move:
            plan.at_breakeven = await commands.commit_breakeven(symbol)
        if move >= p.trail_from_move:
            if long:
                await commands.commit_trailing_stop(
                    symbol, p.trail_shift_per_step * math.floor(move / p.trail_step), price
                )
            else:
                await commands.commit_trailing_stop_cost(symbol, price * p.short_trail_stop_factor)
        if not plan.take_tightened and age >= p.tighten_take_after and move > 0 and move < p.tighten_take_below_move:
            if long:
                plan.take_tightened = await commands.commit_trailing_take(symbol, p.tighten_take_shift, price)
            else:
                plan.take_tightened = await commands.commit_trailing_take_cost(
                    symbol, entry * p.short_take_profit_factor
                )

    async def on_breakeven(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Try the breakeven as soon as the price covers the costs (it usually takes at the next minute's ping)."""
        plan = self._managed_plan(symbol, signal)
        if plan is None or plan.at_breakeven:
            return
        plan.at_breakeven = await self.commands.commit_breakeven(symbol)

    async def on_partial_profit(
        self, symbol: str, signal: SignalRow, percent: float, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """In profit, ``percent`` of the way to the take profit: take part of it, in two steps."""
        plan = self._managed_plan(symbol, signal)
        if plan is None:
            return
        p, long = self.params, signal.position == "long"
        if not plan.first_take_done:
            if percent >= p.first_take_at:
                plan.first_take_done = await self._take_part(symbol, long, p.first_take_percent, p.first_take_dollars)
        elif not plan.second_take_done and percent >= p.second_take_at:
            plan.second_take_done = await self._take_part(symbol, long, p.second_take_percent, p.second_take_dollars)

    async def _take_part(self, symbol: str, long: bool, percent: float, dollars: float) -> bool:
        """Close ``percent`` % of what a long holds, ``dollars`` dollars of a short, at a profit."""
        if long:
            return await self.commands.commit_partial_profit(symbol, percent)
        return await self.commands.commit_partial_profit_cost(symbol, dollars)

    async def on_partial_loss(
        self, symbol: str, signal: SignalRow, percent: float, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """In loss, ``percent`` of the way to the stop loss: average in once, then cut part of the loss once."""
        plan = self._managed_plan(symbol, signal)
        if plan is None:
            return
        p, commands, long = self.params, self.commands, signal.position == "long"
        if not plan.averaged_in and percent >= p.average_in_at:
            cost = p.average_in_cost_long if long else p.average_in_cost_short
            plan.averaged_in = await commands.commit_average_buy(symbol, cost)
        if not plan.loss_cut and percent >= p.cut_loss_at:
            if long:
                plan.loss_cut = await commands.commit_partial_loss(symbol, p.cut_loss_percent)
            else:
                plan.loss_cut = await commands.commit_partial_loss_cost(symbol, p.cut_loss_dollars)

    async def on_schedule_ping(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Every minute of a waiting limit order: cancel it when stale, fill it when the price came close."""
        plan = self.plan(symbol, signal)
        if plan.cancel_requested or plan.fill_requested:
            return
        p, price = self.params, current_price
        age = (self._ms(when) - signal.scheduled_at) / MINUTE_MS
        if age >= p.cancel_order_after:
            plan.cancel_requested = True
            await self.commands.commit_cancel_scheduled(symbol, id=f"cancel-{signal.id}", note="stale")
            return
        if age >= p.fill_order_after and abs(price - signal.price_open) / signal.price_open * 100 < p.fill_order_within:
            plan.fill_requested = True
            await self.commands.commit_activate_scheduled(symbol, id=f"activate-{signal.id}", note="near")

    async def on_close(
        self, symbol: str, signal: SignalRow, price_close: float, when: datetime, backtest: bool
    ) -> None:
        """After a loss worse than ``pause_below_pnl`` %, pause the strategy."""
        self._plans.pop((symbol, signal.id), None)
        pnl = signal.pnl
        if pnl is not None and pnl.pnl_percentage < self.params.pause_below_pnl:
            await self.commands.set_strategy_paused(symbol, True)
            self._paused_at[symbol] = to_ms(when)

    async def on_cancel(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        """Forget the plan of a cancelled limit order."""
        self._plans.pop((symbol, signal.id), None)

    async def on_idle(self, symbol: str, current_price: float, when: datetime, backtest: bool) -> None:
        """Resume ``pause_minutes`` after the pause."""
        paused_at = self._paused_at.get(symbol)
        if paused_at is not None and self._ms(when) - paused_at >= self.params.pause_minutes * MINUTE_MS:
            del self._paused_at[symbol]
            if await self.commands.get_strategy_paused(symbol):
                await self.commands.set_strategy_paused(symbol, False)


def _build(params: ManagedSmaParams) -> StrategySchema:
    """Build ``managed-sma`` (market entries) or ``managed-sma-limit`` from a dict of `ManagedSmaParams` fields."""
    return ManagedSma(params).schema()


#: ``make_strategy(params)``: any subset of the `ManagedSmaParams` fields (None keeps the defaults) -> the strategy.
make_strategy = StrategyFactory(ManagedSmaParams, _build, "managed_sma")

"""The built-in ``managed-sma`` strategy for runs that restart: nothing kept only in its memory.

The strategy remembers per signal which one-off moves it made (the first and second partial profit, the average
buy, the partial loss, the tighter take profit) and when it paused. A restarted process has forgotten that, so this
variant reads the one-offs back from the position it is shown (its partial closes, entries and take profit) and
resumes a pause on the next half hour. The reference run and the restarted runs use the same rules.
"""

from __future__ import annotations

from datetime import datetime

import workstation as ws
from workstation.examples.managed_sma import ManagedSma, ManagedSmaParams, PositionPlan
from workstation.models.signal import SignalRow


class RestartSafeManagedSma(ManagedSma):
    """``ManagedSma`` whose one-off moves are read from the position (see the module docstring)."""

    def plan(self, symbol: str, signal: SignalRow) -> PositionPlan:
        """Return the plan of ``signal`` with its one-off moves as its view shows them."""
        plan = super().plan(symbol, signal)
        profits = sum(partial.type == "profit" for partial in signal.partials)
        plan.first_take_done, plan.second_take_done = profits >= 1, profits >= 2
        plan.loss_cut = any(partial.type == "loss" for partial in signal.partials)
        plan.averaged_in = len(signal.entries) > 1
        plan.take_tightened = signal.price_take_profit != signal.original_price_take_profit
        return plan

    async def on_idle(self, symbol: str, current_price: float, when: datetime, backtest: bool) -> None:
        """Resume a pause on the half hour."""
        if when.minute % 30 == 0 and await ws.get_strategy_paused(symbol):
            await ws.set_strategy_paused(symbol, False)


def add_managed_strategy(strategy_name: str) -> RestartSafeManagedSma:
    """Register the SMA-cross market entries managed by :class:`RestartSafeManagedSma` as ``strategy_name``."""
    strategy = RestartSafeManagedSma(ManagedSmaParams(variant="market"))
    ws.add_strategy(strategy.schema().model_copy(update={"strategy_name": strategy_name}))
    return strategy

"""The peer's managed strategy for runs that restart: ``ManagedHarness`` keeping nothing only in its memory.

The harness remembers per signal which one-off commands it issued (the first and second partial profit, the average
buy, the partial loss, the trailing take) and when it paused. A restarted process has forgotten that, so this
variant reads the one-offs back from the position it is shown (its partial closes, entries and take profit) and
resumes a pause on the next half hour. The reference run and the restarted runs use the same rules.
"""

from __future__ import annotations

from datetime import datetime

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.models.signal import SignalRow
from workstation.parity import ManagedHarness


class RestartSafeHarness(ManagedHarness):
    """``ManagedHarness`` whose per-signal flags are read from the position (see the module docstring)."""

    def recall(self, signal: SignalRow) -> None:
        """Set the one-off flags of ``signal`` from what its view shows was done."""
        management = self.management(signal.id)
        profits = sum(partial.type == "profit" for partial in signal.partials)
        management.pp1, management.pp2 = profits >= 1, profits >= 2
        management.pl = any(partial.type == "loss" for partial in signal.partials)
        management.dca = len(signal.entries) > 1
        management.tt = signal.price_take_profit != signal.original_price_take_profit

    async def on_active_ping(
        self, symbol: str, signal: SignalRow, current_price: float, when: datetime, backtest: bool
    ) -> None:
        self.recall(signal)
        await super().on_active_ping(symbol, signal, current_price, when, backtest)

    async def on_partial_profit(
        self, symbol: str, signal: SignalRow, percent: float, current_price: float, when: datetime, backtest: bool
    ) -> None:
        self.recall(signal)
        await super().on_partial_profit(symbol, signal, percent, current_price, when, backtest)

    async def on_partial_loss(
        self, symbol: str, signal: SignalRow, percent: float, current_price: float, when: datetime, backtest: bool
    ) -> None:
        self.recall(signal)
        await super().on_partial_loss(symbol, signal, percent, current_price, when, backtest)

    async def on_idle(self, symbol: str, current_price: float, when: datetime, backtest: bool) -> None:
        """Resume a pause on the half hour."""
        self.callbacks["onIdle"] += 1
        if when.minute % 30 == 0 and await ws.get_strategy_paused(symbol):
            await ws.set_strategy_paused(symbol, False)
            self.resumes += 1


def add_managed_strategy(strategy_name: str) -> RestartSafeHarness:
    """Register the SMA-cross market entries managed by :class:`RestartSafeHarness` as ``strategy_name``."""
    schema = make_strategy({"variant": "market"})
    harness = RestartSafeHarness("managed", schema.get_signal)
    ws.add_strategy(
        schema.model_copy(
            update={
                "strategy_name": strategy_name,
                "get_signal": harness.get_signal,
                "callbacks": harness.strategy_callbacks(),
            }
        )
    )
    return harness

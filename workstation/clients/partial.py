"""``ClientPartial``: profit and loss milestones of one open position (SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable

from workstation.models.events import PartialEvent
from workstation.models.fast import construct
from workstation.models.signal import SignalRow

LEVELS: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)


class ClientPartial:
    """The levels one signal has reached; each level fires once per branch."""

    def __init__(
        self,
        signal_id: str,
        *,
        backtest: bool,
        emit_profit: Callable[[PartialEvent], None],
        emit_loss: Callable[[PartialEvent], None],
        wanted: Callable[[str], bool] = lambda kind: True,
    ) -> None:
        self.signal_id = signal_id
        self.backtest = backtest
        self._emit_profit = emit_profit
        self._emit_loss = emit_loss
        self._wanted = wanted
        self.profit_levels: list[int] = []
        self.loss_levels: list[int] = []

    async def wait_for_init(self) -> None:
        """Nothing to restore in backtest; live persistence hooks in here."""

    def profit(self, signal: SignalRow, current_price: float, percent_tp: float, timestamp: int) -> list[int]:
        """Record and announce every profit level newly reached; return them."""
        return self._reach(
            self.profit_levels, "partial_profit", self._emit_profit, signal, current_price, percent_tp, timestamp
        )

    def loss(self, signal: SignalRow, current_price: float, percent_sl: float, timestamp: int) -> list[int]:
        """Record and announce every loss level newly reached; return them."""
        return self._reach(
            self.loss_levels, "partial_loss", self._emit_loss, signal, current_price, percent_sl, timestamp
        )

    def _reach(
        self,
        reached: list[int],
        kind: str,
        emit: Callable[[PartialEvent], None],
        signal: SignalRow,
        current_price: float,
        percent: float,
        timestamp: int,
    ) -> list[int]:
        new = [level for level in LEVELS if percent >= level and level not in reached]
        reached.extend(new)
        if not new or not self._wanted(kind):
            return new
        for level in new:
            emit(
                construct(
                    PartialEvent,
                    symbol=signal.symbol,
                    strategy_name=signal.strategy_name,
                    exchange_name=signal.exchange_name,
                    frame_name=signal.frame_name,
                    signal=signal,
                    current_price=current_price,
                    level=level,
                    backtest=self.backtest,
                    timestamp=timestamp,
                )
            )
        return new

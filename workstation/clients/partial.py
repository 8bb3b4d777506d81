"""``ClientPartial``: profit and loss milestones of one open position (SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from workstation.models.events import PartialEvent
from workstation.models.fast import construct
from workstation.models.signal import SignalRow

LEVELS: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)

PartialAction = Literal["profit", "loss"]

#: A level first reached by an open position: (index of its phase, action, level, price, candle time in epoch ms).
ReachedLevel = tuple[int, PartialAction, int, float, int]

_LEVELS = np.array(LEVELS, dtype=np.float64)
# Wider than the number of levels, so a phase number times it outweighs any count of levels reached.
_PHASE_WEIGHT = 16


@dataclass(slots=True)
class OpenPhase:
    """The evaluated, non-closing candles of one open position in backtest: what its levels come from."""

    signal: SignalRow
    backtest: bool
    vwap: np.ndarray
    timestamps: np.ndarray


def reached_levels(phases: Sequence[OpenPhase]) -> list[ReachedLevel]:
    """Return every level first reached in each phase, phase by phase, then by time, then by level.

    This is what a fresh ``ClientPartial`` fed candle by candle would emit, computed for many positions in a few
    numpy calls: the percentages come from the same element-wise operations as ``ClientStrategy._progress``
    (``x / -s`` is exactly ``abs(x) / s`` for a loss), hence the same crossings. A candle outside a branch has a
    progress of at most 0 in it and the 100 % clamp cannot move a crossing of a level up to 100, so neither needs
    masking.

    Parameters
    ----------
    phases
        The open phases, each with at least one candle.

    Returns
    -------
    list of ReachedLevel
        ``(phase index, action, level, VWAP, candle time)`` per level reached.
    """
    if not phases:
        return []
    lengths = [len(phase.vwap) for phase in phases]
    owner = np.repeat(np.arange(len(phases)), lengths)
    vwap = np.concatenate([phase.vwap for phase in phases])
    opens = np.array([phase.signal.price_open for phase in phases])[owner]
    longs = np.array([phase.signal.position == "long" for phase in phases])[owner]
    distance = np.where(longs, vwap - opens, opens - vwap)
    found: list[tuple[np.ndarray, np.ndarray, PartialAction]] = []
    branches: tuple[tuple[PartialAction, list[float]], ...] = (
        ("profit", [abs(phase.signal.price_take_profit - phase.signal.price_open) for phase in phases]),
        ("loss", [-abs(phase.signal.price_open - phase.signal.price_stop_loss) for phase in phases]),
    )
    for action, spans in branches:
        progress = distance / np.array(spans)[owner]
        progress *= 100
        candidates = np.flatnonzero(progress >= LEVELS[0])
        if len(candidates) == 0:
            continue
        # Levels at or below each candidate's progress; their running maximum within the phase is what the
        # position has reached so far (the phase number, weighted, restarts the maximum at each new phase).
        base = owner[candidates] * _PHASE_WEIGHT
        upto = np.maximum.accumulate(base + np.searchsorted(_LEVELS, progress[candidates], side="right")) - base
        before = np.zeros_like(upto)
        same_phase = owner[candidates[1:]] == owner[candidates[:-1]]
        before[1:] = np.where(same_phase, upto[:-1], 0)
        new = upto - before
        at = np.repeat(candidates, new)
        first_new = np.repeat(np.cumsum(new) - new, new)
        levels = np.repeat(before, new) + (np.arange(len(at)) - first_new)
        found.append((at, levels, action))
    if not found:
        return []
    at = np.concatenate([candle for candle, _, _ in found])
    levels = np.concatenate([level for _, level, _ in found])
    actions = [action for candle, _, action in found for _ in range(len(candle))]
    order = np.lexsort((levels, at))
    at, levels = at[order], levels[order]
    timestamps = np.concatenate([phase.timestamps for phase in phases])[at]
    return [
        (phase, actions[index], LEVELS[level], price, timestamp)
        for phase, index, level, price, timestamp in zip(
            owner[at].tolist(), order.tolist(), levels.tolist(), vwap[at].tolist(), timestamps.tolist(), strict=True
        )
    ]


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

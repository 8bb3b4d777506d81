"""``ClientPartial``: profit and loss milestones of one open position (SPEC §8)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from workstation.models.events import PartialEvent
from workstation.models.fast import construct
from workstation.models.signal import SignalRow

LEVELS: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)

PartialAction = Literal["profit", "loss"]

#: Takes a level as the partial report keeps it: the action, the signal, the level, the price, the time, the mode.
LevelSink = Callable[[PartialAction, SignalRow, int, float, int, bool], None]

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


@dataclass(frozen=True, slots=True)
class ReachedLevels:
    """Levels first reached by open positions, one entry per level, as parallel arrays.

    ``phase`` is the index of the open phase, ``profit`` True for a profit level and False for a loss level,
    ``level`` the level (10 … 100), ``price`` the VWAP that reached it and ``timestamp`` the candle time (epoch ms).
    """

    phase: np.ndarray
    profit: np.ndarray
    level: np.ndarray
    price: np.ndarray
    timestamp: np.ndarray


def _no_levels() -> ReachedLevels:
    return ReachedLevels(
        np.empty(0, np.int64), np.empty(0, bool), np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64)
    )


def reached_levels(phases: Sequence[OpenPhase]) -> ReachedLevels:
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
    ReachedLevels
        One entry per level reached, in the order the events would have been emitted.
    """
    if not phases:
        return _no_levels()
    lengths = [len(phase.vwap) for phase in phases]
    owner = np.repeat(np.arange(len(phases)), lengths)
    vwap = np.concatenate([phase.vwap for phase in phases])
    opens = np.array([phase.signal.price_open for phase in phases])[owner]
    longs = np.array([phase.signal.position == "long" for phase in phases])[owner]
    distance = np.where(longs, vwap - opens, opens - vwap)
    found: list[tuple[np.ndarray, np.ndarray, bool]] = []
    branches: tuple[tuple[bool, list[float]], ...] = (
        (True, [abs(phase.signal.price_take_profit - phase.signal.price_open) for phase in phases]),
        (False, [-abs(phase.signal.price_open - phase.signal.price_stop_loss) for phase in phases]),
    )
    for profit, spans in branches:
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
        found.append((at, levels, profit))
    if not found:
        return _no_levels()
    at = np.concatenate([candle for candle, _, _ in found])
    levels = np.concatenate([level for _, level, _ in found])
    profits = np.concatenate([np.full(len(candle), profit) for candle, _, profit in found])
    order = np.lexsort((levels, at))
    at = at[order]
    return ReachedLevels(
        phase=owner[at],
        profit=profits[order],
        level=_LEVELS.astype(np.int64)[levels[order]],
        price=vwap[at],
        timestamp=np.concatenate([phase.timestamps for phase in phases])[at],
    )


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
        listened: Callable[[str], bool] = lambda kind: True,
        record: LevelSink | None = None,
    ) -> None:
        self.signal_id = signal_id
        self.backtest = backtest
        self._emit_profit = emit_profit
        self._emit_loss = emit_loss
        self._wanted = wanted
        #: Whether more than the partial report hears of ``kind``; while not, `record` takes the levels without events.
        self._listened = listened
        self._record = record
        self.profit_levels: list[int] = []
        self.loss_levels: list[int] = []
        #: Live only: loads the levels reached before a restart, and saves them before they are announced.
        self.load: Callable[[], Awaitable[dict[str, Any] | None]] | None = None
        self.save: Callable[[dict[str, Any]], Awaitable[None]] | None = None
        self._loaded = False

    async def wait_for_init(self) -> None:
        """Load the levels a live signal reached before a restart (backtest: nothing to load)."""
        if self._loaded or self.load is None:
            return
        record = await self.load()
        if record is not None:
            self.profit_levels = [int(level) for level in record.get("profit_levels", [])]
            self.loss_levels = [int(level) for level in record.get("loss_levels", [])]
        self._loaded = True

    async def reach_live(
        self, action: PartialAction, signal: SignalRow, current_price: float, percent: float, timestamp: int
    ) -> list[int]:
        """Record the levels newly reached by a live evaluation, persist them, then announce them.

        Written before announced (SPEC §15.3): after a crash a level is either stored and never fires again, or
        not stored and fires when it is reached again, never twice. A failed write leaves the levels unreached.
        """
        reached = self.profit_levels if action == "profit" else self.loss_levels
        if percent < LEVELS[0]:
            return []  # no level to reach: most candles of a managed walk
        new = [level for level in LEVELS if percent >= level and level not in reached]
        if not new:
            return new
        if self.save is not None:
            profit = self.profit_levels + new if action == "profit" else self.profit_levels
            loss = self.loss_levels + new if action == "loss" else self.loss_levels
            await self.save(
                {
                    "symbol": signal.symbol,
                    "strategy_name": signal.strategy_name,
                    "profit_levels": profit,
                    "loss_levels": loss,
                }
            )
        reached.extend(new)
        kind = "partial_profit" if action == "profit" else "partial_loss"
        emit = self._emit_profit if action == "profit" else self._emit_loss
        if self._wanted(kind):
            for level in new:
                emit(self._event(signal, current_price, level, timestamp))
        return new

    def profit(self, signal: SignalRow, current_price: float, percent_tp: float, timestamp: int) -> list[int]:
        """Record and announce every profit level newly reached; return them."""
        return self._reach(
            self.profit_levels, "profit", self._emit_profit, signal, current_price, percent_tp, timestamp
        )

    def loss(self, signal: SignalRow, current_price: float, percent_sl: float, timestamp: int) -> list[int]:
        """Record and announce every loss level newly reached; return them."""
        return self._reach(self.loss_levels, "loss", self._emit_loss, signal, current_price, percent_sl, timestamp)

    def _reach(
        self,
        reached: list[int],
        action: PartialAction,
        emit: Callable[[PartialEvent], None],
        signal: SignalRow,
        current_price: float,
        percent: float,
        timestamp: int,
    ) -> list[int]:
        if percent < LEVELS[0]:
            return []  # no level to reach: most candles of a managed walk
        new = [level for level in LEVELS if percent >= level and level not in reached]
        reached.extend(new)
        if not new:
            return new
        kind = "partial_profit" if action == "profit" else "partial_loss"
        record = self._record
        if record is not None and not self._listened(kind):
            # Only the partial report would hear of them: it takes the levels as the events would bring them.
            for level in new:
                record(action, signal, level, current_price, timestamp, self.backtest)
            return new
        if not self._wanted(kind):
            return new
        for level in new:
            emit(self._event(signal, current_price, level, timestamp))
        return new

    def _event(self, signal: SignalRow, current_price: float, level: int, timestamp: int) -> PartialEvent:
        return construct(
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

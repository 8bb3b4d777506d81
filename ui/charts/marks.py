"""What the chart marks on the candles: positions (entry, exit, TP, SL, how they were managed) and limit orders, as
numpy arrays."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import numpy as np

import workstation as ws


def _floats(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


#: The commands that move a position's stop, take profit or effective entry (SPEC-position P6, P8-P10).
LEVEL_ACTIONS = frozenset({"trailing-stop", "trailing-take", "breakeven", "average-buy"})


@dataclass(frozen=True, slots=True)
class _Level:
    """The levels a command left a position at, from ``time`` on."""

    time: int
    stop_loss: float
    take_profit: float
    entry: float


@dataclass
class _Position:
    entry_time: int
    entry_price: float
    is_long: bool
    take_profit: float
    stop_loss: float
    exit_time: float = np.nan
    exit_price: float = np.nan
    pnl_percentage: float = np.nan
    close_reason: str = ""
    levels: list[_Level] = field(default_factory=list)
    #: The entries after the first (time, price) and the partial closes (time, price, share of the money invested
    #: in %, profit): from the commands while the position is open, from the closed signal once it closed.
    averaging: list[tuple[int, float]] = field(default_factory=list)
    partials: list[tuple[int, float, float, bool]] = field(default_factory=list)
    averaged: bool = False
    #: The share of the money invested still held after the last command, in %.
    held: float = 100.0

    def follow(self, command: ws.PositionCommand) -> None:
        """Follow a command of the position: an averaging entry, a partial close, a move of its levels."""
        action = command.action
        if action == "average-buy":
            self.averaged = True
            self.averaging.append((command.time, command.price))
        elif action in ("partial-profit", "partial-loss"):
            # Its share of all the money invested so far; the closed signal's records replace it at the close.
            share = self.held - command.held_percent
            self.partials.append((command.time, command.price, share, action == "partial-profit"))
        self.held = command.held_percent
        if action not in LEVEL_ACTIONS:
            return
        level = _Level(command.time, command.stop_loss, command.take_profit, command.effective_entry)
        start = _Level(self.entry_time, self.stop_loss, self.take_profit, self.entry_price)
        last = self.levels[-1] if self.levels else start
        if (level.stop_loss, level.take_profit, level.entry) != (last.stop_loss, last.take_profit, last.entry):
            self.levels.append(level)

    def close(self, result: ws.ClosedResult) -> None:
        """Take the exit, and the averaging entries and partial closes the closed signal carries."""
        signal = result.signal
        self.exit_time = float(result.close_timestamp)
        self.exit_price = result.current_price
        self.pnl_percentage = result.pnl.pnl_percentage
        self.close_reason = result.close_reason
        self.averaging = [(entry.timestamp, entry.price) for entry in signal.entries[1:]]
        self.averaged = self.averaged or bool(self.averaging)
        invested = sum(entry.cost for entry in signal.entries)
        self.partials = [
            (part.timestamp, part.current_price, _closed_share(part, invested), part.type == "profit")
            for part in signal.partials
        ]


def _closed_share(part: ws.PartialClose, invested: float) -> float:
    """Return the money a partial close took out, in % of all the money put into the position (P5)."""
    return part.percent * part.cost_basis_at_close / invested if invested > 0 else part.percent


@dataclass
class _LimitOrder:
    created: int
    price: float
    is_long: bool
    ended: float = np.nan
    cancel_reason: str = ""
    filled: bool = False


@dataclass(frozen=True)
class SignalMarks:
    """Every position and limit order of a run, one array entry per signal, in order of first appearance.

    Times are epoch ms. ``exit_time`` and ``limit_ended`` are float64 so that NaN can say "not yet": a position
    still open, a limit order still waiting. Build it with :meth:`from_results`; arrays are read-only.

    Positions: ``position_ids``, ``entry_time`` (``signal.pending_at``), ``entry_price``, ``take_profit`` and
    ``stop_loss`` (the levels the position opened with: ``signal.original_price_*``), ``is_long``, ``exit_time``
    (``close_timestamp``), ``exit_price`` (the close price), ``pnl_percentage``, ``close_reason`` ("" while open),
    ``win`` (closed with a positive net PnL), ``averaged`` (it has averaging entries).

    How positions were managed, one entry per change: ``level_position`` (the index of the position), ``level_time``,
    ``level_stop_loss``, ``level_take_profit``, ``level_entry`` (the effective entry): the levels a trailing move,
    a breakeven or an averaging entry left the position at, from the command log; ``averaging_time``,
    ``averaging_price``, ``averaging_is_long``: the entries after the first; ``partial_time``, ``partial_price``,
    ``partial_share`` (the money closed in % of all the money put in), ``partial_is_profit``: the partial closes.

    Limit orders: ``limit_ids``, ``limit_created`` (``signal.scheduled_at``), ``limit_ended`` (``pending_at`` when
    filled, ``close_timestamp`` when cancelled), ``limit_price`` (``signal.original_price_open``: the limit, whatever
    averaging did to the position later), ``limit_is_long``, ``limit_filled``,
    ``limit_cancel_reason`` (the cancel reason, "" when filled or waiting).
    """

    position_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    entry_time: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    entry_price: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    is_long: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    take_profit: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    stop_loss: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    exit_time: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    exit_price: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    pnl_percentage: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    close_reason: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    averaged: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    level_position: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    level_time: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    level_stop_loss: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    level_take_profit: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    level_entry: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    averaging_time: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    averaging_price: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    averaging_is_long: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    partial_time: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    partial_price: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    partial_share: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    partial_is_profit: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    limit_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))
    limit_created: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    limit_ended: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    limit_price: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    limit_is_long: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    limit_filled: np.ndarray = field(default_factory=lambda: np.array([], dtype=bool))
    limit_cancel_reason: np.ndarray = field(default_factory=lambda: np.array([], dtype=str))

    def __post_init__(self) -> None:
        # Read-only views: the chart keeps these arrays while the caller may still own the originals.
        for name, array in vars(self).items():
            view = np.asarray(array).view()
            view.flags.writeable = False
            object.__setattr__(self, name, view)

    @property
    def win(self) -> np.ndarray:
        """Closed positions with a positive net PnL (NaN, i.e. open, compares False)."""
        result: np.ndarray = self.pnl_percentage > 0
        return result

    @property
    def is_closed(self) -> np.ndarray:
        """Positions that have an exit."""
        result: np.ndarray = ~np.isnan(self.exit_time)
        return result

    @property
    def limit_cancelled(self) -> np.ndarray:
        """Limit orders that ended without a fill."""
        result: np.ndarray = self.limit_cancel_reason != ""
        return result

    @classmethod
    def from_results(cls, results: Iterable[object]) -> SignalMarks:
        """Collect the marks of a run from its tick results (scheduled, opened, closed, cancelled) and the commands
        of its command log (``ws.PositionCommand``); anything else is ignored.

        A closed result alone is enough to mark its position (the opened result may have been skipped). A position
        is also marked as a filled limit order when its order was scheduled before (even if it filled in the same
        minute) or its ``scheduled_at`` precedes its ``pending_at``.
        """
        builder = SignalMarksBuilder()
        builder.add(results)
        return builder.marks()


class SignalMarksBuilder:
    """Collects marks batch by batch while a run progresses: each result is looked at once, however many
    snapshots (:meth:`marks`) are taken, so a long run costs the same per batch at its end as at its start.

    A closed position or an ended order never changes again: the arrays of the run's settled start are built once
    and kept, and each snapshot builds only those of what is still open after it (turning a year's thousands of
    trades into arrays took the GUI thread 4-17 ms on every redraw).
    """

    def __init__(self) -> None:
        self._positions: dict[str, _Position] = {}
        # Commands may come before their position does (its order's activation): kept until it opens.
        self._early_commands: dict[str, list[ws.PositionCommand]] = {}
        self._limits: dict[str, _LimitOrder] = {}
        self._same_minute_fills: set[str] = set()
        self._settled = SignalMarks()
        self._settled_positions = 0
        self._settled_limits = 0

    def add_stored(self, stored: ws.StoredRun) -> None:
        """Take in a run from the history: its command log, its closed trades and cancelled orders in the order the
        run ended them, and the orders that filled in the minute they were placed (their scheduled results are not
        stored: without them such a position would be taken for a market order's)."""
        self._same_minute_fills.update(stored.same_minute_fills or ())
        # The commands come first, as while a run works: each position follows its own when it is marked.
        self.add([*(stored.commands or ()), *stored.ended_results()])

    def add(self, results: Iterable[object]) -> None:
        """Take in more results and commands, in the order the run produced them."""
        positions, limits = self._positions, self._limits
        for result in results:
            if isinstance(result, ws.PositionCommand):
                position = positions.get(result.signal_id)
                if position is None:
                    self._early_commands.setdefault(result.signal_id, []).append(result)
                else:
                    position.follow(result)
            elif isinstance(result, ws.ScheduledResult):
                _limit_of(limits, result.signal)
            elif isinstance(result, ws.OpenedResult | ws.ClosedResult):
                signal = result.signal
                if signal.pending_at is None:
                    continue
                position = positions.get(signal.id)
                if position is None:
                    position = positions[signal.id] = _Position(
                        entry_time=signal.pending_at,
                        entry_price=signal.original_price_open,
                        is_long=signal.position == "long",
                        take_profit=signal.original_price_take_profit,
                        stop_loss=signal.original_price_stop_loss,
                    )
                    for command in self._early_commands.pop(signal.id, ()):
                        position.follow(command)
                # A limit order can fill in the minute it was placed (scheduled_at == pending_at): the order seen
                # before tells it from a market order as much as a later fill time does.
                if (
                    signal.id in limits
                    or signal.id in self._same_minute_fills
                    or signal.scheduled_at < signal.pending_at
                ):
                    limit = _limit_of(limits, signal)
                    limit.ended, limit.filled = float(signal.pending_at), True
                if isinstance(result, ws.ClosedResult):
                    position.close(result)
            elif isinstance(result, ws.CancelledResult):
                self._early_commands.pop(result.signal.id, None)  # an order that never opened
                limit = _limit_of(limits, result.signal)
                limit.ended, limit.cancel_reason = float(result.close_timestamp), result.reason

    def marks(self) -> SignalMarks:
        """Return the marks of everything added so far."""
        positions, limits = list(self._positions.items()), list(self._limits.items())
        settled_positions, settled_limits = self._settled_positions, self._settled_limits
        while settled_positions < len(positions) and not math.isnan(positions[settled_positions][1].exit_time):
            settled_positions += 1
        while settled_limits < len(limits) and not math.isnan(limits[settled_limits][1].ended):
            settled_limits += 1
        if (settled_positions, settled_limits) != (self._settled_positions, self._settled_limits):
            newly_settled = _marks(
                dict(positions[self._settled_positions : settled_positions]),
                dict(limits[self._settled_limits : settled_limits]),
            )
            self._settled = _joined(self._settled, newly_settled)
            self._settled_positions, self._settled_limits = settled_positions, settled_limits
        return _joined(self._settled, _marks(dict(positions[settled_positions:]), dict(limits[settled_limits:])))


def _joined(first: SignalMarks, then: SignalMarks) -> SignalMarks:
    """Return the marks of ``first`` followed by those of ``then``."""
    # ``then``'s levels point at its own positions, which come after ``first``'s.
    then_levels = {"level_position": then.level_position + len(first.position_ids)}
    return SignalMarks(
        **{
            item.name: np.concatenate((getattr(first, item.name), then_levels.get(item.name, getattr(then, item.name))))
            for item in fields(first)
        }
    )


def _marks(positions: dict[str, _Position], limits: dict[str, _LimitOrder]) -> SignalMarks:
    p, o = list(positions.values()), list(limits.values())
    levels = [(index, level) for index, row in enumerate(p) for level in row.levels]
    averaging = [(row.is_long, *entry) for row in p for entry in row.averaging]
    partials = [part for row in p for part in row.partials]
    return SignalMarks(
        position_ids=np.array(list(positions), dtype=str),
        entry_time=np.array([row.entry_time for row in p], dtype=np.int64),
        entry_price=_floats([row.entry_price for row in p]),
        is_long=np.array([row.is_long for row in p], dtype=bool),
        take_profit=_floats([row.take_profit for row in p]),
        stop_loss=_floats([row.stop_loss for row in p]),
        exit_time=_floats([row.exit_time for row in p]),
        exit_price=_floats([row.exit_price for row in p]),
        pnl_percentage=_floats([row.pnl_percentage for row in p]),
        close_reason=np.array([row.close_reason for row in p], dtype=str),
        averaged=np.array([row.averaged for row in p], dtype=bool),
        level_position=np.array([index for index, _ in levels], dtype=np.int64),
        level_time=np.array([level.time for _, level in levels], dtype=np.int64),
        level_stop_loss=_floats([level.stop_loss for _, level in levels]),
        level_take_profit=_floats([level.take_profit for _, level in levels]),
        level_entry=_floats([level.entry for _, level in levels]),
        averaging_time=np.array([time for _, time, _ in averaging], dtype=np.int64),
        averaging_price=_floats([price for _, _, price in averaging]),
        averaging_is_long=np.array([is_long for is_long, _, _ in averaging], dtype=bool),
        partial_time=np.array([part[0] for part in partials], dtype=np.int64),
        partial_price=_floats([part[1] for part in partials]),
        partial_share=_floats([part[2] for part in partials]),
        partial_is_profit=np.array([part[3] for part in partials], dtype=bool),
        limit_ids=np.array(list(limits), dtype=str),
        limit_created=np.array([row.created for row in o], dtype=np.int64),
        limit_ended=_floats([row.ended for row in o]),
        limit_price=_floats([row.price for row in o]),
        limit_is_long=np.array([row.is_long for row in o], dtype=bool),
        limit_filled=np.array([row.filled for row in o], dtype=bool),
        limit_cancel_reason=np.array([row.cancel_reason for row in o], dtype=str),
    )


def _limit_of(limits: dict[str, _LimitOrder], signal: ws.SignalRow) -> _LimitOrder:
    limit = limits.get(signal.id)
    if limit is None:
        limit = limits[signal.id] = _LimitOrder(
            created=signal.scheduled_at, price=signal.original_price_open, is_long=signal.position == "long"
        )
    return limit

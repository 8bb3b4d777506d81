"""Partial report storage: profit and loss levels reached per key, their counts and the markdown report (SPEC §11.4).

Levels arrive either as ``partial_profit`` / ``partial_loss`` events or, from a backtest nobody listens to, as the
open phases of its positions (:meth:`PartialReportStorage.add_open_phase`): their levels are worked out in batches,
many positions per numpy call, instead of one event per level. Rows are kept as plain tuples and become models only
when statistics are asked for.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict

from workstation.clients.partial import OpenPhase, PartialAction, reached_levels
from workstation.config import get_config
from workstation.models.events import PartialEvent
from workstation.models.fast import construct
from workstation.models.signal import Position, SignalRow
from workstation.reports.backtest import report_key
from workstation.reports.formatting import iso, markdown_table, usd

__all__ = ["PartialLevelRow", "PartialReportStorage", "PartialStatistics"]

#: Open phases held before their levels are worked out; bounds what the pending candle views keep alive.
SETTLE_EVERY = 256

_COLUMNS: tuple[str, ...] = (
    "Action",
    "Symbol",
    "Strategy",
    "Signal ID",
    "Position",
    "Level %",
    "Current Price",
    "Timestamp",
    "Mode",
)


class PartialLevelRow(BaseModel):
    """One profit or loss level reached by a signal, as listed in the partial report."""

    model_config = ConfigDict(frozen=True)

    action: PartialAction
    symbol: str
    strategy_name: str
    signal_id: str
    position: Position
    level: int
    current_price: float
    timestamp: int
    backtest: bool


class PartialStatistics(BaseModel):
    """The last ``report_max_rows`` levels of one key and the counts over every level it recorded (SPEC §11.4)."""

    model_config = ConfigDict(frozen=True)

    event_list: list[PartialLevelRow]
    total_events: int
    total_profit: int
    total_loss: int


@dataclass
class _KeyRecord:
    rows: deque[tuple[PartialAction, SignalRow, int, float, int, bool]]
    counts: dict[PartialAction, int] = field(default_factory=lambda: {"profit": 0, "loss": 0})


class PartialReportStorage:
    """Hold the partial profit and loss levels of each ``symbol:strategy_name:mode`` key in memory.

    The list keeps the most recent ``report_max_rows`` levels (the cap in force when the key got its first level);
    the counts cover every level. The storage does not subscribe to anything: the caller wires it.
    """

    def __init__(self) -> None:
        self._records: dict[str, _KeyRecord] = {}
        self._pending: list[OpenPhase] = []

    def _record(self, symbol: str, strategy_name: str, backtest: bool) -> _KeyRecord:
        key = report_key(symbol, strategy_name, backtest)
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _KeyRecord(deque(maxlen=get_config().report_max_rows))
        return record

    def add_profit(self, event: PartialEvent) -> None:
        """Record a ``partial_profit`` event."""
        self._add(event, "profit")

    def add_loss(self, event: PartialEvent) -> None:
        """Record a ``partial_loss`` event."""
        self._add(event, "loss")

    def _add(self, event: PartialEvent, action: PartialAction) -> None:
        self.add_level(action, event.signal, event.level, event.current_price, event.timestamp, event.backtest)

    def add_level(
        self, action: PartialAction, signal: SignalRow, level: int, price: float, timestamp: int, backtest: bool
    ) -> None:
        """Record one level ``signal`` reached, as its ``partial_profit`` or ``partial_loss`` event would."""
        self.settle()
        record = self._record(signal.symbol, signal.strategy_name, backtest)
        record.rows.append((action, signal, level, price, timestamp, backtest))
        record.counts[action] += 1

    def add_open_phase(self, phase: OpenPhase) -> None:
        """Record the levels an open position reaches over ``phase``, as its events would have.

        The levels are worked out with the next batch (every :data:`SETTLE_EVERY` phases, before any event or read,
        and on :meth:`settle`), so the phase's candle views are held until then.
        """
        self._pending.append(phase)
        if len(self._pending) >= SETTLE_EVERY:
            self.settle()

    def settle(self) -> None:
        """Work out the levels of the pending open phases and record them, in arrival order.

        Every level is counted; only the ones a key's capped list keeps become rows.
        """
        if not self._pending:
            return
        phases, self._pending = self._pending, []
        reached = reached_levels(phases)
        if len(reached.phase) == 0:
            return
        # Concurrent backtests may interleave their phases: each key takes its own levels, in order.
        key_ids: dict[tuple[str, str, bool], int] = {}
        phase_key = np.array(
            [
                key_ids.setdefault((phase.signal.symbol, phase.signal.strategy_name, phase.backtest), len(key_ids))
                for phase in phases
            ]
        )
        level_key = phase_key[reached.phase]
        for (symbol, strategy_name, backtest), key_id in key_ids.items():
            mine = np.flatnonzero(level_key == key_id)
            if len(mine) == 0:
                continue
            record = self._record(symbol, strategy_name, backtest)
            profits = int(np.count_nonzero(reached.profit[mine]))
            record.counts["profit"] += profits
            record.counts["loss"] += len(mine) - profits
            kept = mine[-record.rows.maxlen :] if record.rows.maxlen is not None else mine
            for phase, profit, level, price, timestamp in zip(
                reached.phase[kept].tolist(),
                reached.profit[kept].tolist(),
                reached.level[kept].tolist(),
                reached.price[kept].tolist(),
                reached.timestamp[kept].tolist(),
                strict=True,
            ):
                action: PartialAction = "profit" if profit else "loss"
                record.rows.append((action, phases[phase].signal, level, price, timestamp, backtest))

    def clear(self, symbol: str, strategy_name: str, backtest: bool = True) -> None:
        """Forget everything recorded for one key (a new run starts from an empty report)."""
        self.settle()
        self._records.pop(report_key(symbol, strategy_name, backtest), None)

    def clear_all(self) -> None:
        """Forget every key (``ws.reset()``)."""
        self._pending.clear()
        self._records.clear()

    def get_data(self, symbol: str, strategy_name: str, backtest: bool = True) -> PartialStatistics:
        """Return the kept levels and the counts of one key; an unknown key gives an empty list and zero counts.

        Parameters
        ----------
        symbol, strategy_name
            The pair whose levels to list.
        backtest
            True for the backtest key, False for the live key.

        Returns
        -------
        PartialStatistics
            The most recent levels, oldest first, and the counts over all levels.
        """
        self.settle()
        record = self._records.get(report_key(symbol, strategy_name, backtest))
        if record is None:
            return PartialStatistics(event_list=[], total_events=0, total_profit=0, total_loss=0)
        rows = [
            construct(
                PartialLevelRow,
                action=action,
                symbol=signal.symbol,
                strategy_name=signal.strategy_name,
                signal_id=signal.id,
                position=signal.position,
                level=level,
                current_price=price,
                timestamp=timestamp,
                backtest=row_backtest,
            )
            for action, signal, level, price, timestamp, row_backtest in record.rows
        ]
        profit, loss = record.counts["profit"], record.counts["loss"]
        return PartialStatistics(event_list=rows, total_events=profit + loss, total_profit=profit, total_loss=loss)

    def get_report(self, symbol: str, strategy_name: str, backtest: bool = True) -> str:
        r"""Render the markdown report of one key (SPEC §11.4).

        Parameters
        ----------
        symbol, strategy_name
            The pair to report on.
        backtest
            True for the backtest key, False for the live key.

        Returns
        -------
        str
            The report lines joined with ``"\n"``, without a trailing newline.
        """
        title = f"# Partial Profit/Loss Report: {symbol}:{strategy_name}"
        statistics = self.get_data(symbol, strategy_name, backtest)
        if statistics.total_events == 0:
            return f"{title}\n\nNo partial profit/loss events recorded yet."
        lines = [title, ""]
        lines.extend(markdown_table(_COLUMNS, [_cells(row) for row in statistics.event_list]))
        lines.extend(
            [
                "",
                f"**Total events:** {statistics.total_events}",
                f"**Profit events:** {statistics.total_profit}",
                f"**Loss events:** {statistics.total_loss}",
            ]
        )
        return "\n".join(lines)


def _cells(row: PartialLevelRow) -> list[str]:
    return [
        row.action.upper(),
        row.symbol,
        row.strategy_name,
        row.signal_id,
        row.position.upper(),
        f"{'+' if row.action == 'profit' else '-'}{row.level}%",
        usd(row.current_price),
        iso(row.timestamp),
        "Backtest" if row.backtest else "Live",
    ]

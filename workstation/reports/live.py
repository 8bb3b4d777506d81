"""Live report storage: the blotter of a live pair, its statistics and the markdown report (SPEC §11.3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from workstation.models.results import (
    ActiveResult,
    CancelledResult,
    ClosedResult,
    CloseReason,
    IdleResult,
    OpenedResult,
)
from workstation.models.signal import Position
from workstation.reports.backtest import POSITION_COLUMNS, is_managed, performance_summary_lines, report_key
from workstation.reports.formatting import fixed, iso, markdown_table, or_na, signed, usd
from workstation.reports.statistics import BacktestStatistics, compute_backtest_statistics, position_duration_minutes

__all__ = [
    "LIVE_COLUMNS",
    "LiveEvent",
    "LiveReportStorage",
    "LiveStatistics",
    "live_event_cells",
]

LiveAction = Literal["idle", "opened", "active", "closed"]

#: Column titles of the live table, in order.
LIVE_COLUMNS: tuple[str, ...] = (
    "Timestamp",
    "Action",
    "Symbol",
    "Signal ID",
    "Position",
    "Note",
    "Current Price",
    "Open Price",
    "Take Profit",
    "Stop Loss",
    "% to TP",
    "% to SL",
    "PNL (net)",
    "Close Reason",
    "Duration (min)",
)


class LiveEvent(BaseModel):
    """One row of the live blotter.

    An ``idle`` row holds only ``timestamp``, ``action`` and ``current_price``. A position's row is pushed when it
    opens (``timestamp = pending_at``, ``current_price = price_open``) and replaced in place as it is managed
    (``active``: the tick time, ``percent_tp`` / ``percent_sl``) and when it closes (``close_timestamp``, ``pnl``,
    ``close_reason``, ``duration`` in whole minutes rounded half up). A position's row also counts its entries and
    partial closes and the share they closed; ``managed`` tells whether a command changed it (``is_managed``).
    """

    model_config = ConfigDict(frozen=True)

    timestamp: int
    action: LiveAction
    current_price: float
    symbol: str | None = None
    signal_id: str | None = None
    position: Position | None = None
    note: str | None = None
    price_open: float | None = None
    price_take_profit: float | None = None
    price_stop_loss: float | None = None
    percent_tp: float | None = None
    percent_sl: float | None = None
    pnl: float | None = None
    close_reason: CloseReason | None = None
    duration: int | None = None
    total_entries: int | None = None
    total_partials: int | None = None
    partial_executed: float | None = None
    managed: bool = False


class LiveStatistics(BacktestStatistics):
    """Statistics of the live closed signals of a pair (every field of SPEC §11.2) and its blotter.

    ``event_list`` holds the most recent ``report_max_rows`` rows. ``total_events`` counts every row the blotter
    ever held: a row replaced in place (an idle tick, a position being managed) counts once.
    """

    event_list: list[LiveEvent]
    total_events: int


def live_event_cells(event: LiveEvent, managed: bool = False) -> list[str]:
    """Return the raw (unescaped) cells of one row, in :data:`LIVE_COLUMNS` order; a missing value is ``N/A``.

    ``managed`` adds the ``POSITION_COLUMNS`` cells (for a table with a managed position).
    """

    def percent(value: float) -> str:
        return fixed(value, 2) + "%"

    cells = [
        iso(event.timestamp),
        event.action.upper(),
        or_na(event.symbol, str),
        or_na(event.signal_id, str),
        or_na(event.position, str.upper),
        or_na(event.note, str),
        usd(event.current_price),
        or_na(event.price_open, usd),
        or_na(event.price_take_profit, usd),
        or_na(event.price_stop_loss, usd),
        or_na(event.percent_tp, percent),
        or_na(event.percent_sl, percent),
        or_na(event.pnl, lambda pnl: signed(pnl, 2) + "%"),
        or_na(event.close_reason, str),
        or_na(event.duration, str),
    ]
    if managed:
        cells += [
            or_na(event.total_entries, str),
            or_na(event.total_partials, str),
            or_na(event.partial_executed, percent),
        ]
    return cells


def _position_row(result: OpenedResult | ActiveResult | ClosedResult, timestamp: int) -> LiveEvent:
    signal = result.signal
    progress: dict[str, float] = {}
    outcome: dict[str, object] = {}
    if isinstance(result, ActiveResult):
        progress = {"percent_tp": result.percent_tp, "percent_sl": result.percent_sl}
    elif isinstance(result, ClosedResult):
        outcome = {
            "pnl": result.pnl.pnl_percentage,
            "close_reason": result.close_reason,
            "duration": position_duration_minutes(result),
        }
    return LiveEvent.model_validate(
        {
            "timestamp": timestamp,
            "action": result.action,
            "current_price": result.current_price,
            "symbol": signal.symbol,
            "signal_id": signal.id,
            "position": signal.position,
            "note": signal.note,
            "price_open": signal.price_open,
            "price_take_profit": signal.price_take_profit,
            "price_stop_loss": signal.price_stop_loss,
            "total_entries": signal.total_entries,
            "total_partials": signal.total_partials,
            "partial_executed": signal.partial_executed,
            "managed": is_managed(signal),
            **progress,
            **outcome,
        }
    )


@dataclass
class _KeyRecord:
    rows: list[LiveEvent] = field(default_factory=list)
    total_events: int = 0
    closed: list[ClosedResult] = field(default_factory=list)


class LiveReportStorage:
    """Hold the blotter and the closed results of each live ``symbol:strategy_name`` key in memory.

    Rows follow SPEC §11.3: an idle tick replaces the previous idle row in place unless an opened or active row
    came after it; ``opened`` pushes a row; ``active`` and ``closed`` replace the first row of the same signal id
    (else push one). A push beyond ``max_rows`` drops the oldest row. Statistics cover every closed result ever
    recorded for the key; ``scheduled`` and ``cancelled`` results are not rows (the schedule report lists them).

    The storage does not subscribe to anything: the caller feeds it from the event hub.
    """

    def __init__(self) -> None:
        self._records: dict[str, _KeyRecord] = {}

    def _record(self, key: str) -> _KeyRecord:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _KeyRecord()
        return record

    def add(
        self, result: IdleResult | OpenedResult | ActiveResult | ClosedResult | CancelledResult, *, max_rows: int
    ) -> None:
        """Record one live result, keeping at most ``max_rows`` rows for its key.

        Raises
        ------
        ValueError
            If ``max_rows`` is less than 1, the result is a backtest one, or a position has no ``pending_at``
            (the ``active`` results of a waiting limit order are left to the schedule report).
        """
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        if result.backtest:
            raise ValueError(f"the live report takes live results only, got a backtest {result.action!r} result")
        if isinstance(result, CancelledResult):
            return
        record = self._record(report_key(result.symbol, result.strategy_name, False))
        if isinstance(result, IdleResult):
            self._add_idle(record, result, max_rows)
            return
        if result.signal.pending_at is None:
            if isinstance(result, ActiveResult):
                # A limit order still waiting: it belongs to the schedule report, not to the position blotter.
                return
            raise ValueError(f"{result.action} signal {result.signal.id} has no pending_at")
        if isinstance(result, OpenedResult):
            self._push(record, _position_row(result, result.signal.pending_at), max_rows)
            return
        if isinstance(result, ClosedResult):
            record.closed.append(result)
            row = _position_row(result, result.close_timestamp)
        else:
            row = _position_row(result, result.timestamp)
        same_signal = next((index for index, old in enumerate(record.rows) if old.signal_id == row.signal_id), None)
        if same_signal is None:
            self._push(record, row, max_rows)
        else:
            record.rows[same_signal] = row

    @staticmethod
    def _add_idle(record: _KeyRecord, result: IdleResult, max_rows: int) -> None:
        row = LiveEvent(timestamp=result.timestamp, action="idle", current_price=result.current_price)
        last_idle = next(
            (index for index in range(len(record.rows) - 1, -1, -1) if record.rows[index].action == "idle"), None
        )
        if last_idle is not None and all(
            later.action not in ("opened", "active") for later in record.rows[last_idle + 1 :]
        ):
            record.rows[last_idle] = row
        else:
            LiveReportStorage._push(record, row, max_rows)

    @staticmethod
    def _push(record: _KeyRecord, row: LiveEvent, max_rows: int) -> None:
        record.rows.append(row)
        record.total_events += 1
        if len(record.rows) > max_rows:
            del record.rows[: len(record.rows) - max_rows]

    def clear(self, symbol: str, strategy_name: str) -> None:
        """Forget everything recorded for one live pair (a new live run starts from an empty report)."""
        self._records.pop(report_key(symbol, strategy_name, False), None)

    def clear_all(self) -> None:
        """Forget every key (``ws.reset()``)."""
        self._records.clear()

    def get_data(self, symbol: str, strategy_name: str) -> LiveStatistics:
        """Return the statistics and blotter of one live pair; an unknown pair gives no rows and None ratios.

        Parameters
        ----------
        symbol, strategy_name
            The live pair to summarise.

        Returns
        -------
        LiveStatistics
            SPEC §11.2's figures over every live closed signal of the pair, its most recent rows and their count.
        """
        record = self._records.get(report_key(symbol, strategy_name, False)) or _KeyRecord()
        statistics = compute_backtest_statistics(record.closed)
        return LiveStatistics(**dict(statistics), event_list=list(record.rows), total_events=record.total_events)

    def get_report(self, symbol: str, strategy_name: str) -> str:
        r"""Render the markdown report of one live pair (SPEC §11.3).

        Returns
        -------
        str
            The report lines joined with ``"\n"``, without a trailing newline.
        """
        title = f"# Live Trading Report: {strategy_name} ({symbol})"
        statistics = self.get_data(symbol, strategy_name)
        if statistics.total_events == 0:
            return f"{title}\n\nNo events recorded yet."
        lines = [title, ""]
        events = statistics.event_list
        managed = any(event.managed for event in events)
        columns = LIVE_COLUMNS + POSITION_COLUMNS if managed else LIVE_COLUMNS
        lines.extend(markdown_table(columns, [live_event_cells(event, managed) for event in events]))
        lines.append("")
        lines.append(f"**Total events:** {statistics.total_events}")
        lines.append(f"**Closed signals:** {statistics.total_signals}")
        lines.extend(performance_summary_lines(statistics))
        return "\n".join(lines)

"""Schedule report storage: limit orders placed, filled and cancelled per key (SPEC §14.1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from workstation.models.results import CancelledResult, CancelReason, OpenedResult, ScheduledResult
from workstation.models.signal import Position
from workstation.reports.backtest import report_key
from workstation.reports.formatting import fixed, iso, markdown_table, or_na, usd
from workstation.timeutil import MINUTE_MS

__all__ = ["SCHEDULE_COLUMNS", "ScheduleEvent", "ScheduleReportStorage", "ScheduleStatistics", "schedule_event_cells"]

ScheduleAction = Literal["scheduled", "opened", "cancelled"]

#: Column titles of the schedule table, in order.
SCHEDULE_COLUMNS: tuple[str, ...] = (
    "Timestamp",
    "Action",
    "Symbol",
    "Signal ID",
    "Position",
    "Note",
    "Current Price",
    "Entry Price",
    "Take Profit",
    "Stop Loss",
    "Wait Time (min)",
    "Reason",
)


class ScheduleEvent(BaseModel):
    """One row of the schedule: a limit order placed, filled or cancelled.

    ``timestamp`` is ``scheduled_at`` for a placed order, ``pending_at`` for a fill and ``close_timestamp`` for a
    cancel; ``wait_time`` is the minutes since the order was placed (None for a placed order); ``reason`` is the
    cancel reason (None otherwise).
    """

    model_config = ConfigDict(frozen=True)

    timestamp: int
    action: ScheduleAction
    symbol: str
    strategy_name: str
    signal_id: str
    position: Position
    note: str
    current_price: float
    price_open: float
    price_take_profit: float
    price_stop_loss: float
    wait_time: float | None
    reason: CancelReason | None


class ScheduleStatistics(BaseModel):
    """Limit-order statistics of one ``symbol:strategy_name:mode`` key (SPEC §14.1).

    Counters and averages cover every event ever recorded for the key; ``event_list`` holds only the most recent
    ``report_max_rows``. A rate is None when no order was placed, an average when nothing was cancelled or filled.
    """

    model_config = ConfigDict(frozen=True)

    event_list: list[ScheduleEvent]
    total_events: int
    total_scheduled: int
    total_opened: int
    total_cancelled: int
    cancellation_rate: float | None
    activation_rate: float | None
    avg_wait_time: float | None
    avg_activation_time: float | None


def schedule_event_cells(event: ScheduleEvent) -> list[str]:
    """Return the raw (unescaped) cells of one event, in :data:`SCHEDULE_COLUMNS` order.

    Formats follow the backtest and live tables: ISO time, upper-case action and position, prices in USD, minutes
    with two decimals, ``N/A`` where a placed order has no wait time or an order no cancel reason.
    """
    return [
        iso(event.timestamp),
        event.action.upper(),
        event.symbol,
        event.signal_id,
        event.position.upper(),
        event.note,
        usd(event.current_price),
        usd(event.price_open),
        usd(event.price_take_profit),
        usd(event.price_stop_loss),
        or_na(event.wait_time, lambda minutes: fixed(minutes, 2)),
        or_na(event.reason, str),
    ]


def _event(
    result: ScheduledResult | OpenedResult | CancelledResult, timestamp: int, wait_time: float | None
) -> ScheduleEvent:
    signal = result.signal
    return ScheduleEvent(
        timestamp=timestamp,
        action=result.action,
        symbol=result.symbol,
        strategy_name=result.strategy_name,
        signal_id=signal.id,
        position=signal.position,
        note=signal.note,
        current_price=result.current_price,
        price_open=signal.price_open,
        price_take_profit=signal.price_take_profit,
        price_stop_loss=signal.price_stop_loss,
        wait_time=wait_time,
        reason=result.reason if isinstance(result, CancelledResult) else None,
    )


@dataclass
class _KeyRecord:
    events: list[ScheduleEvent] = field(default_factory=list)
    total_events: int = 0
    scheduled: int = 0
    opened: int = 0
    cancelled: int = 0
    # Running left-to-right sums in arrival order: the same bits as a sequential sum over every wait (SPEC §11.1)
    # without keeping the waits themselves.
    cancel_wait_sum: float = 0.0
    fill_wait_sum: float = 0.0
    # Ids of orders placed and not yet filled or cancelled: only their fills belong in the schedule.
    waiting: set[str] = field(default_factory=set)


def _rate(count: int, scheduled: int) -> float | None:
    return count / scheduled * 100 if scheduled else None


def _mean(total: float, count: int) -> float | None:
    return total / count if count else None


class ScheduleReportStorage:
    """Hold the limit-order events of each ``symbol:strategy_name:mode`` key in memory.

    Fed with ``scheduled``, ``cancelled`` and ``opened`` results; an ``opened`` result counts only when its signal
    id was placed as a limit order under the same key (a market order never appears). Each event is its own row;
    the row list keeps the last ``max_rows`` given when adding, the counters cover every event.

    The storage does not subscribe to anything: the caller feeds it from the event hub.
    """

    def __init__(self) -> None:
        self._records: dict[str, _KeyRecord] = {}

    def _record(self, key: str) -> _KeyRecord:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _KeyRecord()
        return record

    def add(self, result: ScheduledResult | OpenedResult | CancelledResult, *, max_rows: int) -> None:
        """Record one result of a limit order, keeping at most ``max_rows`` rows for its key.

        Raises
        ------
        ValueError
            If ``max_rows`` is less than 1, or a fill has no ``pending_at``.
        """
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        key = report_key(result.symbol, result.strategy_name, result.backtest)
        signal = result.signal
        if isinstance(result, ScheduledResult):
            record = self._record(key)
            record.scheduled += 1
            record.waiting.add(signal.id)
            event = _event(result, signal.scheduled_at, None)
        elif isinstance(result, OpenedResult):
            record_or_none = self._records.get(key)
            if record_or_none is None or signal.id not in record_or_none.waiting:
                return
            if signal.pending_at is None:
                raise ValueError(f"opened signal {signal.id} has no pending_at")
            record = record_or_none
            record.waiting.discard(signal.id)
            wait = (signal.pending_at - signal.scheduled_at) / MINUTE_MS
            record.opened += 1
            record.fill_wait_sum = record.fill_wait_sum + wait
            event = _event(result, signal.pending_at, wait)
        else:
            record = self._record(key)
            record.waiting.discard(signal.id)
            wait = (result.close_timestamp - signal.scheduled_at) / MINUTE_MS
            record.cancelled += 1
            record.cancel_wait_sum = record.cancel_wait_sum + wait
            event = _event(result, result.close_timestamp, wait)
        record.total_events += 1
        record.events.append(event)
        if len(record.events) > max_rows:
            del record.events[: len(record.events) - max_rows]

    def clear(self, symbol: str, strategy_name: str, backtest: bool = True) -> None:
        """Forget everything recorded for one key (a new run starts from an empty schedule)."""
        self._records.pop(report_key(symbol, strategy_name, backtest), None)

    def clear_all(self) -> None:
        """Forget every key (``ws.reset()``)."""
        self._records.clear()

    def get_data(self, symbol: str, strategy_name: str, backtest: bool = True) -> ScheduleStatistics:
        """Return the statistics of one key; an unknown key gives zero counts and None rates.

        Parameters
        ----------
        symbol, strategy_name
            The pair whose limit orders to summarise.
        backtest
            True for the backtest key, False for the live key.

        Returns
        -------
        ScheduleStatistics
            Counters, rates and average waits over every event of the key, and its most recent rows.
        """
        record = self._records.get(report_key(symbol, strategy_name, backtest)) or _KeyRecord()
        return ScheduleStatistics(
            event_list=list(record.events),
            total_events=record.total_events,
            total_scheduled=record.scheduled,
            total_opened=record.opened,
            total_cancelled=record.cancelled,
            cancellation_rate=_rate(record.cancelled, record.scheduled),
            activation_rate=_rate(record.opened, record.scheduled),
            avg_wait_time=_mean(record.cancel_wait_sum, record.cancelled),
            avg_activation_time=_mean(record.fill_wait_sum, record.opened),
        )

    def get_report(self, symbol: str, strategy_name: str, backtest: bool = True) -> str:
        r"""Render the markdown report of one key (SPEC §14.1).

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
        title = f"# Scheduled Signals Report: {strategy_name} ({symbol})"
        statistics = self.get_data(symbol, strategy_name, backtest)
        if statistics.total_events == 0:
            return f"{title}\n\nNo scheduled signals recorded yet."

        def percent(value: float) -> str:
            return fixed(value, 2) + "%"

        def minutes(value: float) -> str:
            return fixed(value, 2) + " minutes"

        lines = [title, ""]
        lines.extend(markdown_table(SCHEDULE_COLUMNS, [schedule_event_cells(event) for event in statistics.event_list]))
        lines.append("")
        lines.append(f"**Total events:** {statistics.total_events}")
        lines.append(f"**Scheduled signals:** {statistics.total_scheduled}")
        lines.append(f"**Opened signals:** {statistics.total_opened}")
        lines.append(f"**Cancelled signals:** {statistics.total_cancelled}")
        lines.append(f"**Cancellation rate:** {or_na(statistics.cancellation_rate, percent)} (lower is better)")
        lines.append(f"**Activation rate:** {or_na(statistics.activation_rate, percent)}")
        lines.append(f"**Average wait time (cancelled):** {or_na(statistics.avg_wait_time, minutes)}")
        lines.append(f"**Average activation time:** {or_na(statistics.avg_activation_time, minutes)}")
        return "\n".join(lines)

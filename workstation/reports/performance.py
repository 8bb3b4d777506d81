"""Performance report storage: the last engine timings per key, their statistics and the markdown report (SPEC §14.2).

Events are kept in one numpy ring per key rather than as models: a year of 1m ticks yields over half a million of
them, so the engine hands them over in bulk (:meth:`PerformanceReportStorage.record_many`) when nobody listens to
``performance``, and models are rebuilt only for the kept events when statistics are asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import get_args

import numpy as np
from pydantic import BaseModel, ConfigDict

from workstation.config import get_config
from workstation.models.events import MetricType, PerformanceEvent
from workstation.models.fast import construct
from workstation.reports.backtest import report_key
from workstation.reports.formatting import fixed, markdown_table, or_na, safe
from workstation.reports.statistics import population_std, sequential_mean, sequential_sum

__all__ = [
    "METRIC_TYPES",
    "NO_PREVIOUS",
    "MetricStats",
    "PerformanceReportStorage",
    "PerformanceStatistics",
]

#: Every metric type; an event's metric code is its index here.
METRIC_TYPES: tuple[MetricType, ...] = get_args(MetricType)

#: The previous timestamp of an event that has none (the first event of a run).
NO_PREVIOUS = int(np.iinfo(np.int64).min)

_EVENT_DTYPE = np.dtype(
    [
        ("metric", np.int8),
        ("origin", np.int16),
        ("timestamp", np.int64),
        ("previous", np.int64),
        ("duration", np.float64),
    ]
)
_FIRST_ALLOCATION = 1024

_COLUMNS: tuple[str, ...] = (
    "Metric Type",
    "Count",
    "Total (ms)",
    "Avg (ms)",
    "Min (ms)",
    "Max (ms)",
    "Std Dev (ms)",
    "Median (ms)",
    "P95 (ms)",
    "P99 (ms)",
    "Avg Wait (ms)",
    "Min Wait (ms)",
    "Max Wait (ms)",
)


class MetricStats(BaseModel):
    """Duration and wait-time statistics of the kept events of one metric type (SPEC §14.2)."""

    model_config = ConfigDict(frozen=True)

    metric_type: MetricType
    count: int
    total_duration: float
    avg_duration: float
    min_duration: float
    max_duration: float
    std_dev: float
    median: float
    p95: float
    p99: float
    avg_wait_time: float
    min_wait_time: float
    max_wait_time: float


class PerformanceStatistics(BaseModel):
    """Statistics of the kept performance events of one ``symbol:strategy_name:mode`` key (SPEC §14.2).

    ``metric_stats`` lists the metric types in the order they first appear among the kept events.
    """

    model_config = ConfigDict(frozen=True)

    strategy_name: str
    total_events: int
    total_duration: float
    metric_stats: dict[MetricType, MetricStats]
    events: list[PerformanceEvent]


def percentile(ordered: list[float], percent: int) -> float:
    """Return ``ordered[max(0, ceil(count * percent / 100) - 1)]`` (nearest rank, SPEC §14.2).

    Parameters
    ----------
    ordered
        Non-empty values sorted ascending.
    percent
        Whole percent, e.g. 50 for the median.

    Returns
    -------
    float
        The value of that rank; integer arithmetic keeps the rank exact.
    """
    rank = -(-len(ordered) * percent // 100)
    return ordered[max(0, rank - 1)]


def _metric_stats(metric_type: MetricType, events: np.ndarray) -> MetricStats:
    durations = np.sort(events["duration"]).tolist()
    count = len(durations)
    total = sequential_sum(durations)
    average = total / count
    chained = events["previous"] != NO_PREVIOUS
    waits = (events["timestamp"][chained] - events["previous"][chained]).tolist()
    return MetricStats(
        metric_type=metric_type,
        count=count,
        total_duration=total,
        avg_duration=average,
        min_duration=durations[0],
        max_duration=durations[-1],
        std_dev=population_std(durations, average),
        median=percentile(durations, 50),
        p95=percentile(durations, 95),
        p99=percentile(durations, 99),
        avg_wait_time=sequential_mean(waits) if waits else 0.0,
        min_wait_time=float(min(waits)) if waits else 0.0,
        max_wait_time=float(max(waits)) if waits else 0.0,
    )


def _metric_cells(stats: MetricStats) -> list[str]:
    values = (
        stats.total_duration,
        stats.avg_duration,
        stats.min_duration,
        stats.max_duration,
        stats.std_dev,
        stats.median,
        stats.p95,
        stats.p99,
        stats.avg_wait_time,
        stats.min_wait_time,
        stats.max_wait_time,
    )
    return [stats.metric_type, str(stats.count), *(fixed(value, 2) for value in values)]


@dataclass
class _Ring:
    """The last ``capacity`` events of one key, oldest first from ``head`` once full."""

    symbol: str
    strategy_name: str
    backtest: bool
    capacity: int
    origins: list[tuple[str, str]] = field(default_factory=list)
    events: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=_EVENT_DTYPE))
    head: int = 0
    size: int = 0

    def origin(self, exchange_name: str, frame_name: str) -> int:
        """Return the code of an exchange and frame pair, adding it on first sight."""
        pair = (exchange_name, frame_name)
        if pair not in self.origins:
            self.origins.append(pair)
        return self.origins.index(pair)

    def write(self, rows: np.ndarray) -> None:
        """Append ``rows`` (of the event dtype), dropping the oldest events beyond the capacity."""
        count = len(rows)
        if count >= self.capacity:
            self.events = rows[-self.capacity :].copy()
            self.head, self.size = 0, self.capacity
            return
        self._reserve(count)
        allocated = len(self.events)
        end = self.head + count
        if end <= allocated:
            self.events[self.head : end] = rows
        else:
            first = allocated - self.head
            self.events[self.head :] = rows[:first]
            self.events[: count - first] = rows[first:]
        self.head = end if end < allocated else end - allocated
        self.size = min(self.size + count, self.capacity)

    def _reserve(self, count: int) -> None:
        # Grow geometrically up to the capacity, so a short run does not pay for the whole cap; until the ring is
        # full at its capacity nothing wraps, so the kept events are the prefix and ``head == size``.
        allocated = len(self.events)
        if allocated == self.capacity or self.size + count <= allocated:
            return
        grown = np.empty(min(self.capacity, max(2 * allocated, self.size + count, _FIRST_ALLOCATION)), _EVENT_DTYPE)
        grown[: self.size] = self.events[: self.size]
        self.events, self.head = grown, self.size

    def kept(self) -> np.ndarray:
        """Return the kept events, oldest first."""
        if self.size < len(self.events):
            return self.events[: self.size]
        return np.roll(self.events, -self.head)


class PerformanceReportStorage:
    """Hold the last ``performance_max_events`` performance events of each ``symbol:strategy_name:mode`` key.

    Single events come from the ``performance`` stream (:meth:`record`); a backtest nobody listens to hands its
    events over in bulk (:meth:`record_many`) and registers a feed (:meth:`add_feed`) that flushes what it has
    batched, so a report asked for mid-run is complete. The cap is read from the config in force when a key
    receives its first event. The storage does not subscribe to anything: the caller wires it.
    """

    def __init__(self) -> None:
        self._rings: dict[str, _Ring] = {}
        self._feeds: dict[str, Callable[[], None]] = {}

    def _ring(self, symbol: str, strategy_name: str, backtest: bool) -> _Ring:
        key = report_key(symbol, strategy_name, backtest)
        ring = self._rings.get(key)
        if ring is None:
            capacity = get_config().performance_max_events
            ring = self._rings[key] = _Ring(symbol, strategy_name, backtest, capacity)
        return ring

    def record(self, event: PerformanceEvent) -> None:
        """Keep one event under the key of its symbol, strategy and mode."""
        ring = self._ring(event.symbol, event.strategy_name, event.backtest)
        row = np.empty(1, _EVENT_DTYPE)
        row[0] = (
            METRIC_TYPES.index(event.metric_type),
            ring.origin(event.exchange_name, event.frame_name),
            event.timestamp,
            NO_PREVIOUS if event.previous_timestamp is None else event.previous_timestamp,
            event.duration,
        )
        ring.write(row)

    def record_many(
        self,
        *,
        symbol: str,
        strategy_name: str,
        exchange_name: str,
        frame_name: str,
        backtest: bool,
        metric_codes: np.ndarray,
        timestamps: np.ndarray,
        previous_timestamps: np.ndarray,
        durations: np.ndarray,
    ) -> None:
        """Keep a batch of events of one run, in order, as if each had been recorded on its own.

        Parameters
        ----------
        symbol, strategy_name, exchange_name, frame_name, backtest
            Where every event of the batch comes from.
        metric_codes
            Index of each event's type in :data:`METRIC_TYPES`.
        timestamps
            Wall time of each event, epoch ms.
        previous_timestamps
            Wall time of the event before each one in its run, or :data:`NO_PREVIOUS`.
        durations
            Duration of each event, ms.

        Raises
        ------
        ValueError
            If the arrays differ in length or a metric code is not an index of :data:`METRIC_TYPES`.
        """
        count = len(metric_codes)
        lengths = {len(timestamps), len(previous_timestamps), len(durations)}
        if lengths != {count}:
            raise ValueError(f"metric_codes, timestamps, previous_timestamps and durations differ in length: {count}")
        if count == 0:
            return
        if metric_codes.min() < 0 or metric_codes.max() >= len(METRIC_TYPES):
            raise ValueError(f"metric_codes must lie in 0..{len(METRIC_TYPES) - 1}, got {metric_codes.tolist()}")
        ring = self._ring(symbol, strategy_name, backtest)
        kept = min(count, ring.capacity)
        rows = np.empty(kept, _EVENT_DTYPE)
        rows["metric"] = metric_codes[-kept:]
        rows["origin"] = ring.origin(exchange_name, frame_name)
        rows["timestamp"] = timestamps[-kept:]
        rows["previous"] = previous_timestamps[-kept:]
        rows["duration"] = durations[-kept:]
        ring.write(rows)

    def capacity(self, symbol: str, strategy_name: str, backtest: bool) -> int:
        """Return how many events the key keeps: the cap in force when it received its first event (or now)."""
        return self._ring(symbol, strategy_name, backtest).capacity

    def add_feed(
        self, symbol: str, strategy_name: str, backtest: bool, flush: Callable[[], None]
    ) -> Callable[[], None]:
        """Have ``flush`` called before the key is read; return the callable that removes it.

        A running backtest batches its events and registers its flush here, so reading the key between two of
        its results sees every event so far.
        """
        key = report_key(symbol, strategy_name, backtest)
        self._feeds[key] = flush

        def remove() -> None:
            if self._feeds.get(key) is flush:
                del self._feeds[key]

        return remove

    def clear(self, symbol: str, strategy_name: str, backtest: bool = True) -> None:
        """Forget the events of one key only."""
        self._rings.pop(report_key(symbol, strategy_name, backtest), None)

    def clear_all(self) -> None:
        """Forget every key (``ws.reset()``)."""
        self._rings.clear()
        self._feeds.clear()

    def get_data(self, symbol: str, strategy_name: str, backtest: bool = True) -> PerformanceStatistics:
        """Return the statistics of the kept events of one key; an unknown key gives zero events.

        Parameters
        ----------
        symbol, strategy_name
            The pair whose timings to summarise.
        backtest
            True for the backtest key, False for the live key.

        Returns
        -------
        PerformanceStatistics
            Per metric type in order of first appearance, and the kept events rebuilt as models.
        """
        key = report_key(symbol, strategy_name, backtest)
        feed = self._feeds.get(key)
        if feed is not None:
            feed()
        ring = self._rings.get(key)
        if ring is None or ring.size == 0:
            return PerformanceStatistics(
                strategy_name=strategy_name, total_events=0, total_duration=0.0, metric_stats={}, events=[]
            )
        kept = ring.kept()
        codes = kept["metric"]
        present, first_seen = np.unique(codes, return_index=True)
        metric_stats: dict[MetricType, MetricStats] = {}
        for code in present[np.argsort(first_seen)].tolist():
            metric_type = METRIC_TYPES[code]
            metric_stats[metric_type] = _metric_stats(metric_type, kept[codes == code])
        return PerformanceStatistics(
            strategy_name=strategy_name,
            total_events=len(kept),
            total_duration=sequential_sum(stats.total_duration for stats in metric_stats.values()),
            metric_stats=metric_stats,
            events=_events(ring, kept),
        )

    def get_report(self, symbol: str, strategy_name: str, backtest: bool = True) -> str:
        r"""Render the markdown report of one key (SPEC §14.2).

        The time distribution and the table list the metric types by total duration, largest first (ties keep
        their order of first appearance).

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
        title = f"# Performance Report: {strategy_name} ({symbol})"
        statistics = self.get_data(symbol, strategy_name, backtest)
        if statistics.total_events == 0:
            return f"{title}\n\nNo performance metrics recorded yet."
        ranked = sorted(statistics.metric_stats.values(), key=lambda stats: stats.total_duration, reverse=True)
        total = statistics.total_duration
        lines = [
            title,
            "",
            f"**Total events:** {statistics.total_events}",
            f"**Total execution time:** {fixed(total, 2)}ms",
            f"**Number of metric types:** {len(ranked)}",
            "",
            "## Time Distribution",
            "",
        ]
        for stats in ranked:
            share = safe(stats.total_duration / total * 100) if total > 0 else None
            lines.append(
                f"- **{stats.metric_type}**: {or_na(share, lambda value: fixed(value, 1) + '%')}"
                f" ({fixed(stats.total_duration, 2)}ms total)"
            )
        lines.extend(["", "## Detailed Metrics", ""])
        lines.extend(markdown_table(_COLUMNS, [_metric_cells(stats) for stats in ranked]))
        lines.extend(["", "**Note:** All durations are in milliseconds."])
        return "\n".join(lines)


def _events(ring: _Ring, kept: np.ndarray) -> list[PerformanceEvent]:
    origins = ring.origins
    return [
        construct(
            PerformanceEvent,
            timestamp=timestamp,
            previous_timestamp=None if previous == NO_PREVIOUS else previous,
            metric_type=METRIC_TYPES[metric],
            duration=duration,
            symbol=ring.symbol,
            strategy_name=ring.strategy_name,
            exchange_name=origins[origin][0],
            frame_name=origins[origin][1],
            backtest=ring.backtest,
        )
        for metric, origin, timestamp, previous, duration in kept.tolist()
    ]

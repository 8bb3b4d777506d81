"""The backtest runner (SPEC §6.4): frames → ticks → fast path, as an async generator.

Flat ticks inside the throttle bucket of the previous ``get_signal`` call can only be idle; when nobody
observes idle results they are skipped in bulk (their prices are still checked), which is where most of a
year of 1m ticks goes. Everything observable stays identical (SPEC §14.2 note).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import numpy as np

from workstation.clients.frame import TickGrid
from workstation.clients.strategy import ClientStrategy, Result
from workstation.context import ExecutionContext, execution_context
from workstation.events import ListenerCheck, events, report_error
from workstation.models.events import BacktestProgress, PerformanceEvent
from workstation.models.fast import construct
from workstation.models.results import OpenedResult, ScheduledResult
from workstation.reports.performance import METRIC_TYPES, NO_PREVIOUS
from workstation.storages import partial_storage, performance_storage
from workstation.timeutil import MINUTE_MS

#: Builds a named tuple from its fields without the keyword handling of its generated ``__new__``.
_new_tuple = tuple.__new__

#: By default a run gives the event loop a turn at least this often (seconds of work), so a GUI never freezes.
YIELD_EVERY_SECONDS = 0.02

#: How many numbers (three per measurement) `_Performance` batches before a loop turn hands them over: a handover
#: costs about as much as a few hundred measurements, and a year's run measures 70 000 times.
_BATCH_NUMBERS = 3 * 16_384

_TOTAL = METRIC_TYPES.index("backtest_total")
_TIMEFRAME = METRIC_TYPES.index("backtest_timeframe")
_SIGNAL = METRIC_TYPES.index("backtest_signal")


@dataclass(slots=True)
class RunPosition:
    """How far a run has got: frames processed of the total, and the tick it has reached (epoch ms).

    Updated whenever the run gives the loop a turn, which is the only time anyone else can read it: a view polls
    this instead of listening to one progress event per frame.
    """

    processed_frames: int = 0
    total_frames: int = 0
    when: int = 0


@dataclass(slots=True)
class BacktestJob:
    """What one backtest run works on: values only, no context lookups."""

    symbol: str
    strategy: ClientStrategy
    ticks: TickGrid
    exchange_name: str
    frame_name: str
    is_stopped: Callable[[], bool]
    position: RunPosition
    run_id: int
    loop_turn_seconds: float = YIELD_EVERY_SECONDS


class _Audience:
    """Who listens to the streams a run may skip, as the run's `ListenerCheck` answers (at most 20 ms old).

    Asking Qt on every tick would cost more than the tick itself: the figures are worked out again only when the
    check has renewed its answers.
    """

    def __init__(self, strategy: ClientStrategy) -> None:
        self._strategy = strategy
        listened = strategy.event_listened
        self._listened = listened if isinstance(listened, ListenerCheck) else ListenerCheck(events)
        #: The check itself: the tick loop looks at its expiry and generation before calling `refresh`.
        self.check = self._listened
        self._renewals = -1
        self.progress = self.performance = self.idle = self.idle_listened = False

    def refresh(self, now: float) -> None:
        listened = self._listened
        listened.renew(now)
        if listened.renewals == self._renewals:
            return
        self._renewals = listened.renewals
        self.progress = listened("progress_backtest")
        self.performance = listened("performance")
        self.idle_listened = listened("signal_backtest") or listened("signal")
        self.idle = self._strategy.observes_idle or self.idle_listened


class _Performance:
    """Times the run's work (SPEC §14.2): ``performance`` events when a user listens, else batches for the storage.

    Building and emitting half a million events for a year of 1m ticks would cost more than the run itself, so
    without a listener each measurement is appended to flat arrays and handed to the performance storage in bulk
    (at every turn of the loop, at the end, and whenever the storage is read). The storage ends up with the same
    events either way. Wall timestamps come from the monotonic clock offset once to wall time, so one clock read
    gives both an event's duration and its timestamp.
    """

    def __init__(self, job: BacktestJob, audience: _Audience) -> None:
        self._job = job
        self._audience = audience
        self._previous: int | None = None
        self._wall_offset = time.time() - time.perf_counter()
        # Three numbers per measurement: its metric code, start and end (perf_counter seconds), in one flat list
        # (a list takes three numbers four times as fast as an array converting them); and, by measurement, the
        # throttled ticks passed in bulk right after it, which become events of duration 0 at the same time.
        self._measured: list[float] = []
        self._skipped: dict[int, int] = {}

    @property
    def batch(self) -> list[float]:
        """The batched numbers, three per measurement: the tick loop appends to it itself (`measure`, inline)."""
        return self._measured

    @property
    def skipped_after(self) -> dict[int, int]:
        """The throttled ticks passed after each batched measurement: the tick loop sets them itself (inline)."""
        return self._skipped

    def measure(self, metric: int, started: float) -> None:
        """Record one event of metric code ``metric`` for the work begun at ``started`` (``perf_counter``)."""
        ended = time.perf_counter()
        if self._audience.performance:
            self._emit(metric, started, ended)
            return
        self._measured += (metric, started, ended)

    def add_skipped_ticks(self, count: int) -> None:
        """Record ``count`` throttled ticks passed in bulk right after the last measurement.

        They are ``backtest_timeframe`` events with duration 0.0 at the wall time of that measurement: their
        prices were checked all at once within it, so each costs nothing measurable on its own.
        """
        self._skipped[len(self._measured) // 3 - 1] = count

    def _emit(self, metric: int, started: float, ended: float) -> None:
        if self._measured:
            self.flush()
        timestamp = int((self._wall_offset + ended) * 1000)
        job = self._job
        events.performance.emit(
            construct(
                PerformanceEvent,
                timestamp=timestamp,
                previous_timestamp=self._previous,
                metric_type=METRIC_TYPES[metric],
                duration=(ended - started) * 1000,
                symbol=job.symbol,
                strategy_name=job.strategy.strategy_name,
                exchange_name=job.exchange_name,
                frame_name=job.frame_name,
                backtest=True,
            )
        )
        self._previous = timestamp

    def flush_batch(self) -> None:
        """`flush` once the batch is large: reading the storage flushes it anyway (its feed), a loop turn need not."""
        if len(self._measured) >= _BATCH_NUMBERS:
            self.flush()

    def flush(self) -> None:
        """Hand the batched events to the performance storage, chained as if each had been emitted.

        The storage keeps the last events of a key only (`PerformanceReportStorage.capacity`): the measurements
        whose events it would drop at once are not even converted, only the last one's timestamp is kept for the
        chain.
        """
        numbers = self._measured
        if not numbers:
            return
        job = self._job
        kept = self._kept_from(performance_storage.capacity(job.symbol, job.strategy.strategy_name, True))
        if kept:
            # The event before the first one handed over is the last of measurement ``kept - 1`` (its skipped ticks
            # share its time).
            self._previous = int((self._wall_offset + numbers[3 * kept - 1]) * 1000)
        measured = np.array(numbers[3 * kept :], dtype=np.float64).reshape(-1, 3)
        repeats = np.ones(len(measured), dtype=np.int64)
        skipped = {index - kept: count for index, count in self._skipped.items() if index >= kept}
        if skipped:
            repeats[list(skipped)] += list(skipped.values())
        numbers.clear()
        self._skipped.clear()
        metrics, started, ended = measured[:, 0].astype(np.int8), measured[:, 1], measured[:, 2]
        timestamps = np.repeat(((self._wall_offset + ended) * 1000).astype(np.int64), repeats)
        durations = np.zeros(len(timestamps))
        durations[np.cumsum(repeats) - repeats] = (ended - started) * 1000
        previous = np.empty_like(timestamps)
        previous[0] = NO_PREVIOUS if self._previous is None else self._previous
        previous[1:] = timestamps[:-1]
        self._previous = int(timestamps[-1])
        performance_storage.record_many(
            symbol=job.symbol,
            strategy_name=job.strategy.strategy_name,
            exchange_name=job.exchange_name,
            frame_name=job.frame_name,
            backtest=True,
            metric_codes=np.repeat(metrics, repeats),
            timestamps=timestamps,
            previous_timestamps=previous,
            durations=durations,
        )

    def _kept_from(self, capacity: int) -> int:
        """Return the first batched measurement whose events the storage keeps (``capacity`` events at most)."""
        skipped = self._skipped
        index = len(self._measured) // 3
        events = 0
        while index > 0 and events < capacity:
            index -= 1
            events += 1 + skipped.get(index, 0)
        return index


def _progress(job: BacktestJob, audience: _Audience, processed: int, when: int) -> None:
    if not audience.progress:
        return
    total = job.ticks.count
    events.progress_backtest.emit(
        construct(
            BacktestProgress,
            symbol=job.symbol,
            strategy_name=job.strategy.strategy_name,
            exchange_name=job.exchange_name,
            frame_name=job.frame_name,
            total_frames=total,
            processed_frames=processed,
            progress=processed / total,
            when=when,
        )
    )


async def run_backtest(job: BacktestJob) -> AsyncIterator[Result]:
    """Yield the scheduled, opened, closed and cancelled results of one backtest, in order."""
    strategy = job.strategy
    ticks = job.ticks
    total = ticks.count
    frame_end = ticks.last
    # The run reads every minute from the first VWAP window to one candle past the frame, plus read-ahead.
    strategy.exchange.expect(
        job.symbol,
        ticks.first - strategy.config.avg_price_candles_count * MINUTE_MS,
        frame_end + (strategy.config.max_candles_per_request + 1) * MINUTE_MS,
    )
    audience = _Audience(strategy)
    strategy.idle_wanted = lambda: audience.idle_listened
    performance = _Performance(job, audience)
    stop_feeding = performance_storage.add_feed(job.symbol, strategy.strategy_name, True, performance.flush)
    run_started = time.perf_counter()
    next_yield = run_started + job.loop_turn_seconds
    index = 0
    job.position.total_frames = total
    job.position.when = ticks.first
    # What every tick reads, held in locals: a year of 1m ticks passes here 70 000 times.
    symbol, first, step, interval = job.symbol, ticks.first, ticks.step, strategy.interval_ms
    is_stopped, perf_counter = job.is_stopped, time.perf_counter
    exchange, config = strategy.exchange, strategy.config
    check, hub = audience.check, events
    # The performance batch, appended to in place (`_Performance.measure` when no one listens to the events).
    measured, skipped_after = performance.batch, performance.skipped_after
    # The ticks from ``held_from`` to ``held_to`` have their prices held (`ClientExchange.prices_held_until`).
    held_from, held_to = 0, -1
    try:
        while index < total:
            tick_started = perf_counter()
            # `audience.refresh(tick_started)` when the answers may have changed (they last 20 ms).
            if tick_started >= check.expires or hub.generation != check.generation:
                audience.refresh(tick_started)
            when = first + index * step
            if audience.progress:
                _progress(job, audience, index, when)
            if is_stopped():
                break
            if tick_started >= next_yield:
                performance.flush_batch()
                job.position.processed_frames, job.position.when = index, when
                await _yield_to_loop()
                next_yield = perf_counter() + job.loop_turn_seconds
            # `strategy.is_throttled(when)`, inline.
            bucket = when // interval * interval
            if bucket == strategy.last_bucket and not strategy.stopped:
                if not audience.idle:
                    # `ticks.index_from(bucket + interval)`, inline: the first tick of the next bucket.
                    stop = max(index, min(total, -((first - bucket - interval) // step)))
                    last = first + (stop - 1) * step
                    # The bucket's prices are nearly always held already: then the skip awaits nothing. Which ticks'
                    # prices are held is asked again only past the last answer (cached candles stay cached).
                    if when < held_from or last > held_to:
                        held_from, held_to = when, exchange.prices_held_until(symbol, when, config)
                    if last <= held_to or await exchange.ensure_prices(symbol, when, last, config):
                        if audience.progress or audience.performance:
                            skipped = _skip_throttled(job, audience, index, stop, performance, tick_started)
                        else:
                            # `_skip_throttled` with no one watching the ticks: one measurement (`measure`, inline),
                            # the rest in bulk.
                            measured += (_TIMEFRAME, tick_started, perf_counter())
                            if is_stopped():
                                index += 1
                                break
                            # `performance.add_skipped_ticks(stop - index - 1)`, inline.
                            skipped_after[len(measured) // 3 - 1] = stop - index - 1
                            index = stop
                            continue
                    else:
                        skipped = None
                elif strategy.idles_alone and not audience.idle_listened and not strategy.manager.paused:
                    skipped = await _idle_throttled(job, audience, index, performance, tick_started, next_yield)
                else:
                    skipped = None
                if skipped is not None:
                    index, halted = skipped
                    if halted:
                        break
                    continue
            token = execution_context.set(_new_tuple(ExecutionContext, (symbol, when, True)))
            try:
                result = await strategy.generate(when)
            finally:
                execution_context.reset(token)
            if result is None or result.action == "idle":
                if audience.performance:
                    performance.measure(_TIMEFRAME, tick_started)
                else:
                    measured += (_TIMEFRAME, tick_started, perf_counter())
                if is_stopped():
                    break
                index += 1
                continue
            assert isinstance(result, ScheduledResult | OpenedResult)
            yield result
            signal_started = perf_counter()
            token = execution_context.set(_new_tuple(ExecutionContext, (symbol, when, True)))
            try:
                ending = await strategy.resolve_backtest(result, frame_end)
            finally:
                execution_context.reset(token)
            performance.measure(_SIGNAL, signal_started)
            for produced in ending:
                yield produced
            close_timestamp = getattr(ending[-1], "close_timestamp", when)
            index = max(index, ticks.index_after(close_timestamp))
            performance.measure(_TIMEFRAME, tick_started)
            if job.is_stopped():
                break
        audience.refresh(time.perf_counter())
        job.position.processed_frames, job.position.when = total, frame_end
        _progress(job, audience, total, frame_end)
        performance.measure(_TOTAL, run_started)
    except Exception as exc:
        report_error("Backtest.run", exc, symbol=job.symbol, strategy_name=strategy.strategy_name, run_id=job.run_id)
        raise
    finally:
        performance.flush()
        stop_feeding()
        # Let go of the candle views the partial report still holds for this run's positions.
        partial_storage.settle()


def _skip_throttled(
    job: BacktestJob,
    audience: _Audience,
    index: int,
    stop: int,
    performance: _Performance,
    tick_started: float,
) -> tuple[int, bool]:
    """Pass the idle ticks from ``index`` to ``stop`` (the next throttle bucket's) at once, their prices held.

    Return the next index and whether a stop was seen. (When the prices are not all there, the caller goes tick
    by tick instead, which reports the missing candle exactly.)
    """
    ticks = job.ticks
    performance.measure(_TIMEFRAME, tick_started)
    if job.is_stopped():
        return index + 1, True
    if not audience.progress and not audience.performance:
        performance.add_skipped_ticks(stop - index - 1)
        return stop, False
    for skipped in range(index + 1, stop):
        _progress(job, audience, skipped, ticks.at(skipped))
        if job.is_stopped():
            return skipped, True
        performance.measure(_TIMEFRAME, time.perf_counter())
        if job.is_stopped():
            return skipped + 1, True
    return stop, False


async def _idle_throttled(
    job: BacktestJob,
    audience: _Audience,
    index: int,
    performance: _Performance,
    tick_started: float,
    next_yield: float,
) -> tuple[int, bool] | None:
    """Run ``on_idle`` on the flat ticks up to the next throttle bucket, all that happens on them.

    The ticks a strategy with ``on_idle`` (and no ``on_tick``) spends flat between two ``get_signal`` calls, when no
    one listens to idle results: their prices are read at once and each tick only calls ``on_idle``. Tick ``index``
    is ready (its progress reported, the stop checked). Return the next index and whether a stop was seen, as soon
    as the main loop must take over (its turn to yield, a listener, a pause), or None when the prices are not all
    there (the main loop then reports the missing candle exactly).
    """
    strategy, ticks = job.strategy, job.ticks
    assert strategy.last_bucket is not None
    stop = max(index + 1, ticks.index_from(strategy.last_bucket + strategy.interval_ms))
    prices = strategy.exchange.cached_average_prices(
        job.symbol, ticks.at(index), ticks.step, stop - index, strategy.config
    )
    if prices is None:
        return None
    manager = strategy.manager
    # What every tick reads, held in locals: a managed year passes here 200 000 times.
    measure, is_stopped, perf_counter, refresh = (
        performance.measure,
        job.is_stopped,
        time.perf_counter,
        audience.refresh,
    )
    # The ticks stay in the callbacks' context from one ``on_idle`` to the next while nothing else can see it: it is
    # left before a progress or performance listener hears of a tick, and whenever this returns.
    idle = strategy.idle_ticks()
    current = index
    try:
        for price in prices:
            when = ticks.at(current)
            if current != index:
                tick_started = perf_counter()
                refresh(tick_started)
                if tick_started >= next_yield or audience.idle_listened or manager.paused or strategy.stopped:
                    return current, False
                if audience.progress:
                    idle.leave()
                    _progress(job, audience, current, when)
                if is_stopped():
                    return current, True
            if rest := idle.run(when, price):
                await rest
            if audience.performance:
                idle.leave()
            measure(_TIMEFRAME, tick_started)
            current += 1
            if is_stopped():
                return current, True
    finally:
        idle.leave()
    return stop, False


async def _yield_to_loop() -> None:
    await asyncio.sleep(0)

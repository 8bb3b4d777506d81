"""The live runner (SPEC §15.1): ticks on the tick-period grid of a clock, as an async generator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from workstation.clients.live_strategy import LiveClientStrategy
from workstation.clients.strategy import Result
from workstation.context import ExecutionContext, execution_context
from workstation.engine.clock import Clock, clock_ms
from workstation.errors import StrategyAbortedError
from workstation.events import events, report_error
from workstation.models.events import PerformanceEvent
from workstation.models.fast import construct

#: Results a live run yields; ``idle`` and ``active`` only go to the event streams.
YIELDED_ACTIONS = frozenset({"scheduled", "opened", "closed", "cancelled"})


@dataclass(slots=True)
class LiveJob:
    """What one live run works on: values only, no context lookups."""

    symbol: str
    strategy: LiveClientStrategy
    clock: Clock
    tick_ms: int
    until: int | None
    is_stopped: Callable[[], bool]
    request_stop: Callable[[], None]


async def run_live(job: LiveJob) -> AsyncIterator[Result]:
    """Restore the strategy, then tick on the grid until a stop is requested and the strategy is flat.

    Closes and cancels the previous run saved but was killed before announcing are announced (and yielded) first.

    A tick time never repeats, not even across a restart: ticks the persisted progress says were evaluated are
    skipped. A failing tick is reported on ``error`` and retried at the next tick.
    """
    strategy = job.strategy
    await strategy.wait_for_init()
    for announced in await strategy.announce_saved_closes():
        yield announced
    previous: int | None = None
    previous_wall: int | None = None
    while True:
        now = clock_ms(job.clock)
        when = now // job.tick_ms * job.tick_ms
        if previous is not None and when <= previous:
            await job.clock.sleep((previous + job.tick_ms - now) / 1000)
            continue
        previous = when
        if job.until is not None and when > job.until:
            job.request_stop()
        if strategy.resume_after is not None and when <= strategy.resume_after:
            skip_to = getattr(job.clock, "skip_to", None)
            if skip_to is not None:
                # A replay need not wait through ticks it already evaluated before the restart.
                skip_to(strategy.resume_after + job.tick_ms)
            else:
                await _sleep_until(job, strategy.resume_after + job.tick_ms)
            continue
        started = time.perf_counter()
        token = execution_context.set(ExecutionContext(job.symbol, when, False))
        try:
            result = await strategy.tick(when)
        except Exception as exc:
            report_error("Live.run", exc, symbol=job.symbol, strategy_name=strategy.strategy_name, backtest=False)
            if isinstance(exc, StrategyAbortedError):
                raise  # what would have ended the program ends this run, not the next tick
            await _sleep_until(job, when + job.tick_ms)
            continue
        finally:
            execution_context.reset(token)
        wall = time.time_ns() // 1_000_000
        events.performance.emit(
            construct(
                PerformanceEvent,
                timestamp=wall,
                previous_timestamp=previous_wall,
                metric_type="live_tick",
                duration=(time.perf_counter() - started) * 1000,
                symbol=job.symbol,
                strategy_name=strategy.strategy_name,
                exchange_name=strategy.exchange_name,
                frame_name="",
                backtest=False,
            )
        )
        previous_wall = wall
        if result is not None and result.action in YIELDED_ACTIONS:
            yield result
        if job.is_stopped() and strategy.is_flat:
            return
        await _sleep_until(job, when + job.tick_ms)


async def _sleep_until(job: LiveJob, moment: int) -> None:
    await job.clock.sleep(max(0, moment - clock_ms(job.clock)) / 1000)

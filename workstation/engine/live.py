"""The live runner (SPEC §15.1): ticks on the tick-period grid of a clock, as an async generator."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from workstation.clients.live_strategy import LiveClientStrategy
from workstation.clients.strategy import Result
from workstation.context import ExecutionContext, execution_context
from workstation.engine.clock import Clock, clock_ms
from workstation.errors import LiveRunFailedError, RunNotFoundError, StrategyAbortedError
from workstation.events import events, report_error
from workstation.manual_commands import ManualOutcome, ManualQueue, apply_command
from workstation.models.events import PerformanceEvent
from workstation.models.fast import construct
from workstation.timeutil import iso

logger = logging.getLogger("workstation.live")

#: Results a live run yields; ``idle`` and ``active`` only go to the event streams.
YIELDED_ACTIONS = frozenset({"scheduled", "opened", "closed", "cancelled"})

#: Ticks in a row that fail with the same error before the run gives up.
IDENTICAL_FAILURES = 5

#: After failed ticks in a row the run pauses 1, 2, 4, 8, then 16 ticks at most, before trying again.
LONGEST_PAUSE_DOUBLINGS = 4


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
    #: The trader's commands, applied between ticks.
    manual: ManualQueue = field(default_factory=ManualQueue)


async def run_live(job: LiveJob) -> AsyncIterator[Result]:
    """Restore the strategy, then tick on the grid until a stop is requested and the strategy is flat.

    Closes and cancels the previous run saved but was killed before announcing are announced (and yielded) first.
    A tick time never repeats, not even across a restart: ticks the persisted progress says were evaluated are
    skipped. A failing tick is retried after a growing pause; each new error is reported on ``error`` once, and
    :data:`IDENTICAL_FAILURES` identical ones in a row end the run. A stop (requested, or ``until``
    passed) ends a flat run even while its ticks fail; a flat run whose stored clock is already past ``until`` ends
    at once, saying so in the log. Between ticks the run applies the trader's commands (``job.manual``), each at a
    moment of its own: the clock's present, after everything evaluated before and before the next tick.

    Raises
    ------
    LiveRunFailedError
        If :data:`IDENTICAL_FAILURES` ticks in a row failed with the same error.
    """
    strategy = job.strategy
    await strategy.wait_for_init()
    for announced in await strategy.announce_saved_closes():
        yield announced
    if _already_finished(job):
        return
    failures = _FailureSeries(job)
    previous: int | None = None
    previous_wall: int | None = None
    while True:
        now = clock_ms(job.clock)
        when = now // job.tick_ms * job.tick_ms
        if previous is not None and when <= previous:
            async for applied in _rest_until(job, previous + job.tick_ms):
                yield applied
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
        result: Result | None = None
        job.manual.evaluated = when
        token = execution_context.set(ExecutionContext(job.symbol, when, False))
        try:
            result = await strategy.tick(when)
            await strategy.save_progress(when)
        except Exception as exc:
            if isinstance(exc, StrategyAbortedError):
                report_error("Live.run", exc, symbol=job.symbol, strategy_name=strategy.strategy_name, backtest=False)
                raise  # what would have ended the program ends this run, not the next tick
            pause_ticks = failures.record(exc)
            if result is not None and result.action in YIELDED_ACTIONS:
                # The tick's change is saved and announced; only its progress record failed.
                yield result
            if job.is_stopped() and strategy.is_flat:
                return
            async for applied in _rest_until(job, when + pause_ticks * job.tick_ms):
                yield applied
            continue
        finally:
            execution_context.reset(token)
        failures.clear()
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
        async for applied in _rest_until(job, when + job.tick_ms):
            yield applied


def _already_finished(job: LiveJob) -> bool:
    """Tell (and log) whether a flat run resumed from a stored clock already at or past its ``until``."""
    strategy = job.strategy
    resumed = strategy.resume_after
    if job.until is None or resumed is None or resumed < job.until or not strategy.is_flat:
        return False
    logger.warning(
        "live run of %s:%s ends at once: its stored state had already reached %s, at or past its end %s",
        job.symbol,
        strategy.strategy_name,
        iso(resumed),
        iso(job.until),
    )
    return True


class _FailureSeries:
    """Consecutive failed ticks: report each new error once, pause longer after each, give up after a few alike."""

    def __init__(self, job: LiveJob) -> None:
        self._job = job
        self._kind: tuple[type[BaseException], str] | None = None
        self._alike = 0
        self._failed = 0

    def record(self, exc: Exception) -> int:
        """Count ``exc``; return how many ticks to pause, or raise ``LiveRunFailedError`` when it is enough."""
        kind = (type(exc), str(exc))
        strategy = self._job.strategy
        if kind != self._kind:
            self._kind, self._alike = kind, 0
            report_error("Live.run", exc, symbol=self._job.symbol, strategy_name=strategy.strategy_name, backtest=False)
        self._alike += 1
        self._failed += 1
        if self._alike >= IDENTICAL_FAILURES:
            raise LiveRunFailedError(
                f"live run of {self._job.symbol}:{strategy.strategy_name} stopped: {self._alike} ticks in a row "
                f"failed with {type(exc).__name__}: {exc}"
            ) from exc
        return 1 << min(self._failed - 1, LONGEST_PAUSE_DOUBLINGS)

    def clear(self) -> None:
        """Forget the series after a tick that worked."""
        self._kind, self._alike, self._failed = None, 0, 0


async def _sleep_until(job: LiveJob, moment: int) -> None:
    await job.clock.sleep(max(0, moment - clock_ms(job.clock)) / 1000)


async def _rest_until(job: LiveJob, moment: int) -> AsyncIterator[Result]:
    """Wait for the clock to reach ``moment``, applying the trader's commands as they come; yield their results.

    A command books at the clock's present, after the last moment evaluated and before ``moment`` (the next tick):
    one that cannot fit before it waits for the tick.
    """
    manual = job.manual
    while True:
        now = clock_ms(job.clock)
        if now >= moment:
            return
        booked = manual.next_moment(now)
        if manual.pending and booked < moment:
            result = await _apply(job, booked)
            if result is not None and result.action in YIELDED_ACTIONS:
                yield result
            continue
        await manual.sleep(job.clock.sleep((moment - now) / 1000))


async def _apply(job: LiveJob, when: int) -> Result | None:
    """Apply the oldest waiting command at ``when`` and hand its outcome to whoever asked."""
    strategy = job.strategy
    command, outcome = job.manual.take()
    job.manual.evaluated = when
    token = execution_context.set(ExecutionContext(job.symbol, when, False))
    try:
        done, result = await apply_command(strategy, command, when)
    except Exception as exc:
        if isinstance(exc, StrategyAbortedError):
            outcome.set_exception(exc)
            raise
        report_error("Live.command", exc, symbol=job.symbol, strategy_name=strategy.strategy_name, backtest=False)
        done = ManualOutcome(action=command.action, applied=False, reason=f"the run failed: {exc}", timestamp=when)
        result = None
    except BaseException:
        # The run itself ends (cancelled, or killed by strategy code): whoever asked must not wait forever.
        ended = f"the run of strategy {strategy.strategy_name!r} on symbol {job.symbol!r} ended"
        outcome.set_exception(RunNotFoundError(f"{ended} while applying the command"))
        raise
    finally:
        execution_context.reset(token)
    if not outcome.done():
        outcome.set_result(done)
    return result

"""Feed jobs to a `JobPool` a few at a time and hand each outcome to the sweep as it arrives.

Only ``2 × workers`` jobs are submitted at once, so a grid of millions of sets never becomes millions of futures, and a
stop leaves little to withdraw. A job whose outcome is already known (its strategy could not even be built) is an
`OptimizerJobResult` in the stream and skips the pool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from typing import TypeVar

from workstation.optimizer.executors import JobHandle, JobPool
from workstation.optimizer.jobs import OptimizerJob, OptimizerJobResult

__all__ = ["ScheduledJob", "run_jobs"]

TagT = TypeVar("TagT", bound=Hashable)

#: A job (or its outcome, when known in advance) with the tag the sweep recognises it by.
ScheduledJob = tuple[TagT, OptimizerJob | OptimizerJobResult]


def _known(outcome: OptimizerJobResult) -> JobHandle:
    future: asyncio.Future[OptimizerJobResult] = asyncio.get_running_loop().create_future()
    future.set_result(outcome)
    return JobHandle(future, lambda: False)


async def run_jobs(
    pool: JobPool,
    jobs: Iterator[ScheduledJob[TagT]],
    on_finished: Callable[[TagT, OptimizerJobResult], Awaitable[Iterable[ScheduledJob[TagT]]]],
    is_stopped: Callable[[], bool],
) -> None:
    """Run ``jobs`` on ``pool`` until they are done or a stop is requested.

    Parameters
    ----------
    pool
        Where jobs run.
    jobs
        The jobs in submission order; consumed lazily.
    on_finished
        Awaited for each outcome, in completion order; the jobs it returns run before the rest of ``jobs``.
    is_stopped
        Polled before each submission: once true, nothing more is submitted, jobs not yet started are withdrawn and
        the running ones finish (their outcomes still reach ``on_finished``).

    Raises
    ------
    asyncio.CancelledError
        When the awaiting task is cancelled; every job not yet started is withdrawn first.
    """
    follow_ups: deque[ScheduledJob[TagT]] = deque()
    window = max(2 * pool.workers, 1)
    in_flight: dict[asyncio.Future[OptimizerJobResult], tuple[TagT, JobHandle]] = {}
    withdrawn = False

    def next_job() -> ScheduledJob[TagT] | None:
        if follow_ups:
            return follow_ups.popleft()
        return next(jobs, None)

    try:
        while True:
            if not is_stopped():
                while len(in_flight) < window and (scheduled := next_job()) is not None:
                    tag, job = scheduled
                    handle = _known(job) if isinstance(job, OptimizerJobResult) else pool.submit(job)
                    in_flight[handle.result] = (tag, handle)
            elif not withdrawn:
                withdrawn = True
                for _, handle in in_flight.values():
                    handle.cancel()
            if not in_flight:
                return
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                tag, _ = in_flight.pop(future)
                if not future.cancelled():
                    follow_ups.extend(await on_finished(tag, future.result()))
    except asyncio.CancelledError:
        for future, (_, handle) in in_flight.items():
            handle.cancel()
            future.cancel()
        raise

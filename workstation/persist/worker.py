"""One dedicated thread per storage location, so blocking file and SQLite work never stalls the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["SerialWorker"]

T = TypeVar("T")
P = ParamSpec("P")


class SerialWorker:
    """Run jobs one at a time, in submission order, on a thread started at the first job.

    Awaiting goes through ``asyncio.wrap_future``, which needs nothing but ``call_soon_threadsafe`` from the running
    loop, so it works under plain asyncio and under qasync alike. After :meth:`shutdown` the next job starts a new
    thread.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, job: Callable[[], T]) -> T:
        """Run ``job`` on the worker thread and return its result (or raise its exception)."""
        return await asyncio.wrap_future(self._start().submit(job))

    async def call(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function(*args, **kwargs)`` on the worker thread and return its result: ``run`` with arguments."""
        return await self.run(functools.partial(function, *args, **kwargs))

    def call_blocking(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``function(*args, **kwargs)`` on the worker thread and wait for it, blocking the caller.

        For work that has no event loop to await on (opening a store before the loop runs) or that is quick and
        awaited nowhere; never call it from a job of this worker (it would wait for itself).
        """
        return self._start().submit(function, *args, **kwargs).result()

    async def close(self, last_job: Callable[[], object] | None = None) -> None:
        """Run ``last_job`` after the queued jobs, wait for it without blocking the loop, then stop the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            if last_job is not None:
                await asyncio.wrap_future(executor.submit(last_job))
        finally:
            executor.shutdown(wait=True)

    def shutdown(self, last_job: Callable[[], object] | None = None) -> None:
        """Run ``last_job`` after the queued jobs, then stop the thread, blocking the caller but needing no loop."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        if last_job is not None:
            executor.submit(last_job)
        executor.shutdown(wait=True)

    def _start(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        return self._executor

"""Calling ``get_signal``: the helper gate and the timeout (SPEC §6.3 step 5)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

from workstation.clients.calls import is_async_callable
from workstation.context import helpers_enabled
from workstation.timeutil import Moments


def signal_caller(
    get_signal: Callable[..., Any], *, strategy_name: str, timeout_seconds: float
) -> Callable[[str, int], Awaitable[Any]]:
    """Wrap a user ``get_signal`` so it runs with the helpers enabled and, if async, under a timeout.

    The runner has already set the tick's ``ExecutionContext``, which the helpers read.
    """
    is_async = is_async_callable(get_signal)
    moment_of = Moments().at

    async def call(symbol: str, when: int) -> Any:
        gate_token = helpers_enabled.set(True)
        try:
            if not is_async:
                return get_signal(symbol, moment_of(when))
            coroutine = get_signal(symbol, moment_of(when))
            try:
                suspended_on = coroutine.send(None)
            except StopIteration as finished:
                return finished.value
            # It awaits something real: only now is a timer worth arming (most calls never get here).
            deadline = asyncio.timeout(timeout_seconds)
            try:
                async with deadline:
                    return await _Resume(coroutine, suspended_on)
            except TimeoutError:
                if not deadline.expired():
                    raise
                raise TimeoutError(
                    f"get_signal timed out after {timeout_seconds} s (strategy={strategy_name}, symbol={symbol})"
                ) from None
        finally:
            helpers_enabled.reset(gate_token)

    return call


class _Resume:
    """Await the rest of a coroutine that was started by hand and suspended on ``pending``."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coroutine = coroutine
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        pending = self._pending
        while True:
            try:
                sent = yield pending
            except BaseException as thrown:
                try:
                    pending = self._coroutine.throw(thrown)
                except StopIteration as finished:
                    return finished.value
                continue
            try:
                pending = self._coroutine.send(sent)
            except StopIteration as finished:
                return finished.value

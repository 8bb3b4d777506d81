"""Calling ``get_signal``: the helper gate and the timeout (SPEC §6.3 step 5)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from contextvars import Token
from typing import Any

from workstation.clients.calls import PendingCall, is_async_callable
from workstation.context import helpers_enabled
from workstation.timeutil import Moments


def signal_caller(
    get_signal: Callable[..., Any], *, strategy_name: str, timeout_seconds: float
) -> Callable[[str, int], Any]:
    """Wrap a user ``get_signal`` so it runs with the helpers enabled and, if async, under a timeout.

    The runner has already set the tick's ``ExecutionContext``, which the helpers read. The wrapper is a plain
    function, not a coroutine: it returns ``get_signal``'s value, or a `PendingCall` to await when ``get_signal``
    awaits something real. Nearly every call of a backtest finishes at once (a plain function, or a coroutine that
    awaits nothing real), and its caller awaits only what did not.
    """
    is_async = is_async_callable(get_signal)
    moment_of = Moments().at
    gate_set, gate_reset = helpers_enabled.set, helpers_enabled.reset

    def call(symbol: str, when: int) -> Any:
        gate_token = gate_set(True)
        if not is_async:
            try:
                return get_signal(symbol, moment_of(when))
            except StopIteration as raised:
                # As the coroutine this call was before would have turned it (PEP 479): the same error is reported.
                raise RuntimeError("coroutine raised StopIteration") from raised
            finally:
                gate_reset(gate_token)
        try:
            coroutine = get_signal(symbol, moment_of(when))
            suspended_on = coroutine.send(None)
        except StopIteration as finished:
            gate_reset(gate_token)
            return finished.value
        except BaseException:
            gate_reset(gate_token)
            raise
        # It awaits something real: only now is a timer worth arming (most calls never get here).
        return PendingCall(_finish(coroutine, suspended_on, gate_token, timeout_seconds, strategy_name, symbol))

    return call


async def _finish(
    coroutine: Coroutine[Any, Any, Any],
    suspended_on: Any,
    gate_token: Token[bool],
    timeout_seconds: float,
    strategy_name: str,
    symbol: str,
) -> Any:
    """Await the rest of ``coroutine`` under the timeout, the helpers enabled until it ends."""
    try:
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

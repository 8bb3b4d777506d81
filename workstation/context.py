"""Ambient run state (SPEC §3.1): MethodContext per run, ExecutionContext per tick, the helper gate.

Clients never read these; the public API sets them, connection services and the strategy helpers read them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from workstation.config import Config
from workstation.errors import ContextError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MethodContext:
    """Which schemas a run uses, and the config snapshot it took when it started."""

    strategy_name: str
    exchange_name: str
    frame_name: str
    config: Config


class ExecutionContext(NamedTuple):
    """The tick being evaluated: symbol, time (epoch ms) and mode.

    A named tuple rather than a frozen dataclass: a backtest builds one per minute, and a tuple is built twice as fast.
    """

    symbol: str
    when: int
    backtest: bool


method_context: ContextVar[MethodContext | None] = ContextVar("method_context", default=None)
execution_context: ContextVar[ExecutionContext | None] = ContextVar("execution_context", default=None)
helpers_enabled: ContextVar[bool] = ContextVar("helpers_enabled", default=False)


def require_helper_context(helper: str) -> tuple[MethodContext, ExecutionContext]:
    """Return the contexts a helper needs, or raise ``ContextError`` outside ``get_signal`` and strategy callbacks."""
    method = method_context.get()
    execution = execution_context.get()
    if not helpers_enabled.get() or method is None or execution is None:
        raise ContextError(f"{helper}() is only available inside get_signal and strategy callbacks")
    return method, execution


class ContextIterator(Generic[T]):
    """Run an async generator so that every step sees ``context`` and the consumer never does.

    The equivalent of backtest-kit's ``runAsyncIterator``: the context is set around each ``__anext__`` (and
    ``aclose``) with a token and reset in ``finally``, so it stays valid across ``yield`` inside the generator
    and does not leak into the code that iterates.
    """

    def __init__(self, generator: AsyncIterator[T], context: MethodContext) -> None:
        self._generator = generator
        self._context = context

    def __aiter__(self) -> ContextIterator[T]:
        return self

    async def __anext__(self) -> T:
        token = method_context.set(self._context)
        try:
            return await self._generator.__anext__()
        finally:
            method_context.reset(token)

    async def aclose(self) -> None:
        """Close the generator inside the run's context (its ``finally`` blocks may need it)."""
        token = method_context.set(self._context)
        try:
            close: Any = getattr(self._generator, "aclose", None)
            if close is not None:
                await close()
        finally:
            method_context.reset(token)

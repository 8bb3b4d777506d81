"""Calling user code that may be sync or async."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine, Generator
from typing import Any, NoReturn

from workstation.errors import StrategyAbortedError

#: Where a user callback's ``Exception`` goes: its source name and the exception (``report_error`` or alike).
ErrorSink = Callable[[str, BaseException], None]


def is_async_callable(fn: object) -> bool:
    """Tell whether calling ``fn`` returns an awaitable (``async def`` or an object with ``async __call__``)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


async def call_maybe_async(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` and await its result when it is awaitable."""
    result = fn(*args)
    if inspect.isawaitable(result):
        return await result
    return result


def is_task_cancellation(raised: BaseException) -> bool:
    """Tell whether ``raised`` is the cancellation of the running task (Stop, the window closing).

    User code may raise ``CancelledError`` itself; only one that arrives while the task is being cancelled is the
    run's own, to be let through.
    """
    if not isinstance(raised, asyncio.CancelledError):
        return False
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def end_run(raised: BaseException, *, where: str, strategy_name: str = "", owner: str = "") -> NoReturn:
    """End the run for what user code raised beyond ``Exception``: it may not end the application.

    Raise :class:`StrategyAbortedError` naming the code (see ``StrategyAbortedError.of``); the task's own
    cancellation (Stop, the window closing) goes on as it is.
    """
    if is_task_cancellation(raised):
        raise raised
    raise StrategyAbortedError.of(raised, strategy_name=strategy_name, where=where, owner=owner) from raised


async def call_callback(
    callback: Callable[..., Any],
    *args: Any,
    where: str,
    on_error: ErrorSink,
    strategy_name: str = "",
    owner: str = "",
) -> None:
    """Call a user callback: an ``Exception`` goes to ``on_error`` and the run goes on; beyond that, ``end_run``."""
    try:
        await call_maybe_async(callback, *args)
    except StrategyAbortedError:
        raise  # code the callback called has already ended the run
    except Exception as exc:
        on_error(where, exc)
    except BaseException as raised:
        end_run(raised, where=where, strategy_name=strategy_name, owner=owner)


class PendingCall:
    """The rest of a call that did not finish at once: awaiting it awaits ``coroutine``.

    What a plain caller returns in place of a value it does not have yet (`SignalCaller`): a value of this class
    cannot come from user code, so the caller's caller awaits exactly these.
    """

    __slots__ = ("_coroutine",)

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self._coroutine = coroutine

    def __await__(self) -> Generator[Any, Any, Any]:
        return self._coroutine.__await__()

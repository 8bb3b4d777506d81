"""The event hub ``ws.events`` and the ``listen_*`` functions (SPEC §16).

The hub is one ``QObject`` with a ``Signal(object)`` per stream; it needs no ``QApplication``. Emission is
synchronous on the loop thread. Internal subscribers (report storages) connect at import, before any user
listener. User listeners registered through ``listen_*`` are isolated: an exception, ``BaseException`` included (a
listener's ``sys.exit`` does not end the application), is caught, logged and re-emitted on ``error``; an
``async def`` listener gets its own FIFO queue drained by one task.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import SIGNAL, QObject, Qt, Signal

from workstation.clients.calls import is_task_cancellation
from workstation.models.events import ErrorEvent

logger = logging.getLogger("workstation.events")

Listener = Callable[[Any], Any]
Unsubscribe = Callable[[], None]

#: Every stream of the hub, in the order of SPEC §16.
EVENT_NAMES: tuple[str, ...] = (
    "signal",
    "signal_backtest",
    "signal_live",
    "error",
    "done_backtest",
    "done_live",
    "done_walker",
    "progress_backtest",
    "progress_walker",
    "progress_optimizer",
    "walker",
    "walker_complete",
    "walker_stop",
    "partial_profit",
    "partial_loss",
    "risk",
    "performance",
    "validation",
    "commit",
    "active_ping",
    "schedule_ping",
    "breakeven_available",
    "pause",
)


class EventHub(QObject):
    """One Qt signal per engine stream; payloads are frozen pydantic models."""

    signal = Signal(object)
    signal_backtest = Signal(object)
    signal_live = Signal(object)
    error = Signal(object)
    done_backtest = Signal(object)
    done_live = Signal(object)
    done_walker = Signal(object)
    progress_backtest = Signal(object)
    progress_walker = Signal(object)
    progress_optimizer = Signal(object)
    walker = Signal(object)
    walker_complete = Signal(object)
    walker_stop = Signal(object)
    partial_profit = Signal(object)
    partial_loss = Signal(object)
    risk = Signal(object)
    performance = Signal(object)
    validation = Signal(object)
    commit = Signal(object)
    active_ping = Signal(object)
    schedule_ping = Signal(object)
    breakeven_available = Signal(object)
    pause = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._signatures = {name: SIGNAL(f"{name}(PyObject)") for name in EVENT_NAMES}
        self._internal: dict[str, int] = dict.fromkeys(EVENT_NAMES, 0)
        self._internal_slots: dict[str, list[Callable[[Any], None]]] = {name: [] for name in EVENT_NAMES}
        self._listened = ListenerCheck(self)
        #: Bumped whenever a subscription made through this module changes, so runners can cache who listens.
        self.generation = 0

    def connect_internal(self, name: str, slot: Callable[[Any], None]) -> None:
        """Connect an engine-owned subscriber (a report storage); it does not count as a listener."""
        # Direct: a job run in a worker thread (dask) has no Qt loop to deliver queued calls to, and the
        # storages must see each event before user listeners wherever it is emitted.
        getattr(self, name).connect(slot, Qt.ConnectionType.DirectConnection)
        self._internal[name] += 1
        self._internal_slots[name].append(slot)
        self.generation += 1

    def deliver(self, name: str, payload: Any) -> None:
        """Emit ``payload`` on ``name``: to the engine's storages alone by a plain call while no one else listens.

        A Qt emit costs ten times the storage's own work, and a managed backtest emits tens of thousands of commit
        and partial events. Who listens is `ListenerCheck`'s answer: a ``listen_*`` subscription is seen at once.
        """
        self.deliver_heard(name, payload, self._listened(name))

    def deliver_heard(self, name: str, payload: Any, listened: bool) -> None:
        """Emit ``payload`` on ``name`` as `deliver` does, told whether anyone listens (a `ListenerCheck`'s answer)."""
        if listened:
            getattr(self, name).emit(payload)
            return
        for slot in self._internal_slots[name]:
            slot(payload)

    def listened(self, name: str) -> bool:
        """Tell whether `deliver` would reach more than the engine's storages on ``name`` (`ListenerCheck`)."""
        return self._listened(name)

    def delivers(self, name: str) -> bool:
        """Tell whether `deliver` would reach anything on ``name``: a storage or (`ListenerCheck`) a listener."""
        return bool(self._internal_slots[name]) or self._listened(name)

    def has_receivers(self, name: str) -> bool:
        """Tell whether anything at all, the engine's storages included, is connected to ``name``."""
        return self.receivers(self._signatures[name]) > 0

    def has_listeners(self, name: str) -> bool:
        """Tell whether anything besides the engine's own storages (a user listener, a widget) listens to ``name``.

        The engine skips building payloads nobody would see (idle results, progress) when this is False.
        """
        return self.receivers(self._signatures[name]) > self._internal[name]


class ListenerCheck:
    """``has_listeners`` for a backtest run's hot loops: answers re-asked of Qt at most every 20 ms.

    A subscription made through this module (``listen_*``) is seen at once (it bumps the hub's generation); a widget
    connected directly is seen within 20 ms of engine work. A run has one, its strategy client's: the engine's tick
    loop and the client's candle walk ask it.
    """

    MAX_AGE_SECONDS = 0.02

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        #: The hub's generation the answers were given at, and when they expire (``perf_counter``): a tick loop
        #: compares them itself before it calls `renew`.
        self.generation = -1
        self.expires = 0.0
        self._answers: dict[str, bool] = {}
        #: How many times the answers were forgotten: a reader caching its own figures from them compares it.
        self.renewals = 0

    def renew(self, now: float) -> None:
        """Forget the answers if a subscription changed since they were given or they are 20 ms old at ``now``."""
        if self._hub.generation != self.generation or now >= self.expires:
            self.generation, self.expires = self._hub.generation, now + self.MAX_AGE_SECONDS
            self._answers.clear()
            self.renewals += 1

    def __call__(self, name: str) -> bool:
        """Tell whether anything besides the engine's storages listens to ``name``."""
        now = time.perf_counter()
        # `renew(now)` only when the answers may be stale: asked at every delivery of a run.
        if now >= self.expires or self._hub.generation != self.generation:
            self.renew(now)
        answer = self._answers.get(name)
        if answer is None:
            answer = self._answers[name] = self._hub.has_listeners(name)
        return answer

    def given(self, name: str) -> bool:
        """Answer as `__call__` does from the answers it last gave, without reading the clock.

        For a second stream asked right after `__call__` when nothing could subscribe in between: one renewal check
        serves both.
        """
        answer = self._answers.get(name)
        if answer is None:
            answer = self._answers[name] = self._hub.has_listeners(name)
        return answer


events = EventHub()


def error_event(
    source: str,
    exception: BaseException,
    *,
    symbol: str = "",
    strategy_name: str = "",
    backtest: bool = True,
    run_id: int | None = None,
) -> ErrorEvent:
    """Build the ``ErrorEvent`` that reports ``exception`` raised in ``source``."""
    return ErrorEvent(
        source=source,
        message=str(exception),
        exception_type=type(exception).__name__,
        symbol=symbol,
        strategy_name=strategy_name,
        backtest=backtest,
        run_id=run_id,
        timestamp=int(time.time() * 1000),
        exception=exception,
    )


def report_error(source: str, exception: BaseException, **where: Any) -> None:
    """Log ``exception`` and emit it on ``error``.

    The log record carries ``error_event=True``: a view that shows the ``error`` events (the window's Log dock) skips
    the record instead of showing the error twice.
    """
    logger.error("%s failed: %s", source, exception, exc_info=exception, extra={"error_event": True})
    events.error.emit(error_event(source, exception, **where))


class _Subscription:
    """One user listener on one stream: isolation, async queueing, idempotent unsubscribe."""

    def __init__(self, name: str, fn: Listener, accept: Callable[[Any], bool] | None) -> None:
        self._name = name
        self._fn = fn
        self._accept = accept
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
        )
        self._queue: asyncio.Queue[Any] | None = None
        self._drain: asyncio.Task[None] | None = None
        self._active = True
        getattr(events, name).connect(self._deliver, Qt.ConnectionType.DirectConnection)
        _subscriptions.add(self)
        events.generation += 1

    def _deliver(self, payload: Any) -> None:
        if not self._active:
            return
        try:
            if self._accept is not None:
                if not self._accept(payload):
                    return
                self.unsubscribe()
            if self._is_async:
                self._enqueue(payload)
            else:
                self._fn(payload)
        except BaseException as raised:  # a listener's sys.exit may not end the application
            self._listener_failed(raised)

    def _enqueue(self, payload: Any) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._drain = asyncio.get_running_loop().create_task(self._drain_queue())
        self._queue.put_nowait(payload)

    async def _drain_queue(self) -> None:
        assert self._queue is not None
        while True:
            payload = await self._queue.get()
            try:
                await self._fn(payload)
            except BaseException as raised:
                if is_task_cancellation(raised):
                    raise
                self._listener_failed(raised)
            if self._queue.empty() and not self._active:
                return

    def _listener_failed(self, exc: BaseException) -> None:
        if self._name == "error":
            logger.exception("error listener failed", exc_info=exc)
            return
        report_error("listener", exc)

    def unsubscribe(self) -> None:
        """Stop delivering; calling it again does nothing."""
        if not self._active:
            return
        self._active = False
        _subscriptions.discard(self)
        getattr(events, self._name).disconnect(self._deliver)
        events.generation += 1
        if self._drain is not None and self._queue is not None and self._queue.empty():
            self._drain.cancel()


_subscriptions: set[_Subscription] = set()


def listen(name: str, fn: Listener) -> Unsubscribe:
    """Call ``fn(payload)`` for every event of stream ``name``; return the unsubscribe callable."""
    return _Subscription(name, fn, None).unsubscribe


def listen_once(name: str, accept: Callable[[Any], bool], fn: Listener) -> Unsubscribe:
    """Call ``fn`` for the first event of ``name`` that ``accept`` approves, then unsubscribe."""
    return _Subscription(name, fn, accept).unsubscribe


def remove_user_listeners() -> None:
    """Unsubscribe every listener registered through ``listen_*``."""
    for subscription in list(_subscriptions):
        subscription.unsubscribe()


def _listen_fn(name: str) -> Callable[[Listener], Unsubscribe]:
    def listen_to(fn: Listener) -> Unsubscribe:
        return listen(name, fn)

    listen_to.__name__ = f"listen_{name}"
    listen_to.__doc__ = f"Call ``fn(payload)`` for every ``{name}`` event; return the unsubscribe callable."
    return listen_to


def _listen_once_fn(name: str) -> Callable[[Callable[[Any], bool], Listener], Unsubscribe]:
    def listen_to_once(accept: Callable[[Any], bool], fn: Listener) -> Unsubscribe:
        return listen_once(name, accept, fn)

    listen_to_once.__name__ = f"listen_{name}_once"
    listen_to_once.__doc__ = f"Call ``fn`` once, for the first ``{name}`` event ``accept`` approves."
    return listen_to_once


listen_signal = _listen_fn("signal")
listen_signal_once = _listen_once_fn("signal")
listen_signal_backtest = _listen_fn("signal_backtest")
listen_signal_backtest_once = _listen_once_fn("signal_backtest")
listen_signal_live = _listen_fn("signal_live")
listen_signal_live_once = _listen_once_fn("signal_live")
listen_error = _listen_fn("error")
listen_error_once = _listen_once_fn("error")
listen_done_backtest = _listen_fn("done_backtest")
listen_done_backtest_once = _listen_once_fn("done_backtest")
listen_done_live = _listen_fn("done_live")
listen_done_live_once = _listen_once_fn("done_live")
listen_done_walker = _listen_fn("done_walker")
listen_done_walker_once = _listen_once_fn("done_walker")
listen_progress_backtest = _listen_fn("progress_backtest")
listen_progress_backtest_once = _listen_once_fn("progress_backtest")
listen_progress_walker = _listen_fn("progress_walker")
listen_progress_walker_once = _listen_once_fn("progress_walker")
listen_progress_optimizer = _listen_fn("progress_optimizer")
listen_progress_optimizer_once = _listen_once_fn("progress_optimizer")
listen_walker = _listen_fn("walker")
listen_walker_once = _listen_once_fn("walker")
listen_walker_complete = _listen_fn("walker_complete")
listen_walker_complete_once = _listen_once_fn("walker_complete")
listen_walker_stop = _listen_fn("walker_stop")
listen_walker_stop_once = _listen_once_fn("walker_stop")
listen_partial_profit = _listen_fn("partial_profit")
listen_partial_profit_once = _listen_once_fn("partial_profit")
listen_partial_loss = _listen_fn("partial_loss")
listen_partial_loss_once = _listen_once_fn("partial_loss")
listen_risk = _listen_fn("risk")
listen_risk_once = _listen_once_fn("risk")
listen_performance = _listen_fn("performance")
listen_performance_once = _listen_once_fn("performance")
listen_validation = _listen_fn("validation")
listen_validation_once = _listen_once_fn("validation")
listen_commit = _listen_fn("commit")
listen_commit_once = _listen_once_fn("commit")
listen_active_ping = _listen_fn("active_ping")
listen_active_ping_once = _listen_once_fn("active_ping")
listen_schedule_ping = _listen_fn("schedule_ping")
listen_schedule_ping_once = _listen_once_fn("schedule_ping")
listen_breakeven_available = _listen_fn("breakeven_available")
listen_breakeven_available_once = _listen_once_fn("breakeven_available")
listen_pause = _listen_fn("pause")
listen_pause_once = _listen_once_fn("pause")

"""Event hub delivery rules of SPEC §16 that hold without the engine: isolation, once, unsubscribe, async FIFO."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any

import pytest

import workstation as ws
from workstation.events import EVENT_NAMES, EventHub
from workstation.models.events import ErrorEvent

# SPEC §16's table, pinned here: the hub must offer exactly these streams.
SPEC_STREAMS = (
    "signal_backtest",
    "signal_live",
    "signal",
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
    # SPEC-position P17: the position commands' events, the pings, breakeven within reach and the pause.
    "commit",
    "active_ping",
    "schedule_ping",
    "breakeven_available",
    "pause",
)


def _emit(name: str, payload: Any) -> None:
    getattr(ws.events, name).emit(payload)


def _listen(name: str, fn: Callable[[Any], Any]) -> Callable[[], None]:
    unsubscribe: Callable[[], None] = getattr(ws, f"listen_{name}")(fn)
    return unsubscribe


def _listen_once(name: str, accept: Callable[[Any], bool], fn: Callable[[Any], Any]) -> Callable[[], None]:
    unsubscribe: Callable[[], None] = getattr(ws, f"listen_{name}_once")(accept, fn)
    return unsubscribe


class Boom(Exception):
    """A listener failure nobody else raises."""


# ------------------------------------------------------------------------------------------------ every stream


def test_the_hub_has_exactly_the_streams_of_the_spec() -> None:
    assert sorted(EVENT_NAMES) == sorted(SPEC_STREAMS)
    for name in SPEC_STREAMS:
        assert callable(getattr(ws, f"listen_{name}"))
        assert callable(getattr(ws, f"listen_{name}_once"))


@pytest.mark.parametrize("name", SPEC_STREAMS)
def test_listen_delivers_and_unsubscribe_stops_on_every_stream(name: str) -> None:
    got: list[Any] = []
    payload = object()
    unsubscribe = _listen(name, got.append)
    _emit(name, payload)
    assert len(got) == 1
    assert got[0] is payload
    unsubscribe()
    _emit(name, object())
    assert got == [payload]


@pytest.mark.parametrize("name", SPEC_STREAMS)
def test_listen_once_fires_once_on_every_stream(name: str) -> None:
    got: list[Any] = []
    _listen_once(name, lambda payload: payload == "yes", got.append)
    for payload in ("no", "no", "yes", "yes", "no", "yes"):
        _emit(name, payload)
    assert got == ["yes"]


# ------------------------------------------------------------------------------------------------ rule 2: sync order


def test_sync_listeners_run_inline_in_subscription_order() -> None:
    order: list[str] = []
    for label in ("a", "b", "c", "d"):
        ws.listen_signal(lambda _payload, label=label: order.append(label))
    ws.events.signal.emit(1)
    assert order == ["a", "b", "c", "d"]  # already delivered when emit() returns
    ws.events.signal.emit(2)
    assert order == ["a", "b", "c", "d"] * 2


def test_the_same_function_subscribed_twice_is_called_twice_and_unsubscribed_separately() -> None:
    got: list[Any] = []
    first = ws.listen_signal(got.append)
    ws.listen_signal(got.append)
    ws.events.signal.emit("x")
    assert got == ["x", "x"]
    first()
    first()
    ws.events.signal.emit("y")
    assert got == ["x", "x", "y"]


# ------------------------------------------------------------------------------------------------ rule 3: isolation


def test_a_listener_exception_is_caught_and_reemitted_on_error(caplog: pytest.LogCaptureFixture) -> None:
    errors: list[ErrorEvent] = []
    after: list[Any] = []
    failure = Boom("listener broke")

    def broken(_payload: Any) -> None:
        raise failure

    ws.listen_error(errors.append)
    ws.listen_signal_backtest(broken)
    ws.listen_signal_backtest(after.append)
    with caplog.at_level(logging.DEBUG, logger="workstation"):
        ws.events.signal_backtest.emit("payload")  # must not raise
    assert after == ["payload"]  # later listeners still get the event
    assert len(errors) == 1
    event = errors[0]
    assert isinstance(event, ErrorEvent)
    assert event.source == "listener"
    assert event.message == "listener broke"
    assert event.exception_type == "Boom"
    assert event.exception is failure
    logged = [r for r in caplog.records if r.exc_info is not None and r.exc_info[1] is failure]
    assert len(logged) == 1
    assert logged[0].levelno >= logging.ERROR
    assert logged[0].name.startswith("workstation")


def test_every_failing_event_is_reported_and_the_listener_stays_subscribed() -> None:
    errors: list[ErrorEvent] = []
    ws.listen_error(errors.append)

    def broken(payload: Any) -> None:
        raise ValueError(f"listener {payload}")

    ws.listen_signal(broken)
    for index in range(3):
        ws.events.signal.emit(index)
    assert [(e.source, e.message, e.exception_type) for e in errors] == [
        ("listener", "listener 0", "ValueError"),
        ("listener", "listener 1", "ValueError"),
        ("listener", "listener 2", "ValueError"),
    ]


def test_a_listener_that_exits_is_reported_and_the_application_goes_on() -> None:
    errors: list[ErrorEvent] = []
    after: list[Any] = []
    ws.listen_error(errors.append)

    def exits(_payload: Any) -> None:
        sys.exit(2)

    ws.listen_signal(exits)
    ws.listen_signal(after.append)
    ws.events.signal.emit("x")  # must not raise SystemExit
    assert after == ["x"]
    assert [(e.source, e.message, e.exception_type) for e in errors] == [("listener", "2", "SystemExit")]


def test_an_async_listener_that_exits_is_reported_and_keeps_its_queue() -> None:
    errors: list[ErrorEvent] = []
    got: list[Any] = []

    async def exits_once(payload: Any) -> None:
        if payload == "first":
            sys.exit(2)
        got.append(payload)

    async def scenario() -> None:
        ws.listen_error(errors.append)
        ws.listen_signal(exits_once)
        ws.events.signal.emit("first")
        ws.events.signal.emit("second")
        for _ in range(10):
            await asyncio.sleep(0)

    asyncio.run(scenario())
    assert got == ["second"]
    assert [(e.source, e.exception_type) for e in errors] == [("listener", "SystemExit")]


def test_a_filter_exception_is_reported_like_a_listener_exception() -> None:
    errors: list[ErrorEvent] = []
    got: list[Any] = []
    ws.listen_error(errors.append)

    def accept(payload: Any) -> bool:
        if payload == "bad":
            raise KeyError("filter broke")
        return payload == "good"

    ws.listen_signal_once(accept, got.append)
    ws.events.signal.emit("bad")
    ws.events.signal.emit("good")
    ws.events.signal.emit("good")
    assert got == ["good"]
    assert [(e.source, e.exception_type) for e in errors] == [("listener", "KeyError")]


def test_an_exception_in_an_error_listener_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[Any] = []
    later: list[Any] = []
    failure = Boom("error listener broke")

    def broken_error_listener(event: Any) -> None:
        calls.append(event)
        raise failure

    ws.listen_error(broken_error_listener)
    ws.listen_error(later.append)
    with caplog.at_level(logging.DEBUG, logger="workstation"):
        ws.events.error.emit("first")
    assert calls == ["first"]  # not re-emitted on error: no recursion
    assert later == ["first"]
    logged = [r for r in caplog.records if r.exc_info is not None and r.exc_info[1] is failure]
    assert len(logged) == 1


def test_a_failing_listener_and_a_failing_error_listener_do_not_loop() -> None:
    error_calls: list[Any] = []

    def broken_error_listener(event: Any) -> None:
        error_calls.append(event)
        raise Boom("again")

    def broken(_payload: Any) -> None:
        raise Boom("first")

    ws.listen_error(broken_error_listener)
    ws.listen_signal(broken)
    ws.events.signal.emit(1)
    assert len(error_calls) == 1
    assert error_calls[0].source == "listener"
    assert error_calls[0].message == "first"


# ------------------------------------------------------------------------------------------------ unsubscribe, once


def test_unsubscribe_is_idempotent_and_only_removes_its_own_listener() -> None:
    a: list[Any] = []
    b: list[Any] = []
    unsubscribe_a = ws.listen_risk(a.append)
    ws.listen_risk(b.append)
    unsubscribe_a()
    unsubscribe_a()
    unsubscribe_a()
    ws.events.risk.emit(1)
    assert a == []
    assert b == [1]


def test_listen_once_unsubscribed_before_firing_never_fires() -> None:
    got: list[Any] = []
    unsubscribe = ws.listen_partial_profit_once(lambda _p: True, got.append)
    unsubscribe()
    ws.events.partial_profit.emit(1)
    assert got == []


def test_listen_once_unsubscribe_after_firing_is_a_no_op() -> None:
    got: list[Any] = []
    others: list[Any] = []
    unsubscribe = ws.listen_partial_loss_once(lambda _p: True, got.append)
    ws.listen_partial_loss(others.append)
    ws.events.partial_loss.emit(1)
    unsubscribe()
    unsubscribe()
    ws.events.partial_loss.emit(2)
    assert got == [1]
    assert others == [1, 2]


def test_listen_once_that_raises_still_ends_its_subscription() -> None:
    calls: list[Any] = []
    errors: list[Any] = []
    ws.listen_error(errors.append)

    def broken(payload: Any) -> None:
        calls.append(payload)
        raise Boom("once")

    ws.listen_done_backtest_once(lambda _p: True, broken)
    ws.events.done_backtest.emit(1)
    ws.events.done_backtest.emit(2)
    assert calls == [1]
    assert len(errors) == 1


# ------------------------------------------------------------------------------------------------ rule 4


def test_a_listener_unsubscribed_by_an_earlier_listener_is_not_called_for_that_emission() -> None:
    order: list[str] = []
    handles: dict[str, Callable[[], None]] = {}

    def first(_payload: Any) -> None:
        order.append("first")
        handles["second"]()

    def second(_payload: Any) -> None:
        order.append("second")

    def third(_payload: Any) -> None:
        order.append("third")

    handles["first"] = ws.listen_signal(first)
    handles["second"] = ws.listen_signal(second)
    handles["third"] = ws.listen_signal(third)
    ws.events.signal.emit(1)
    assert order == ["first", "third"]
    ws.events.signal.emit(2)
    assert order == ["first", "third", "first", "third"]


def test_a_listener_that_unsubscribes_an_already_called_one_does_not_undo_that_call() -> None:
    order: list[str] = []
    handles: dict[str, Callable[[], None]] = {}

    def first(_payload: Any) -> None:
        order.append("first")

    def second(_payload: Any) -> None:
        order.append("second")
        handles["first"]()

    handles["first"] = ws.listen_signal(first)
    handles["second"] = ws.listen_signal(second)
    ws.events.signal.emit(1)
    ws.events.signal.emit(2)
    assert order == ["first", "second", "second"]


def test_a_listener_unsubscribing_itself_during_delivery() -> None:
    got: list[Any] = []
    handle: dict[str, Callable[[], None]] = {}

    def once_by_hand(payload: Any) -> None:
        got.append(payload)
        handle["self"]()

    handle["self"] = ws.listen_walker(once_by_hand)
    ws.events.walker.emit(1)
    ws.events.walker.emit(2)
    assert got == [1]


# ------------------------------------------------------------------------------------------------ rule 2: async FIFO


def test_async_listener_gets_events_in_fifo_order_one_at_a_time() -> None:
    log: list[tuple[str, int]] = []
    active: list[int] = []
    overlaps: list[int] = []

    async def slow(payload: int) -> None:
        if active:
            overlaps.append(payload)
        active.append(payload)
        log.append(("start", payload))
        await asyncio.sleep(0.001 * (5 - payload % 5))  # later events would finish first if run concurrently
        log.append(("end", payload))
        active.remove(payload)

    ws.listen_signal(slow)

    async def main() -> list[tuple[str, int]]:
        for index in range(10):
            ws.events.signal.emit(index)
        seen_at_return = list(log)  # the engine does not wait for async listeners
        for _ in range(500):
            if len(log) == 20:
                break
            await asyncio.sleep(0.005)
        return seen_at_return

    seen_at_return = asyncio.run(main())
    assert seen_at_return == []
    assert overlaps == []
    assert log == [(kind, index) for index in range(10) for kind in ("start", "end")]


def test_two_async_listeners_each_keep_their_own_order() -> None:
    a: list[int] = []
    b: list[int] = []

    async def listener_a(payload: int) -> None:
        await asyncio.sleep(0)
        a.append(payload)

    async def listener_b(payload: int) -> None:
        await asyncio.sleep(0.002)
        b.append(payload)

    ws.listen_signal_live(listener_a)
    ws.listen_signal_live(listener_b)

    async def main() -> None:
        for index in range(6):
            ws.events.signal_live.emit(index)
            if index == 2:
                await asyncio.sleep(0)
        for _ in range(500):
            if len(a) == len(b) == 6:
                return
            await asyncio.sleep(0.005)

    asyncio.run(main())
    assert a == list(range(6))
    assert b == list(range(6))


def test_async_listener_exception_is_reported_and_the_queue_goes_on() -> None:
    got: list[int] = []
    errors: list[ErrorEvent] = []
    ws.listen_error(errors.append)

    async def flaky(payload: int) -> None:
        await asyncio.sleep(0)
        if payload == 1:
            raise Boom("async listener broke")
        got.append(payload)

    ws.listen_performance(flaky)

    async def main() -> None:
        for index in range(3):
            ws.events.performance.emit(index)
        for _ in range(500):
            if len(got) == 2 and errors:
                return
            await asyncio.sleep(0.005)

    asyncio.run(main())
    assert got == [0, 2]
    assert [(e.source, e.message, e.exception_type) for e in errors] == [("listener", "async listener broke", "Boom")]


def test_async_once_listener_fires_once() -> None:
    got: list[int] = []

    async def listener(payload: int) -> None:
        await asyncio.sleep(0)
        got.append(payload)

    ws.listen_progress_backtest_once(lambda p: p >= 2, listener)

    async def main() -> None:
        for index in range(5):
            ws.events.progress_backtest.emit(index)
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)

    asyncio.run(main())
    assert got == [2]


# ------------------------------------------------------------------------------------------------ reset


def test_reset_removes_user_listeners() -> None:
    sync_got: list[Any] = []
    once_got: list[Any] = []
    ws.listen_signal(sync_got.append)
    ws.listen_error(sync_got.append)
    ws.listen_signal_once(lambda _p: True, once_got.append)
    ws.reset()
    ws.events.signal.emit(1)
    ws.events.error.emit(2)
    assert sync_got == []
    assert once_got == []
    # Listening works again after a reset.
    ws.listen_signal(sync_got.append)
    ws.events.signal.emit(3)
    assert sync_got == [3]


def test_unsubscribe_after_reset_is_harmless() -> None:
    got: list[Any] = []
    unsubscribe = ws.listen_signal(got.append)
    ws.reset()
    unsubscribe()
    ws.listen_signal(got.append)
    ws.events.signal.emit(1)
    assert got == [1]


# ------------------------------------------------------------------------------------------------ stress


def test_one_hundred_thousand_emissions_reach_a_python_listener() -> None:
    # PySide6 6.12.0 on Python 3.11 crashes in this loop (excluded in pyproject.toml); this test proves it.
    count = 0
    direct = 0

    def listener(_payload: Any) -> None:
        nonlocal count
        count += 1

    def slot(_payload: Any) -> None:
        nonlocal direct
        direct += 1

    ws.listen_signal(listener)
    ws.events.signal.connect(slot)
    try:
        emit = ws.events.signal.emit
        for index in range(100_000):
            emit(index)
    finally:
        ws.events.signal.disconnect(slot)
    assert count == 100_000
    assert direct == 100_000


def test_deliver_reaches_the_storages_alone_then_a_listener_as_soon_as_it_subscribes() -> None:
    hub = EventHub()
    stored: list[str] = []
    heard: list[str] = []
    assert not hub.delivers("commit")
    hub.connect_internal("commit", stored.append)
    assert hub.delivers("commit")
    hub.deliver("commit", "a")
    hub.commit.connect(heard.append)
    hub.generation += 1  # what a listen_* subscription does: the next delivery asks who listens again
    hub.deliver("commit", "b")
    assert stored == ["a", "b"]
    assert heard == ["b"]

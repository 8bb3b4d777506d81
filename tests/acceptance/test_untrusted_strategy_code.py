"""Strategy code is untrusted (issue 13, fault 13): whatever it raises ends only its own run.

``sys.exit()`` in ``get_signal`` or at the top of a strategy file exited the whole application, ``KeyboardInterrupt``
made the event loop spin, a ``CancelledError`` the strategy raised looked like a user's Stop and a custom
``BaseException`` left the run's task dead without an outcome. Now each ends that run with a
``StrategyAbortedError`` naming the strategy and what it raised, reported on ``error``; the event loop goes on and
the next run works. An ``Exception`` is still reported and the run goes on (SPEC B20), and a real cancellation of
the run's task still cancels it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import workstation as ws

from .fixtures import (
    EXCHANGE,
    FRAME,
    STRATEGY,
    SYMBOL,
    FlatExchange,
    L,
    OneShot,
    Recorder,
    add_frame,
    add_strategy,
    collect,
    register_scenario,
    signal,
)
from .live_fixtures import LiveRun, register_live, run_live


class StrategyQuit(BaseException):
    """A strategy's own BaseException."""


def _exit(symbol: str, when: datetime) -> Any:
    sys.exit()


def _exit_with_code(symbol: str, when: datetime) -> Any:
    sys.exit(3)


def _interrupt(symbol: str, when: datetime) -> Any:
    raise KeyboardInterrupt


def _custom(symbol: str, when: datetime) -> Any:
    raise StrategyQuit("enough")


def _cancelled(symbol: str, when: datetime) -> Any:
    raise asyncio.CancelledError


async def _async_cancelled(symbol: str, when: datetime) -> Any:
    await asyncio.sleep(0)
    raise asyncio.CancelledError


async def _async_exit(symbol: str, when: datetime) -> Any:
    await asyncio.sleep(0)
    sys.exit(1)


RAISERS: dict[str, tuple[Callable[..., Any], str]] = {
    "sys.exit()": (_exit, "SystemExit"),
    "sys.exit(3)": (_exit_with_code, "SystemExit: 3"),
    "KeyboardInterrupt": (_interrupt, "KeyboardInterrupt"),
    "custom BaseException": (_custom, "StrategyQuit: enough"),
    "CancelledError": (_cancelled, "CancelledError"),
    "async CancelledError": (_async_cancelled, "CancelledError"),
    "async sys.exit(1)": (_async_exit, "SystemExit: 1"),
}


def _aborted(what: str, where: str = "get_signal", strategy_name: str = STRATEGY) -> str:
    return f'strategy "{strategy_name}" raised {what} in {where}; its run was ended'


async def _run_to_error(**names: str) -> ws.StrategyAbortedError:
    with pytest.raises(ws.StrategyAbortedError) as caught:
        await collect(**names)
    return caught.value


@pytest.mark.parametrize("case", list(RAISERS))
def test_what_get_signal_raises_ends_only_its_run_and_the_next_run_works(case: str) -> None:
    get_signal, what = RAISERS[case]
    register_scenario(get_signal=get_signal)
    add_strategy(OneShot(ws.Signal(**L)), name="healthy")
    errors = Recorder("error")

    async def scenario() -> tuple[ws.StrategyAbortedError, list[Any]]:
        aborted = await _run_to_error()
        healthy = await collect(strategy_name="healthy")
        # The aborted pair is free again: a second run of it starts (and ends the same way).
        await _run_to_error()
        return aborted, healthy

    aborted, healthy = asyncio.run(scenario())

    assert str(aborted) == _aborted(what)
    assert (aborted.strategy_name, aborted.where) == (STRATEGY, "get_signal")
    assert [result.action for result in healthy] == ["opened", "closed"]
    assert [(e.source, e.strategy_name, e.exception_type, e.message) for e in errors["error"]] == [
        ("Backtest.run", STRATEGY, "StrategyAbortedError", _aborted(what)),
        ("Backtest.run", STRATEGY, "StrategyAbortedError", _aborted(what)),
    ]


def test_an_exception_in_get_signal_is_still_reported_and_the_run_goes_on() -> None:
    def get_signal(symbol: str, when: datetime) -> Any:
        raise RuntimeError("boom")

    register_scenario(get_signal=get_signal)
    errors = Recorder("error")

    assert asyncio.run(collect()) == []
    assert {(e.source, e.exception_type) for e in errors["error"]} == {("get_signal", "RuntimeError")}
    assert len(errors["error"]) == 34


@pytest.mark.parametrize("callback", ["on_open", "on_close"])
def test_a_callback_that_exits_ends_the_run_with_the_callback_named(callback: str) -> None:
    register_scenario(L, steps={20: 42500}, callbacks={callback: lambda *args: sys.exit(0)})

    aborted = asyncio.run(_run_to_error())

    assert str(aborted) == _aborted("SystemExit: 0", callback)
    assert aborted.where == callback


def _exit_2(*args: Any) -> Any:
    sys.exit(2)


def _risk_quitter(**fields: Any) -> None:
    ws.add_risk(risk_name="quitter", **fields)
    register_scenario(L, steps={20: 42500}, risk_name="quitter")


def _exchange_quitter() -> None:
    ws.add_exchange(exchange_name=EXCHANGE, get_candles=FlatExchange(), callbacks={"on_candle_data": _exit_2})
    add_frame()
    add_strategy(OneShot(signal(L)))


async def _exit_2_later(*args: Any) -> Any:
    sys.exit(2)


def _candles_quitter(get_candles: Callable[..., Any]) -> None:
    ws.add_exchange(exchange_name=EXCHANGE, get_candles=get_candles)
    add_frame()
    add_strategy(OneShot(signal(L)))


def _frame_quitter() -> None:
    ws.add_exchange(exchange_name=EXCHANGE, get_candles=FlatExchange())
    add_frame(callbacks={"on_timeframe": _exit_2})
    add_strategy(OneShot(signal(L)))


#: User code around the strategy that ``sys.exit(2)``s, and what the run it ends says (owner, where).
AROUND_THE_STRATEGY: dict[str, tuple[Callable[[], None], str, str]] = {
    "risk validation": (lambda: _risk_quitter(validations=[_exit_2]), 'risk "quitter"', "validation #1"),
    "risk on_allowed": (
        lambda: _risk_quitter(validations=[lambda payload: None], callbacks={"on_allowed": _exit_2}),
        'risk "quitter"',
        "on_allowed",
    ),
    "risk on_rejected": (
        lambda: _risk_quitter(validations=[lambda payload: False], callbacks={"on_rejected": _exit_2}),
        'risk "quitter"',
        "on_rejected",
    ),
    "exchange on_candle_data": (_exchange_quitter, f'exchange "{EXCHANGE}"', "on_candle_data"),
    "exchange get_candles": (lambda: _candles_quitter(_exit_2), f'exchange "{EXCHANGE}"', "get_candles"),
    "exchange async get_candles": (lambda: _candles_quitter(_exit_2_later), f'exchange "{EXCHANGE}"', "get_candles"),
    "frame on_timeframe": (_frame_quitter, f'frame "{FRAME}"', "on_timeframe"),
}


@pytest.mark.parametrize("case", list(AROUND_THE_STRATEGY))
def test_what_code_around_the_strategy_raises_ends_only_its_run(case: str) -> None:
    register, owner, where = AROUND_THE_STRATEGY[case]
    register()
    errors = Recorder("error")

    aborted = asyncio.run(_run_to_error())

    assert str(aborted) == f"{owner} raised SystemExit: 2 in {where}; its run was ended"
    assert aborted.where == where
    # The frame is read before the run's first tick, where the run reports what ends it; its caller gets it.
    reported = [] if case == "frame on_timeframe" else [("Backtest.run", "StrategyAbortedError", str(aborted))]
    assert [(e.source, e.exception_type, e.message) for e in errors["error"]] == reported


def test_a_background_run_that_exits_is_rejected_and_the_loop_goes_on() -> None:
    register_scenario(get_signal=_interrupt)
    done = Recorder("done_backtest", "error")

    async def scenario() -> str:
        ws.Backtest.background(SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, frame_name=FRAME)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if ws.Backtest.list()[0].status != "pending":
                break
        return ws.Backtest.list()[0].status

    assert asyncio.run(scenario()) == "rejected"
    assert done["done_backtest"] == []
    assert {(e.source, e.exception_type, e.message) for e in done["error"]} == {
        ("Backtest.run", "StrategyAbortedError", _aborted("KeyboardInterrupt")),
        ("Backtest.background", "StrategyAbortedError", _aborted("KeyboardInterrupt")),
    }


def test_cancelling_the_run_s_task_still_cancels_it() -> None:
    """The task's own cancellation (the window closing) is not the strategy's: it goes through as it is."""
    calls: list[datetime] = []

    async def get_signal(symbol: str, when: datetime) -> Any:
        calls.append(when)
        await asyncio.sleep(3600)

    register_scenario(get_signal=get_signal)
    errors = Recorder("error")

    async def scenario() -> bool:
        task = asyncio.create_task(collect())
        while not calls:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert asyncio.run(scenario()) is True
    assert len(calls) == 1
    assert errors["error"] == []


def test_a_graceful_stop_still_stops_a_run() -> None:
    stopped_at: list[int] = []

    def get_signal(symbol: str, when: datetime) -> Any:
        stopped_at.append(len(stopped_at))
        ws.Backtest.stop(SYMBOL, STRATEGY)

    register_scenario(get_signal=get_signal)

    assert asyncio.run(collect()) == []
    assert stopped_at == [0]


@pytest.mark.parametrize("case", ["sys.exit(3)", "KeyboardInterrupt", "CancelledError"])
def test_what_get_signal_raises_ends_a_live_run_at_once(case: str) -> None:
    get_signal, what = RAISERS[case]
    clock, _ = register_live(None)
    ws.add_strategy(strategy_name="live-raiser", interval="5m", get_signal=get_signal)
    run = LiveRun()
    run.listen()

    async def scenario() -> None:
        async for result in ws.Live.run(
            SYMBOL, strategy_name="live-raiser", exchange_name=EXCHANGE, clock=clock, until=clock.now()
        ):
            run.results.append(result)

    with pytest.raises(ws.StrategyAbortedError) as caught:
        asyncio.run(scenario())

    assert str(caught.value) == _aborted(what, strategy_name="live-raiser")
    assert [(e.source, e.exception_type) for e in run.errors] == [("Live.run", "StrategyAbortedError")]
    # The strategy's own live run of one-shot still works afterwards.
    assert asyncio.run(run_live(clock, LiveRun(), until=20)).results == []


@pytest.mark.parametrize(
    ("top", "cause"),
    [
        ("sys.exit()", "SystemExit (line 3)"),
        ("sys.exit('bye')", "SystemExit: bye (line 3)"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt (line 3)"),
        ("raise asyncio.CancelledError", "CancelledError (line 3)"),
    ],
)
def test_a_strategy_file_that_exits_at_its_top_is_a_file_error(tmp_path: Path, top: str, cause: str) -> None:
    path = tmp_path / "quitter.py"
    path.write_text(
        "import asyncio, sys\nimport workstation as ws\n"
        f"{top}\n"
        "ws.add_strategy(strategy_name='never', interval='5m', get_signal=lambda symbol, when: None)\n",
        encoding="utf-8",
    )
    add_strategy(OneShot())

    with pytest.raises(ws.StrategyFileError) as caught:
        ws.StrategyFiles().load(path)

    assert str(caught.value) == f"{path}: {cause}"
    assert caught.value.problem == "raised"
    assert [schema.strategy_name for schema in ws.list_strategies()] == [STRATEGY]

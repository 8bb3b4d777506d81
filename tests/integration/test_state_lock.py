"""Fault 17 of issue 13: two processes on the same state store and pair must not both trade it.

A real second process runs the pair live; this process is refused with ``StateInUseError`` naming that process
(pid and host) before it restores or announces anything. Another pair of the same store still runs, and once the
other process is gone (killed: the OS drops its lock) the pair runs here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import workstation as ws
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles

SYMBOL = "BTCUSDT"
STRATEGY = "holder"
START = datetime(2024, 3, 1, tzinfo=UTC)

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime, timedelta
    import workstation as ws
    from workstation.exchanges.aggregate import CandleWindow
    from workstation.exchanges.demo import DemoCandles

    storage, where = sys.argv[1:3]
    (ws.persist.use_sqlite if storage == "sqlite" else ws.persist.use_json)(where)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    first = int((start - timedelta(days=1)).timestamp() * 1000)
    candles = DemoCandles().candles("BTCUSDT", CandleWindow(1, first, first + 40 * 86_400_000))
    clock = ws.ReplayClock(start)
    ws.add_exchange(ws.make_replay_exchange("replay", candles, clock))

    async def get_signal(symbol, when):
        print("TRADING", flush=True)
        await asyncio.sleep(3000)

    ws.set_config(max_signal_generation_seconds=3600)
    ws.add_strategy(strategy_name="holder", interval="1m", get_signal=get_signal)

    async def main():
        async for _ in ws.Live.run("BTCUSDT", strategy_name="holder", exchange_name="replay", clock=clock):
            pass

    asyncio.run(main())
    """
)


@pytest.fixture
def other_process(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    storage: str = request.param
    where = tmp_path / ("state.sqlite3" if storage == "sqlite" else "state")
    # Leaving the ``with`` closes the child's pipes once it has ended (else they are left to the collector).
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, storage, str(where)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip() == "TRADING", child.stderr.read() if child.stderr else ""
            (ws.persist.use_sqlite if storage == "sqlite" else ws.persist.use_json)(where)
            yield child, where
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)


def register(strategy_name: str, seen: list[Any]) -> ws.ReplayClock:
    """Register ``strategy_name`` (recording its calls in ``seen``) on a fresh replay of three days."""
    first = int((START - timedelta(days=1)).timestamp() * 1000)
    candles = DemoCandles().candles(SYMBOL, CandleWindow(1, first, first + 3 * 86_400_000))
    clock = ws.ReplayClock(START)
    ws.add_exchange(ws.make_replay_exchange(f"replay-{strategy_name}-{len(seen)}", candles, clock))

    def get_signal(symbol: str, when: datetime) -> None:
        seen.append(when)

    ws.add_strategy(strategy_name=strategy_name, interval="1m", get_signal=get_signal)
    return clock


async def run_briefly(clock: ws.ReplayClock, strategy_name: str) -> None:
    until = START + timedelta(minutes=5)
    exchange_name = ws.list_exchanges()[-1].exchange_name
    async for _ in ws.Live.run(
        SYMBOL, strategy_name=strategy_name, exchange_name=exchange_name, clock=clock, until=until
    ):
        pass
    await ws.persist.close_persistence()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("other_process", ["sqlite", "json"], indirect=True)
def test_a_second_process_on_the_same_store_and_pair_is_refused_naming_the_first(
    other_process: tuple[subprocess.Popen[str], Path],
) -> None:
    child, where = other_process
    seen: list[Any] = []
    clock = register(STRATEGY, seen)
    with pytest.raises(ws.StateInUseError) as refused:
        asyncio.run(run_briefly(clock, STRATEGY))
    assert str(refused.value) == (
        f"the live state of {SYMBOL}:{STRATEGY} in {where} is in use by process {child.pid} on host "
        f"{socket.gethostname()}; stop that run first, or use another state store for this one"
    )
    assert seen == []
    assert [(status.strategy_name, status.status) for status in ws.Live.list()] == [(STRATEGY, "ready")]

    other: list[Any] = []
    asyncio.run(run_briefly(register("another", other), "another"))
    assert len(other) == 6

    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    ws.Live.clear()
    ws.reset()
    (ws.persist.use_sqlite if where.suffix else ws.persist.use_json)(where)
    asyncio.run(run_briefly(register(STRATEGY, seen), STRATEGY))
    assert len(seen) == 6

"""Fault 9 of issue 13: a paper session with the same strategy, symbol, start and speed as a stored one is a choice.

Before, it silently continued the stored session. Now ``session="new"`` starts from the start, forgetting what the
stored session held (its open position, closed trades and clock), and ``session="resume"`` continues it;
``ws.stored_paper_session`` says what is stored, so a window can ask.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

import workstation as ws

SYMBOL = "BTCUSDT"
STRATEGY = "opener"
START = datetime(2024, 3, 1, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
EXCHANGE = "paper-demo-BTCUSDT-20240301T0000-600x"


async def opener(symbol: str, when: datetime) -> ws.Signal | None:
    """Open one long position at the first call, with levels far enough to stay open for hours."""
    if when != START:
        return None
    price = await ws.get_average_price(symbol)
    return ws.Signal(
        position="long", price_take_profit=price * 1.2, price_stop_loss=price * 0.8, minute_estimated_time=1000
    )


@pytest.fixture(autouse=True)
def _in_memory() -> None:
    """Keep the state in memory: a write never suspends, so a run cancelled after a tick has saved that tick."""
    ws.persist.use_memory()


def request(session: str) -> ws.PaperTradingRequest:
    return ws.PaperTradingRequest(strategy_name=STRATEGY, symbol=SYMBOL, start=START, speed=600, session=session)


async def play(session: str, ticks: int) -> list[Any]:
    """Prepare and run the session for ``ticks`` live ticks, then stop it as a kill would; return those ticks."""
    paper = await ws.prepare_paper_trading(request(session))
    seen: list[Any] = []
    enough = asyncio.Event()

    def watch(result: Any) -> None:
        seen.append(result)
        if len(seen) == ticks:
            enough.set()

    unsubscribe = ws.listen_signal_live(watch)

    async def consume() -> None:
        async for _ in ws.Live.run(
            paper.symbol,
            strategy_name=paper.strategy_name,
            exchange_name=paper.exchange_name,
            clock=paper.clock,
            broker=paper.broker,
        ):
            pass

    task = asyncio.create_task(consume())
    await enough.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    unsubscribe()
    ws.Live.clear()
    return seen[:ticks]


def actions(ticks: list[Any]) -> list[tuple[str, int]]:
    return [(tick.action, (tick.timestamp - START_MS) // 60_000) for tick in ticks]


def test_new_starts_from_the_start_forgetting_the_stored_session_and_resume_continues_it() -> None:
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=opener)
    first = asyncio.run(play("new", 4))
    assert actions(first) == [("opened", 0), ("active", 1), ("active", 2), ("active", 3)]
    stored = asyncio.run(ws.stored_paper_session(request("new")))
    assert stored is not None
    assert stored.describe() == "reached 2024-03-01 00:03 UTC, 0 closed trades, an open position"

    resumed = asyncio.run(play("resume", 2))
    assert actions(resumed) == [("active", 4), ("active", 5)]
    assert resumed[0].signal.id == first[0].signal.id

    fresh = asyncio.run(play("new", 2))
    assert actions(fresh) == [("opened", 0), ("active", 1)]
    stored = asyncio.run(ws.stored_paper_session(request("resume")))
    assert stored is not None
    assert stored.describe() == "reached 2024-03-01 00:01 UTC, 0 closed trades, an open position"


def test_nothing_is_stored_before_a_session_ran_and_a_new_session_forgets_only_its_own_settings() -> None:
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=opener)
    assert asyncio.run(ws.stored_paper_session(request("new"))) is None
    asyncio.run(play("new", 2))
    other = request("new").model_copy(update={"speed": 60.0})
    assert asyncio.run(ws.stored_paper_session(other)) is None
    asyncio.run(ws.prepare_paper_trading(request("resume")))
    assert asyncio.run(ws.stored_paper_session(request("new"))) is not None
    asyncio.run(ws.prepare_paper_trading(request("new")))
    assert asyncio.run(ws.stored_paper_session(request("new"))) is None
    assert asyncio.run(ws.persist.adapter("signal").keys()) == []
    assert asyncio.run(ws.persist.adapter("progress").keys()) == []


def test_the_session_is_new_or_resume() -> None:
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=opener)
    assert ws.PaperTradingRequest(strategy_name=STRATEGY, symbol=SYMBOL, start=START).session == "new"
    with pytest.raises(ValueError, match="session\n  Input should be 'new' or 'resume'"):
        request("continue")
    paper = asyncio.run(ws.prepare_paper_trading(request("new")))
    assert paper.exchange_name == EXCHANGE

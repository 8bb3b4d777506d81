"""Fault 5 of issue 13: paper trading on imported candles started at the data's first candle.

Every tick then failed with ``CandleWindowError: expected 5 candles …, got 1`` and was retried. Now the start moves
to the first moment with a day of history and the session says so; a store that leaves no such moment before the
session's end is refused, naming the start.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

import workstation as ws
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles
from workstation.timeutil import MINUTE_MS, to_ms

FIRST = datetime(2024, 2, 1, tzinfo=UTC)
STRATEGY = "average-watcher"


def import_days(days: int) -> None:
    """Put ``days`` of the demo's ETH 1m candles from ``FIRST`` into the user's candle store, as an import does."""
    start, end = to_ms(FIRST), to_ms(FIRST) + days * 1440 * MINUTE_MS
    candles = DemoCandles().candles("ETHUSDT", CandleWindow(1, start, end))
    store = ws.CandleStore()
    try:
        store.write("csv", "ETHUSDT", "1m", candles, covered=(start, end))
    finally:
        store.close()


async def watch_average(symbol: str, when: datetime) -> None:
    await ws.get_average_price(symbol)


def request(days: int = 2) -> ws.PaperTradingRequest:
    return ws.PaperTradingRequest(
        strategy_name=STRATEGY, symbol="ETHUSDT", source="stored", stored_exchange="csv", start=FIRST, days=days
    )


def test_a_session_at_the_first_stored_candle_starts_after_a_day_of_history_and_says_so() -> None:
    import_days(3)
    ws.persist.use_memory()
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=watch_average)
    paper = asyncio.run(ws.prepare_paper_trading(request()))
    assert paper.notice == (
        "start moved from 2024-02-01 00:00 UTC to 2024-02-02 00:00 UTC: the stored csv candles of ETHUSDT begin at "
        "2024-02-01 00:00 UTC and a session reads a day of candles before its start"
    )
    assert paper.clock.now() == FIRST + timedelta(days=1)
    assert paper.until == FIRST + timedelta(days=2, minutes=-1)

    paper.clock.speed = None  # no real-time waits
    errors: list[Any] = []
    ws.listen_error(errors.append)
    ticks: list[Any] = []
    ws.listen_signal_live(ticks.append)

    async def first_hour() -> None:
        until = FIRST + timedelta(days=1, minutes=59)
        async for _ in ws.Live.run(
            paper.symbol, strategy_name=STRATEGY, exchange_name=paper.exchange_name, clock=paper.clock, until=until
        ):
            pass

    asyncio.run(asyncio.wait_for(first_hour(), 60))
    assert errors == []
    assert len(ticks) == 61


def test_a_session_the_stored_candles_cannot_give_a_day_of_history_is_refused_naming_the_start() -> None:
    import_days(1)
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=watch_average)
    with pytest.raises(ws.PreparationError) as refused:
        asyncio.run(ws.prepare_paper_trading(request(days=1)))
    assert refused.value.field == "start"
    assert str(refused.value) == (
        "start: the stored csv candles of ETHUSDT begin at 2024-02-01 00:00 UTC and a session reads a day of candles "
        "before its start; the first start with that history, 2024-02-02 00:00 UTC, is past the session's end "
        "2024-02-01 23:59 UTC: import earlier candles, or start later with more days"
    )


def test_a_session_with_a_day_of_stored_history_keeps_its_start() -> None:
    import_days(3)
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=watch_average)
    later = request().model_copy(update={"start": FIRST + timedelta(days=1)})
    paper = asyncio.run(ws.prepare_paper_trading(later))
    assert (paper.notice, paper.clock.now()) == ("", FIRST + timedelta(days=1))


def test_a_stored_session_without_an_exchange_is_refused_at_its_field() -> None:
    with pytest.raises(ValidationError) as raised:
        ws.PaperTradingRequest(strategy_name=STRATEGY, symbol="ETHUSDT", source="stored", start=FIRST)
    assert [(error["loc"], error["msg"]) for error in raised.value.errors()] == [
        (("stored_exchange",), "Value error, name the exchange whose stored candles to replay")
    ]

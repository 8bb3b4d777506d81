"""A backtest keeps the same command log whether or not anyone receives its commit events (issue 17).

Without a listener the run logs each command without building its event; with one, the listener receives every
event and the log is read from them.
"""

from __future__ import annotations

import asyncio

from data_paths import BTC_1D_CSV

import workstation as ws
from workstation.examples.managed_sma import ManagedSma, ManagedSmaParams
from workstation.exchanges.csv import CsvCandles, make_csv_exchange
from workstation.parity import EXCHANGE_NAME, FRAME_NAME, SYMBOL
from workstation.timeutil import MINUTE_MS, from_ms


async def _run(listened: bool) -> tuple[list[ws.PositionCommand], list[ws.CommitEvent]]:
    ws.reset()
    exchange = ws.add_exchange(make_csv_exchange(EXCHANGE_NAME, BTC_1D_CSV))
    assert isinstance(exchange.get_candles, CsvCandles)
    candles = await exchange.get_candles.load()
    strategy = ws.add_strategy(ManagedSma(ManagedSmaParams(variant="market")).schema())
    ws.add_frame(
        ws.FrameSchema(
            frame_name=FRAME_NAME,
            interval="1m",
            start_date=from_ms(int(candles["timestamp"][0]) + 60 * MINUTE_MS),
            end_date=from_ms(int(candles["timestamp"][-1]) - 360 * MINUTE_MS),
        )
    )
    received: list[ws.CommitEvent] = []
    unsubscribe = ws.listen_commit(received.append) if listened else None
    async for _ in ws.Backtest.run(
        SYMBOL, strategy_name=strategy.strategy_name, exchange_name=EXCHANGE_NAME, frame_name=FRAME_NAME
    ):
        pass
    for _ in range(100):  # the listeners' queue drains on the loop
        await asyncio.sleep(0)
    if unsubscribe is not None:
        unsubscribe()
    run = ws.Backtest.latest(SYMBOL, strategy.strategy_name)
    assert run is not None
    return list(run.commands), received


def test_commands_logged_alike_with_and_without_a_commit_listener() -> None:
    alone, none_received = asyncio.run(_run(listened=False))
    heard, received = asyncio.run(_run(listened=True))
    assert none_received == []
    assert len(alone) == 46
    assert alone == heard
    assert [event.command() for event in received] == heard

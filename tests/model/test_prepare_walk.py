"""``ws.prepare_walk``: a walk as the window asks for it, registered as ``Walker.run`` needs it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

import workstation as ws

REQUEST = ws.WalkerRequest(
    exchange_name="demo",
    symbol="BTCUSDT",
    start=datetime(2024, 1, 1, tzinfo=UTC),
    end=datetime(2024, 1, 2, 23, 59, tzinfo=UTC),
    metric="total_pnl",
)


def walk(prepared: ws.PreparedWalk) -> list[ws.WalkerContract]:
    async def scenario() -> list[ws.WalkerContract]:
        return [contract async for contract in ws.Walker.run(prepared.symbol, walker_name=prepared.walker_name)]

    return asyncio.run(scenario())


def test_a_prepared_walk_registers_its_walker_and_runs_every_strategy() -> None:
    prepared = asyncio.run(ws.prepare_walk(REQUEST, ["sma-cross-market", "breakout"]))

    assert prepared == ws.PreparedWalk("BTCUSDT", "compare-1", ("sma-cross-market", "breakout"))
    (walker,) = ws.list_walkers()
    assert (walker.exchange_name, walker.frame_name, walker.metric) == (
        "demo",
        "backtest-20240101T0000-20240102T2359",
        "total_pnl",
    )
    contracts = walk(prepared)
    assert [contract.strategy_name for contract in contracts] == ["sma-cross-market", "breakout"]
    assert contracts[-1].strategies_tested == 2


def test_each_walk_gets_a_walker_of_its_own() -> None:
    first = asyncio.run(ws.prepare_walk(REQUEST, ["sma-cross-market"]))
    second = asyncio.run(ws.prepare_walk(REQUEST.model_copy(update={"symbol": "ETHUSDT"}), ["rsi-reversion"]))

    assert (first.walker_name, second.walker_name) == ("compare-1", "compare-2")
    assert [schema.strategies for schema in ws.list_walkers()] == [["sma-cross-market"], ["rsi-reversion"]]


def test_a_walk_without_strategies_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^strategies: tick at least one strategy to compare$"):
        asyncio.run(ws.prepare_walk(REQUEST, []))
    assert ws.list_walkers() == []


def test_a_period_before_the_candles_is_refused_naming_the_first_usable_start() -> None:
    early = REQUEST.model_copy(update={"start": datetime(2020, 1, 1, tzinfo=UTC)})

    with pytest.raises(ws.PreparationError) as refused:
        asyncio.run(ws.prepare_walk(early, ["sma-cross-market"]))

    assert refused.value.field == "start"
    assert refused.value.reason.endswith("the first usable start is 2020-01-01 00:05 UTC")
    assert ws.list_walkers() == []


def test_the_requests_live_in_the_model() -> None:
    import importlib.util

    assert importlib.util.find_spec("ui.compare.requests") is None
    assert ws.WalkerRequest.__module__ == ws.SweepRequest.__module__ == "workstation.run_requests"
    assert ws.DownloadRequest.__module__ == ws.LiveStartRequest.__module__ == "workstation.run_requests"

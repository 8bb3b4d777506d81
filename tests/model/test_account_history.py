"""A stored run offers the account its run had: the request's starting balance and sizing, replayed on load."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import workstation as ws

REQUEST = ws.BacktestRequest(
    start=datetime(2024, 1, 1, tzinfo=UTC),
    end=datetime(2024, 1, 3, tzinfo=UTC),
    starting_balance=2000.0,
    sizing=ws.EquityShareSizing(percent=30.0),
)


def test_a_stored_run_gives_back_its_account(tmp_path: Path) -> None:
    async def scenario() -> tuple[ws.AccountReport, ws.AccountReport, ws.AccountReport]:
        prepared = await ws.prepare_backtest(REQUEST)
        run = prepared.run()
        async for _ in run:
            pass
        store = ws.RunHistory(tmp_path / "runs.sqlite3")
        run_id = await store.save_backtest(
            prepared.symbol,
            prepared.strategy_name,
            exchange_name=prepared.exchange_name,
            parameters=REQUEST.model_dump(mode="json"),
            state="finished",
            started_at_ms=0,
            run=run,
        )
        older_id = await store.save_backtest(
            prepared.symbol,
            prepared.strategy_name,
            exchange_name=prepared.exchange_name,
            parameters={"symbol": prepared.symbol},
            state="finished",
            started_at_ms=0,
            run=run,
        )
        stored, older = store.load(run_id), store.load(older_id)
        store.close()
        return await run.get_account(), await stored.get_account(), await older.get_account()

    live, stored, older = asyncio.run(scenario())
    assert live.trades, "the two days of demo candles gave no trade"
    assert stored == live
    assert live.starting_balance == 2000.0
    # The first trade gets 30 % of the starting balance.
    assert live.trades[0].invested == 600.0
    # A run stored before runs had an account: 10,000 at the position cost, the engine's own money figures.
    assert older.starting_balance == 10_000.0
    assert [trade.invested for trade in older.trades] == [100.0] * len(older.trades)
    assert [trade.pnl_money for trade in older.trades] == [result.pnl.pnl_cost for result in stored_results(tmp_path)]


def stored_results(tmp_path: Path) -> list[ws.ClosedResult]:
    store = ws.RunHistory(tmp_path / "runs.sqlite3")
    try:
        return store.load(store.list_runs()[0].id).closed_results
    finally:
        store.close()

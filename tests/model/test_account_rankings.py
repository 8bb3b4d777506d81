"""A walk and a sweep ranked by an account metric: each run's account, under the request's balance and sizing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from data_paths import BTC_1D_CSV

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.optimizer.jobs import OptimizerJob
from workstation.optimizer.rows import job_row
from workstation.optimizer.setup import check_sweep
from workstation.optimizer.worker import run_job
from workstation.run_requests import comparison_backtest

STRATEGIES = ["sma-cross-market", "breakout"]


def walk_request(metric: str) -> ws.WalkerRequest:
    return ws.WalkerRequest(
        exchange_name="demo",
        symbol="BTCUSDT",
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 1, 2, 23, 59, tzinfo=UTC),
        metric=metric,  # type: ignore[arg-type]
        starting_balance=1000.0,
        sizing=ws.EquityShareSizing(percent=50.0),
    )


async def backtest_account(request: ws.WalkerRequest, strategy_name: str) -> ws.AccountReport:
    """The account of ``strategy_name`` backtested alone as the walk runs it."""
    prepared = await ws.prepare_backtest(comparison_backtest(request, strategy_name))
    run = prepared.run()
    async for _ in run:
        pass
    return await run.get_account()


@pytest.mark.parametrize("metric", ["net_profit", "max_drawdown_percent"])
def test_a_walk_ranks_by_each_runs_account(metric: str) -> None:
    request = walk_request(metric)

    async def scenario() -> tuple[list[ws.WalkerContract], list[ws.AccountReport]]:
        prepared = await ws.prepare_walk(request, STRATEGIES)
        contracts = [contract async for contract in ws.Walker.run(prepared.symbol, walker_name=prepared.walker_name)]
        return contracts, [await backtest_account(request, name) for name in STRATEGIES]

    contracts, accounts = asyncio.run(scenario())
    assert [account.starting_balance for account in accounts] == [1000.0, 1000.0]
    assert all(account.trades[0].invested == 500.0 for account in accounts if account.trades)
    expected = [account.net_profit if metric == "net_profit" else -account.max_drawdown_percent for account in accounts]
    assert [contract.metric_value for contract in contracts] == expected
    assert contracts[-1].best_strategy == STRATEGIES[expected.index(max(expected))]


def test_a_sweep_job_reports_its_account_and_ranks_by_it() -> None:
    """At the fixed cost of 100 from 10,000, the net profit in money is the sum of the trades' % PnL (each trade
    makes its % of 100), and the return is that over 10,000 in %; job 3 of the peer's sweep totals
    -0.39319439119434085 % (to the rounding of an equity near 10,000: ulps of 1.8e-12)."""
    ws.add_exchange(ws.make_csv_exchange("csv-exchange", BTC_1D_CSV))
    ws.add_frame(
        frame_name="day",
        interval="1m",
        start_date=datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 17, 59, tzinfo=UTC),
    )
    ws.add_optimizer(
        optimizer_name="sweep",
        strategy_factory=make_strategy,
        grid={"fast": [10, 20], "slow": [30, 50]},
        metric="max_drawdown_percent",
        exchange_name="csv-exchange",
        frame_name="day",
        symbols=["BTCUSDT"],
    )
    job = check_sweep("BTCUSDT", "sweep", main_allowed=False, source="test", first_index=3).job(3)
    assert isinstance(job, OptimizerJob)
    assert job.account == ws.AccountSettings()
    outcome = run_job(job)
    assert outcome.statistics is not None
    assert outcome.statistics["net_profit"] == pytest.approx(-0.39319439119434085, abs=1e-10)
    assert outcome.statistics["return_percent"] == pytest.approx(-0.39319439119434085 / 10_000 * 100, abs=1e-12)
    drawdown = outcome.statistics["max_drawdown_percent"]
    assert drawdown > 0
    assert job_row({}, outcome, "max_drawdown_percent").metric_value == -drawdown

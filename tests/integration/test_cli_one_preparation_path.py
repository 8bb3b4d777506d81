"""One preparation path: ``workstation backtest`` builds a ``ws.BacktestRequest`` and prepares it as the form does."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

import workstation as ws
from workstation.cli import main

REQUEST = ws.BacktestRequest(
    exchange_name="demo",
    seed=3,
    symbol="ETHUSDT",
    strategy_name="sma-cross-market",
    params={"fast": 5, "slow": 40},
    start=datetime(2024, 3, 1, tzinfo=UTC),
    end=datetime(2024, 3, 3, 23, 59, tzinfo=UTC),
    interval="5m",
    percent_fee=0.05,
    percent_slippage=0.02,
    position_entry_cost=250.0,
)
ARGUMENTS = [
    "backtest",
    *("--exchange", "demo", "--seed", "3", "--symbol", "ETHUSDT", "--strategy", "sma-cross-market"),
    *("--param", "fast=5", "--param", "slow=40", "--start", "2024-03-01", "--end", "2024-03-03", "--interval", "5m"),
    *("--fee", "0.05", "--slippage", "0.02", "--entry-cost", "250"),
]


def trade(result: ws.ClosedResult) -> tuple[Any, ...]:
    signal = result.signal
    return (
        signal.position,
        signal.exchange_name,
        signal.strategy_name,
        signal.frame_name,
        signal.price_open,
        signal.pending_at,
        result.close_reason,
        result.close_timestamp,
        result.pnl.model_dump(),
    )


def request_trades() -> list[tuple[Any, ...]]:
    async def scenario() -> list[tuple[Any, ...]]:
        prepared = await ws.prepare_backtest(REQUEST)
        return [trade(result) async for result in prepared.run() if isinstance(result, ws.ClosedResult)]

    return asyncio.run(scenario())


def test_the_command_line_and_the_request_give_the_same_trades(capsys: pytest.CaptureFixture[str]) -> None:
    from_cli: list[tuple[Any, ...]] = []
    ws.listen_signal_backtest(lambda result: from_cli.append(trade(result)) if result.action == "closed" else None)

    code = main(ARGUMENTS)
    _, err = capsys.readouterr()
    ws.reset()
    from_request = request_trades()

    assert code == 0, err
    assert len(from_request) == 38
    assert from_cli == from_request
    assert {row[1:4] for row in from_request} == {
        ("demo[seed=3]", "sma-cross-market[fast=5,slow=40]", "backtest-20240301T0000-20240303T2359-5m")
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--param", "fast=abc"],
            "--param: fast: Input should be a valid integer, unable to parse string as an integer, got 'abc'",
        ),
        (["--param", "fast"], "--param: 'fast' is not NAME=VALUE"),
        (
            ["--param", "nope=3"],
            "--param: nope: sma-cross-market takes no such parameter; its parameters: variant, interval, fast, slow, "
            "shift, minute_estimated_time, tp_long, sl_long, tp_short, sl_short, offset_long, offset_short",
        ),
        (["--fee", "-1"], "--fee: Input should be greater than or equal to 0, got -1.0"),
        # Bounded as the run's config bounds them: refused as the option, not as the config's field in a traceback.
        (["--fee", "150"], "--fee: Input should be less than or equal to 10, got 150.0"),
        (["--slippage", "10.5"], "--slippage: Input should be less than or equal to 10, got 10.5"),
        (["--entry-cost", "0"], "--entry-cost: Input should be greater than or equal to 0.01, got 0.0"),
        (["--entry-cost", "0.001"], "--entry-cost: Input should be greater than or equal to 0.01, got 0.001"),
        (["--exchange", "nope"], '--exchange: exchange "nope" not found; known: "demo"'),
        (
            ["--seed", "2", "--exchange", "stored-csv"],
            '--seed: seed 2 applies to the demo exchange only, not to "stored-csv"',
        ),
    ],
)
def test_a_field_the_request_refuses_is_named_by_its_option(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    code = main(["backtest", "--start", "2024-03-01", "--end", "2024-03-02", *arguments])
    out, err = capsys.readouterr()

    assert (code, out) == (2, "")
    assert err == f"workstation backtest: error: {message}\n"

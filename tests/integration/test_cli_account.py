"""``workstation backtest`` with an account: its flags, its figures first, a spent equity said on stderr."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest

import workstation as ws
from workstation.cli import main

DEMO_DAYS = ["--exchange", "demo", "--symbol", "BTCUSDT", "--start", "2024-01-01", "--end", "2024-01-03"]


def test_the_report_leads_with_the_account_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["backtest", *DEMO_DAYS, "--starting-balance", "5000", "--sizing", "equity_share:20"])
    out, err = capsys.readouterr()
    assert code == 0, err
    request = ws.BacktestRequest(
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 1, 3, 23, 59, tzinfo=UTC),
        starting_balance=5000.0,
        sizing=ws.EquityShareSizing(percent=20.0),
    )

    async def account() -> ws.AccountReport:
        prepared = await ws.prepare_backtest(request)
        async for _ in prepared.run():
            pass
        return await ws.Backtest.get_account(prepared.symbol, prepared.strategy_name)

    report = asyncio.run(account())
    assert out.startswith("# Backtest Report: sma-cross-market (BTCUSDT)\n\n## Account\n\n**Net profit:** ")
    figures = out.split("\n\n")[2].splitlines()
    assert figures[:4] == [
        f"**Net profit:** {report.net_profit:.2f} (higher is better)",
        f"**Return:** {report.return_percent:.2f}% (higher is better)",
        f"**Max drawdown:** {report.max_drawdown_percent:.2f}% (lower is better)",
        f"**Max drawdown (money):** {report.max_drawdown_money:.2f} (lower is better)",
    ]


def test_a_run_that_spends_its_equity_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """101 at a position cost of 100: the first loss (-1.40) leaves 99.60, which cannot pay the next position."""
    code = main(["backtest", *DEMO_DAYS, "--starting-balance", "101"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "workstation: warning: BTCUSDT:sma-cross-market: equity spent at 2024-01-01T01:21:00.000Z" in err
    assert len(re.findall(r"^\| market-", out, flags=re.MULTILINE)) == 1


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (["--starting-balance", "0"], "--starting-balance: Input should be greater than 0, got 0.0"),
        (["--starting-balance", "nan"], "--starting-balance: Input should be a finite number, got nan"),
        (["--sizing", "risk:-2"], "--sizing: risk: percent: Input should be greater than 0, got '-2'"),
        (
            ["--sizing", "equity_share:150"],
            "--sizing: equity_share: percent: Input should be less than or equal to 100",
        ),
        (
            ["--sizing", "margin"],
            "--sizing: Input tag 'margin' found using 'method' does not match any of the expected",
        ),
    ],
)
def test_a_bad_balance_or_sizing_is_named(capsys: pytest.CaptureFixture[str], flags: list[str], line: str) -> None:
    code = main(["backtest", *DEMO_DAYS, *flags])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith(f"workstation backtest: error: {line}")

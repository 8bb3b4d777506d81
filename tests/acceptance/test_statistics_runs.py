"""SPEC §19.3 S3, S4: backtest statistics and report of real runs (§11.2)."""

from __future__ import annotations

import asyncio

import pytest

import workstation as ws

from .fixtures import L, run_backtest, signal, ts


def test_s3_identical_losses_are_too_few_for_a_deviation() -> None:
    run = run_backtest(signal(L, minute_estimated_time=7), every_call=True, frame_end=59)
    assert run.actions == ["opened", "closed"] * 7

    stats = asyncio.run(ws.Backtest.get_data("BTCUSDT", "one-shot"))
    assert stats.total_signals == 7
    assert (stats.win_count, stats.loss_count) == (0, 7)
    assert stats.win_rate == 0.0
    # backtest-kit 19.5: below 10 trades no deviation and no ratio (SPEC §11 gave 0.0 for each).
    assert (stats.std_dev, stats.sharpe_ratio, stats.annualized_sharpe_ratio, stats.certainty_ratio) == (None,) * 4
    assert stats.total_pnl == pytest.approx(-2.797202797202556, rel=1e-9)
    assert stats.avg_pnl == pytest.approx(-0.3996003996003651, rel=1e-9)
    assert stats.median_pnl == pytest.approx(-0.3996003996003651, rel=1e-9)
    assert stats.avg_consecutive_loss_pnl == stats.total_pnl
    assert [r.close_timestamp for r in stats.signal_list] == [ts(m) for m in (17, 25, 33, 41, 49, 57, 60)]


def test_s4_empty_statistics_and_report() -> None:
    run = run_backtest(None)
    assert run.results == []

    stats = asyncio.run(ws.Backtest.get_data("BTCUSDT", "one-shot"))
    assert stats.signal_list == []
    assert (stats.total_signals, stats.win_count, stats.loss_count) == (0, 0, 0)
    for name in (
        "win_rate",
        "avg_pnl",
        "total_pnl",
        "std_dev",
        "sharpe_ratio",
        "annualized_sharpe_ratio",
        "certainty_ratio",
        "expected_yearly_returns",
        "recovery_factor",
        "trend",
    ):
        assert getattr(stats, name) is None, name
    report = asyncio.run(ws.Backtest.get_report("BTCUSDT", "one-shot"))
    assert report == "# Backtest Report: one-shot (BTCUSDT)\n\nNo signals closed yet."


def test_s4_report_of_300_closed_signals_shows_the_last_250() -> None:
    # 1m strategy, mET 1: open at t, expire at t + 1, next tick t + 2 opens again -> one close every 2 minutes.
    run = run_backtest(signal(L, minute_estimated_time=1), every_call=True, interval="1m", frame_end=609, count=700)
    assert run.actions == ["opened", "closed"] * 300
    assert all(r.close_reason == "time_expired" for r in run.results[1::2])

    stats = asyncio.run(ws.Backtest.get_data("BTCUSDT", "one-shot"))
    assert stats.total_signals == 300
    assert len(stats.signal_list) == 300

    report = asyncio.run(ws.Backtest.get_report("BTCUSDT", "one-shot"))
    lines = report.split("\n")
    assert lines[0] == "# Backtest Report: one-shot (BTCUSDT)"
    assert lines[1] == ""
    rows = [line for line in lines if line.startswith("| one-shot:BTCUSDT:")]
    assert len(rows) == 250
    # The last 250 of 300: the first shown signal opened at 00:10 + 2 * 50 minutes.
    assert rows[0].startswith(f"| one-shot:BTCUSDT:{ts(110)} |")
    assert rows[-1].startswith(f"| one-shot:BTCUSDT:{ts(608)} |")
    assert any("Showing the last 250 of 300 closed signals." in line for line in lines)
    assert "**Total signals:** 300" in lines

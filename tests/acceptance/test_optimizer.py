"""SPEC §19.5 O1 and O3, and a walk-forward analysis on the peer's 1-day candles (§18).

O2 (the same rows on every executor, dask included) is in ``tests/integration/test_optimizer_dask.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import platformdirs
import pytest
from data_paths import BTC_1D_CSV

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.optimizer import Optimizer, OptimizerProgress, OptimizerResult, OptimizerRow
from workstation.timeutil import from_ms

from .fixtures import hm

SYMBOL = "BTCUSDT"
GRID = {"fast": [10, 20], "slow": [30, 50]}

#: SPEC §19.5 O1: (rank, job index, params, total_pnl, closed signals).
O1_ROWS = [
    (1, 3, {"fast": 20, "slow": 50}, -0.3931943911943412, 6),
    (2, 0, {"fast": 10, "slow": 30}, -2.3756448463741333, 7),
    (3, 1, {"fast": 10, "slow": 50}, -3.1932031912030627, 8),
    (4, 2, {"fast": 20, "slow": 30}, -4.745271652688299, 8),
]


def register_o1(strategy_factory: Any = make_strategy, **callbacks: Any) -> None:
    """The O1 optimizer on the btc_1d CSV, frame 01:00-17:59 (SPEC §20.2), metric total_pnl."""
    ws.add_exchange(ws.make_csv_exchange("csv-exchange", BTC_1D_CSV))
    ws.add_frame(frame_name="day", interval="1m", start_date=from_ms(hm(1, 0)), end_date=from_ms(hm(17, 59)))
    ws.add_optimizer(
        optimizer_name="sma-sweep",
        strategy_factory=strategy_factory,
        grid=GRID,
        metric="total_pnl",
        exchange_name="csv-exchange",
        frame_name="day",
        symbols=[SYMBOL],
        callbacks=callbacks,
    )


def test_o1_ranks_the_grid_by_total_pnl_on_the_default_pool() -> None:
    progress: list[OptimizerProgress] = []
    job_rows: list[OptimizerRow] = []
    completed: list[OptimizerResult] = []
    ws.listen_progress_optimizer(progress.append)
    register_o1(on_job_complete=job_rows.append, on_complete=completed.append)

    result = asyncio.run(Optimizer.run(SYMBOL, "sma-sweep"))

    assert [(r.rank, r.index, r.params, r.metric_value, r.total_signals) for r in result.rows] == O1_ROWS
    assert [r.total_pnl for r in result.rows] == [row[3] for row in O1_ROWS]
    # 6 trades: backtest-kit 19.5 gives no Sharpe ratio below 10; the mean trough of its trades is the peer's.
    assert result.rows[0].sharpe_ratio is None
    assert result.rows[0].avg_fall_pnl == -0.8505124953557663
    assert all(row.error is None for row in result.rows)
    assert result.best_params == {"fast": 20, "slow": 50}
    assert (result.optimizer_name, result.symbol, result.metric) == ("sma-sweep", SYMBOL, "total_pnl")
    assert (result.total_jobs, result.stopped) == (4, False)

    assert len(progress) == 4
    assert [p.processed_jobs for p in progress] == [1, 2, 3, 4]
    assert [p.progress for p in progress] == [0.25, 0.5, 0.75, 1.0]
    assert {(p.optimizer_name, p.symbol, p.total_jobs) for p in progress} == {("sma-sweep", SYMBOL, 4)}
    assert sorted(row.index for row in job_rows) == [0, 1, 2, 3]
    assert {row.rank for row in job_rows} == {0}
    assert completed == [result]
    assert asyncio.run(Optimizer.get_data(SYMBOL, "sma-sweep")) == result


def test_o1_report_and_dump() -> None:
    register_o1()
    asyncio.run(Optimizer.run(SYMBOL, "sma-sweep"))
    report = asyncio.run(Optimizer.get_report(SYMBOL, "sma-sweep"))
    assert report == "\n".join(
        [
            "# Optimizer Report: sma-sweep (BTCUSDT)",
            "",
            # The account's return and max drawdown (of its equity peak) at 100 a trade on 10,000, not the per-trade
            # mean trough (avg_fall_pnl, -0.85 % for the first) a trader would read as the run's drawdown.
            "| Rank | fast | slow | total_pnl | Total Signals | Win Rate | Total PNL | Sharpe | Return | Max DD |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            "| 1 | 20 | 50 | -0.393 | 6 | 66.67% | -0.39% | N/A | -0.00% | -0.03% |",
            "| 2 | 10 | 30 | -2.376 | 7 | 42.86% | -2.38% | N/A | -0.02% | -0.04% |",
            "| 3 | 10 | 50 | -3.193 | 8 | 50.00% | -3.19% | N/A | -0.03% | -0.05% |",
            "| 4 | 20 | 30 | -4.745 | 8 | 37.50% | -4.75% | N/A | -0.05% | -0.06% |",
            "",
            "**Jobs finished:** 4 of 4",
            "**Best parameters:** fast=20, slow=50",
        ]
    )
    path = asyncio.run(Optimizer.dump(SYMBOL, "sma-sweep"))
    assert path == Path(platformdirs.user_data_dir("workstation")) / "reports" / "optimizer" / "BTCUSDT_sma-sweep.md"
    assert path.read_text(encoding="utf-8") == report


def test_o3_a_lambda_factory_is_refused_before_any_job_starts() -> None:
    register_o1(strategy_factory=lambda params: make_strategy(params))  # noqa: PLW0108 - the point of O3
    progress: list[OptimizerProgress] = []
    errors: list[Any] = []
    ws.listen_progress_optimizer(progress.append)
    ws.listen_error(errors.append)

    with pytest.raises(ws.OptimizerError) as refused:
        asyncio.run(Optimizer.run(SYMBOL, "sma-sweep"))

    assert str(refused.value) == (
        'strategy_factory of optimizer "sma-sweep" is not importable by reference; define it at module level'
    )
    assert progress == []
    assert errors == []
    assert not Optimizer.is_running("sma-sweep")
    with pytest.raises(ValueError, match="no optimizer run recorded"):
        asyncio.run(Optimizer.get_data(SYMBOL, "sma-sweep"))


# ---------------------------------------------------------------------------------------------------------------
# Walk-forward on btc_1d: 6 h of training, 3 h of test, sliding by 3 h over 01:00-17:59
# ---------------------------------------------------------------------------------------------------------------

TRAIN_DAYS, TEST_DAYS, STEP_DAYS = 0.25, 0.125, 0.125


async def _direct_backtest(tag: str, params: dict[str, Any], first: int, last: int) -> ws.BacktestStatistics:
    """Backtest ``make_strategy(params)`` on [first, last] in this process, the plain way (no optimizer)."""
    frame_name, strategy_name = f"check-{tag}", f"check-{tag}"
    ws.add_frame(frame_name=frame_name, interval="1m", start_date=from_ms(first), end_date=from_ms(last))
    ws.add_strategy(make_strategy(params).model_copy(update={"strategy_name": strategy_name}))
    async for _ in ws.Backtest.run(
        SYMBOL, strategy_name=strategy_name, exchange_name="csv-exchange", frame_name=frame_name
    ):
        pass
    return await ws.Backtest.get_data(SYMBOL, strategy_name)


async def _expected_window(k: int, train: tuple[int, int], test: tuple[int, int]) -> dict[str, Any]:
    """Choose a window's parameters by hand: the best total_pnl of the grid, ties to the lower job index."""
    grid_sets = [{"fast": fast, "slow": slow} for fast in GRID["fast"] for slow in GRID["slow"]]
    trained = [await _direct_backtest(f"train{k}-{i}", params, *train) for i, params in enumerate(grid_sets)]
    scored = [(stats.total_pnl, -i) for i, stats in enumerate(trained) if stats.total_pnl is not None]
    assert scored, "every window of this fixture trades in training"
    _, negative_index = max(scored)
    best = -negative_index
    tested = await _direct_backtest(f"test{k}", grid_sets[best], *test)
    return {"best_params": grid_sets[best], "in_sample": trained[best], "test": tested}


def test_walk_forward_slides_train_and_test_windows_over_btc_1d() -> None:
    register_o1()
    progress: list[OptimizerProgress] = []
    ws.listen_progress_optimizer(progress.append)

    result = asyncio.run(
        Optimizer.walk_forward(SYMBOL, "sma-sweep", train_days=TRAIN_DAYS, test_days=TEST_DAYS, step_days=STEP_DAYS)
    )

    # Window k trains on [01:00 + 3h·k, +6h) and tests on the 3 h after; a fourth test would end at 18:59 > 17:59.
    bounds = [(w.train_start, w.train_end, w.test_start, w.test_end) for w in result.windows]
    assert bounds == [
        (hm(1, 0), hm(6, 59), hm(7, 0), hm(9, 59)),
        (hm(4, 0), hm(9, 59), hm(10, 0), hm(12, 59)),
        (hm(7, 0), hm(12, 59), hm(13, 0), hm(15, 59)),
    ]
    assert [w.index for w in result.windows] == [0, 1, 2]
    assert [w.best_params for w in result.windows] == [{"fast": 20, "slow": 50}] * 3
    assert [w.out_of_sample.total_signals for w in result.windows] == [1, 1, 1]
    assert result.out_of_sample_total_signals == 3
    assert result.out_of_sample_total_pnl == 1.113665239226664
    assert (result.total_jobs, result.stopped) == (15, False)
    assert [p.processed_jobs for p in progress] == list(range(1, 16))
    assert progress[-1].progress == 1.0

    async def independent() -> list[dict[str, Any]]:
        windows = []
        for w in result.windows:
            windows.append(await _expected_window(w.index, (w.train_start, w.train_end), (w.test_start, w.test_end)))
        return windows

    expected = asyncio.run(independent())
    stitched: list[float] = []
    in_sample_total = 0.0
    for window, check in zip(result.windows, expected, strict=True):
        assert window.best_params == check["best_params"]
        assert window.in_sample_metric == check["in_sample"].total_pnl
        assert window.in_sample_total_pnl == check["in_sample"].total_pnl
        test_stats = check["test"]
        assert window.out_of_sample.total_signals == test_stats.total_signals
        assert window.out_of_sample.total_pnl == test_stats.total_pnl
        assert window.out_of_sample.metric_value == test_stats.total_pnl
        assert window.out_of_sample.win_rate == test_stats.win_rate
        assert window.out_of_sample.sharpe_ratio == test_stats.sharpe_ratio
        # The test run's account (100 a trade on 10,000): its one trade's PnL % of 100 is its return in hundredths.
        assert window.out_of_sample.return_percent == pytest.approx(test_stats.total_pnl / 100, rel=1e-9)
        # Within hours (no midnight mark), its drawdown is the loss of a losing trade, none for a winning one.
        drawdown = max(0.0, -test_stats.total_pnl / 100)
        assert window.out_of_sample.max_drawdown_percent == pytest.approx(drawdown, rel=1e-9, abs=1e-15)
        stitched.extend(closed.pnl.pnl_percentage for closed in test_stats.signal_list)
        in_sample_total += check["in_sample"].total_pnl

    total = 0.0
    for pnl in stitched:
        total += pnl
    mean = total / len(stitched)
    std = (sum((pnl - mean) ** 2 for pnl in stitched) / len(stitched)) ** 0.5
    assert result.out_of_sample_total_pnl == total
    assert result.out_of_sample_total_signals == len(stitched)
    assert result.out_of_sample_sharpe == pytest.approx(mean / std, rel=1e-12)
    assert result.in_sample_total_pnl == in_sample_total


def test_walk_forward_refuses_spans_that_fit_no_window() -> None:
    register_o1()
    with pytest.raises(ValueError) as too_long:
        asyncio.run(Optimizer.walk_forward(SYMBOL, "sma-sweep", train_days=0.5, test_days=0.5, step_days=0.125))
    assert str(too_long.value) == (
        'frame "day" (2024-01-01T01:00:00.000Z to 2024-01-01T17:59:00.000Z) is shorter than train_days (0.5) '
        "+ test_days (0.5)"
    )
    with pytest.raises(ValueError, match=r"^test_days must be a whole number of the frame's 1m intervals, got 1e-05$"):
        asyncio.run(Optimizer.walk_forward(SYMBOL, "sma-sweep", train_days=0.25, test_days=1e-5, step_days=0.125))
    with pytest.raises(ValueError, match=r"^step_days must be a positive number of days, got 0$"):
        asyncio.run(Optimizer.walk_forward(SYMBOL, "sma-sweep", train_days=0.25, test_days=0.125, step_days=0))

"""Walker storage and markdown comparison report (SPEC §12), on hand-made statistics."""

from __future__ import annotations

import math

import pytest

from workstation.engine.walker import metric_value
from workstation.errors import WorkstationError
from workstation.models.results import ClosedResult, CloseReason, Pnl
from workstation.models.signal import Position, SignalRow
from workstation.models.walker import WalkerContract, WalkerResults, WalkerStatistics, WalkerStrategyResult
from workstation.reports.statistics import BacktestStatistics, compute_backtest_statistics
from workstation.reports.walker import (
    COMPARISON_NOTE,
    WalkerReportStorage,
    comparison_columns,
    ranked_results,
    walker_report,
)

T0 = 1704067200000
MINUTE = 60_000


def closed(
    signal_id: str,
    pnl: float,
    *,
    strategy_name: str = "alpha",
    position: Position = "long",
    opened_minute: int = 0,
    duration: int = 30,
    close_reason: CloseReason = "take_profit",
) -> ClosedResult:
    pending_at = T0 + opened_minute * MINUTE
    close_timestamp = pending_at + duration * MINUTE
    signal = SignalRow(
        id=signal_id,
        position=position,
        note="",
        price_open=42000.0,
        price_take_profit=42420.0,
        price_stop_loss=41580.0,
        minute_estimated_time=120,
        symbol="BTCUSDT",
        exchange_name="ladder",
        strategy_name=strategy_name,
        frame_name="F",
        scheduled_at=pending_at,
        pending_at=pending_at,
        is_scheduled=False,
    )
    return ClosedResult(
        symbol="BTCUSDT",
        strategy_name=strategy_name,
        exchange_name="ladder",
        frame_name="F",
        backtest=True,
        timestamp=close_timestamp,
        current_price=42420.0,
        signal=signal,
        close_reason=close_reason,
        close_timestamp=close_timestamp,
        pnl=Pnl(
            pnl_percentage=pnl,
            pnl_cost=pnl,
            pnl_entries=100.0,
            price_open=42000.0,
            price_close=42420.0,
            fee_cost=0.2,
        ),
    )


def stats_of(*results: ClosedResult) -> BacktestStatistics:
    return compute_backtest_statistics(list(results))


EMPTY = stats_of()


def result(name: str, value: float | None, stats: BacktestStatistics = EMPTY) -> WalkerStrategyResult:
    return WalkerStrategyResult(strategy_name=name, stats=stats, metric_value=value)


def statistics(
    results: list[WalkerStrategyResult],
    *,
    best: str | None = None,
    best_metric: float | None = None,
    metric: str = "sharpe_ratio",
) -> WalkerStatistics:
    best_stats = next((r.stats for r in results if r.strategy_name == best), None)
    return WalkerStatistics.model_validate(
        {
            "walker_name": "w",
            "symbol": "BTCUSDT",
            "exchange_name": "ladder",
            "frame_name": "F",
            "metric": metric,
            "total_strategies": 3,
            "strategies_tested": len(results),
            "best_strategy": best,
            "best_metric": best_metric,
            "best_stats": best_stats,
            "strategy_results": results,
        }
    )


def contract(
    name: str, stats: BacktestStatistics, value: float | None, best: str | None, best_metric: float | None, tested: int
) -> WalkerContract:
    return WalkerContract(
        walker_name="w",
        exchange_name="ladder",
        frame_name="F",
        symbol="BTCUSDT",
        strategy_name=name,
        stats=stats,
        metric_value=value,
        metric="total_pnl",
        best_metric=best_metric,
        best_strategy=best,
        strategies_tested=tested,
        total_strategies=3,
    )


def test_ranking_is_descending_with_missing_values_last_and_ties_in_completion_order() -> None:
    ranked = ranked_results(
        [
            result("none-1", None),
            result("low", -1.0),
            result("tie-a", 2.0),
            result("none-2", None),
            result("tie-b", 2.0),
        ]
    )
    assert [r.strategy_name for r in ranked] == ["tie-a", "tie-b", "low", "none-1", "none-2"]


def test_report_without_any_result() -> None:
    report = walker_report(statistics([]), top_n=10)
    assert report == "\n".join(
        [
            "# Walker Comparison Report: w",
            "",
            "**Symbol:** BTCUSDT",
            "**Exchange:** ladder",
            "**Frame:** F",
            "**Optimization Metric:** sharpe_ratio",
            "**Strategies Tested:** 3",
            "",
            "## Best Strategy: N/A",
            "",
            "**Best sharpe_ratio:** N/A",
            "**Total Signals:** 0",
            "",
            "## Top Strategies Comparison",
            "",
            "No strategy results available.",
            "",
            "## All Signals (PNL Table)",
            "",
            "No closed signals available.",
            "",
            COMPARISON_NOTE,
        ]
    )


def test_report_with_results_but_no_closed_signal() -> None:
    lines = walker_report(statistics([result("quiet", None)]), top_n=10).split("\n")
    assert lines[15:18] == [
        "| Rank | Strategy | sharpe_ratio | Total Signals | Win Rate | Avg PNL | Total PNL | Sharpe Ratio | Std Dev |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        "| 1 | quiet | N/A | 0 | N/A | N/A | N/A | N/A | N/A |",
    ]
    assert lines[18:22] == ["", "## All Signals (PNL Table)", "", "No closed signals available."]


def test_report_ranks_caps_the_comparison_and_lists_every_signal() -> None:
    alpha = stats_of(
        closed("a1", 1.5, opened_minute=0, duration=30),
        closed("|2", -0.5, position="short", opened_minute=60, duration=45, close_reason="stop_loss"),
    )
    beta = stats_of(closed("b1", 0.25, strategy_name="beta", opened_minute=10, duration=1))
    results = [result("alpha", 1.0, alpha), result("beta", 2.5, beta), result("gamma", None)]
    report = walker_report(statistics(results, best="beta", best_metric=2.5), top_n=2)

    assert report.split("\n") == [
        "# Walker Comparison Report: w",
        "",
        "**Symbol:** BTCUSDT",
        "**Exchange:** ladder",
        "**Frame:** F",
        "**Optimization Metric:** sharpe_ratio",
        "**Strategies Tested:** 3",
        "",
        "## Best Strategy: beta",
        "",
        "**Best sharpe_ratio:** 2.50",
        "**Total Signals:** 1",
        "",
        "## Top Strategies Comparison",
        "",
        "| Rank | Strategy | sharpe_ratio | Total Signals | Win Rate | Avg PNL | Total PNL | Sharpe Ratio | Std Dev |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        # Below 10 trades backtest-kit 19.5 gives no Sharpe ratio or deviation.
        "| 1 | beta | 2.50 | 1 | 100.00% | +0.25% | +0.25% | N/A | N/A |",
        "| 2 | alpha | 1.00 | 2 | 50.00% | +0.50% | +1.00% | N/A | N/A |",
        "",
        "## All Signals (PNL Table)",
        "",
        "| Strategy | Signal ID | Symbol | Position | PNL (net) | Close Reason | Open Time | Close Time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        "| alpha | a1 | BTCUSDT | LONG | +1.50% | take_profit | 2024-01-01T00:00:00.000Z | 2024-01-01T00:30:00.000Z |",
        r"| alpha | \|2 | BTCUSDT | SHORT | -0.50% | stop_loss | 2024-01-01T01:00:00.000Z | 2024-01-01T01:45:00.000Z |",
        "| beta | b1 | BTCUSDT | LONG | +0.25% | take_profit | 2024-01-01T00:10:00.000Z | 2024-01-01T00:11:00.000Z |",
        "",
        COMPARISON_NOTE,
    ]


def test_comparison_column_names_the_metric() -> None:
    assert comparison_columns("win_rate")[2] == "win_rate"


def test_top_n_must_be_positive() -> None:
    with pytest.raises(ValueError, match="top_n must be at least 1, got 0"):
        walker_report(statistics([]), top_n=0)


def test_metric_value_is_none_unless_finite() -> None:
    good = stats_of(closed("a1", 1.5), closed("a2", -0.5))
    assert metric_value(good, "total_pnl") == 1.0
    assert metric_value(good, "win_rate") == 50.0
    assert metric_value(EMPTY, "sharpe_ratio") is None
    nan = good.model_copy(update={"avg_pnl": math.nan, "certainty_ratio": math.inf})
    assert metric_value(nan, "avg_pnl") is None
    assert metric_value(nan, "certainty_ratio") is None


def test_storage_without_data_names_the_pair() -> None:
    storage = WalkerReportStorage()
    with pytest.raises(WorkstationError, match=r"^no walker data for BTCUSDT:w yet$"):
        storage.get_data("BTCUSDT", "w")
    with pytest.raises(WorkstationError, match=r"^no walker data for BTCUSDT:w yet$"):
        storage.get_report("BTCUSDT", "w", top_n=10)


def test_storage_during_a_walk_reports_the_strategies_tested_so_far() -> None:
    storage = WalkerReportStorage()
    first = stats_of(closed("a1", -0.5))
    second = stats_of(closed("b1", 0.75, strategy_name="beta"))
    storage.add_contract(contract("quiet", EMPTY, None, None, None, 1))
    assert storage.get_data("BTCUSDT", "w").best_stats is None
    storage.add_contract(contract("alpha", first, -0.5, "alpha", -0.5, 2))
    storage.add_contract(contract("beta", second, 0.75, "beta", 0.75, 3))

    data = storage.get_data("BTCUSDT", "w")
    assert data == WalkerStatistics(
        walker_name="w",
        symbol="BTCUSDT",
        exchange_name="ladder",
        frame_name="F",
        metric="total_pnl",
        total_strategies=3,
        strategies_tested=3,
        best_strategy="beta",
        best_metric=0.75,
        best_stats=second,
        strategy_results=[result("quiet", None), result("alpha", -0.5, first), result("beta", 0.75, second)],
    )


def test_storage_after_the_walk_uses_its_results_and_keys_per_symbol_and_walker() -> None:
    storage = WalkerReportStorage()
    alpha = stats_of(closed("a1", 0.5))
    storage.add_contract(contract("alpha", alpha, 0.5, "alpha", 0.5, 1))
    storage.add_results(
        WalkerResults(
            walker_name="w",
            symbol="BTCUSDT",
            exchange_name="ladder",
            frame_name="F",
            metric="total_pnl",
            total_strategies=3,
            strategies_tested=1,
            best_strategy="alpha",
            best_metric=0.5,
            best_stats=alpha,
        )
    )
    other = contract("alpha", alpha, 0.5, "alpha", 0.5, 1).model_copy(update={"symbol": "ETHUSDT"})
    storage.add_contract(other)

    data = storage.get_data("BTCUSDT", "w")
    assert (data.strategies_tested, data.best_strategy, data.best_stats) == (1, "alpha", alpha)
    assert data.strategy_results == [result("alpha", 0.5, alpha)]
    assert storage.get_report("BTCUSDT", "w", top_n=10).split("\n")[10] == "**Best total_pnl:** 0.50"

    storage.clear("BTCUSDT", "w")
    with pytest.raises(WorkstationError):
        storage.get_data("BTCUSDT", "w")
    assert storage.get_data("ETHUSDT", "w").strategy_results == [result("alpha", 0.5, alpha)]
    storage.clear_all()
    with pytest.raises(WorkstationError):
        storage.get_data("ETHUSDT", "w")

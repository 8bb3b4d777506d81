"""backtest-kit 19.5's statistics (SPEC-statistics §2, §3) computed from closed results, field by field with ``==``.

The peer's own figures: the eight scenarios of ``stats_probe.mjs`` (``tests/data/peer/stats/probe.jsonl``: hand-made
trades fed to 19.5's statistics code, one per branch: annualised, eyr-cap, blown, identical, nine, bearish,
neutral, sideways) and SPEC-statistics §3's worked example, the six signals of the 1-day market run whose figures
are ``uncapped/market_1d.json``. Only the trend fields go through V8's ``Math.log``/``Math.pow``; they are bit-exact
here too (``workstation.reports.v8_math``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import workstation as ws
from tests.data_paths import PEER
from tests.signal_factory import closed_result, signal_row
from workstation.reports.statistics import compute_backtest_statistics

STATS = PEER / "stats"
PROBE = [json.loads(line) for line in (STATS / "probe.jsonl").read_text().splitlines()]


def snake(name: str) -> str:
    """``avgPeakPnl`` -> ``avg_peak_pnl``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def assert_fields(stats: ws.BacktestStatistics, expected: dict[str, Any]) -> None:
    """Every field of 19.5's model (the peer's JSON without ``signalList``) equals the peer's value exactly."""
    assert len(expected) == 32
    for name, value in expected.items():
        assert getattr(stats, snake(name)) == value, name


def closed(
    index: int, pending_at: int, close_at: int, pnl: float, price: float, peak: float | None, fall: float | None
) -> ws.ClosedResult:
    """A closed result as the statistics read it: open and close time, net PnL, exit price, excursions."""
    row = signal_row(f"probe-{index}", pending_at=pending_at).model_copy(
        update={
            "peak_profit": None if peak is None else ws.Excursion(price=price, timestamp=close_at, pnl_percentage=peak),
            "max_drawdown": None
            if fall is None
            else ws.Excursion(price=price, timestamp=close_at, pnl_percentage=fall),
        }
    )
    return closed_result(row, at=close_at, price=price, pnl=pnl)


@pytest.mark.parametrize("scenario", PROBE, ids=[scenario["scenario"] for scenario in PROBE])
def test_probe_scenario(scenario: dict[str, Any]) -> None:
    results = [closed(index, *trade) for index, trade in enumerate(scenario["trades"])]
    assert_fields(compute_backtest_statistics(results), scenario["stats"])


def test_probe_covers_every_branch() -> None:
    by_name = {scenario["scenario"]: scenario["stats"] for scenario in PROBE}
    assert by_name["annualised"]["expectedYearlyReturns"] == 46.535271996352435
    assert by_name["annualised"]["annualizedSharpeRatio"] == 4.7564361759294975
    assert by_name["annualised"]["calmarRatio"] == 29.184867981406416
    assert by_name["eyr-cap"]["expectedYearlyReturns"] is None
    assert by_name["blown"]["recoveryFactor"] is None
    assert by_name["identical"]["trend"] == "sideways"
    assert by_name["nine"]["stdDev"] is None
    assert [by_name[name]["trend"] for name in ("bearish", "neutral", "sideways")] == ["bearish", "neutral", "sideways"]
    assert by_name["sideways"]["expectedYearlyReturns"] == -15.23194629340181


#: SPEC-statistics §3: the six signals of the 1-day market run, oldest first, as (pending_at, minutes, pnl, exit
#: price, peak, fall).
MARKET_1D = [
    (1704075900000, 88, -1.396604395604392, 40895.47063573289, 0, -1.396604395604392),
    (1704083700000, 92, -1.3966043956043943, 40513.532510392804, 0.03473764588546391, -1.3966043956043943),
    (1704092700000, 168, 0.5974035964036062, 41015.01974734556, 0.5974035964036062, -0.3996003996003935),
    (1704107400000, 203, 0.6026036036036266, 40613.884418988746, 0.6026036036036266, -0.7251228727106794),
    (1704126600000, 15, 0.597403596403602, 38643.554094590836, 0.597403596403602, -0.4213901826410292),
    (1704130500000, 14, 0.6026036036036105, 38172.778107618964, 0.6026036036036105, -0.7637527259737098),
]


def test_worked_example_market_1d() -> None:
    """SPEC-statistics §3 by hand: N = 6 < 10, so the ratios and the profile are null; the sums run newest first.

    total_pnl = 0.6026036036036105 + 0.597403596403602 + ... + (−1.396604395604392) (newest first)
    = −0.3931943911943412 (the chronological sum is −0.39319439119434085); avg_pnl = total / 6; win_rate = 4 / 6
    * 100 = 66.66666666666666; median_pnl = (0.597403596403602 + 0.5974035964036062) / 2; avg_duration = (14 + 15 +
    203 + 168 + 92 + 88) / 6; one win streak (#3-#6) and one loss streak (#1+#2).
    """
    results = [
        closed(index, pending_at, pending_at + minutes * 60_000, pnl, price, peak, fall)
        for index, (pending_at, minutes, pnl, price, peak, fall) in enumerate(MARKET_1D)
    ]
    stats = compute_backtest_statistics(results)
    expected = json.loads((STATS / "uncapped" / "market_1d.json").read_text())
    assert_fields(stats, expected)
    assert stats.total_pnl == -0.3931943911943412
    assert stats.win_rate == 66.66666666666666
    assert stats.avg_duration == 96.66666666666667
    assert stats.median_pnl == 0.5974035964036041
    assert stats.avg_consecutive_win_pnl == 2.400014400014445
    assert stats.avg_consecutive_loss_pnl == -2.7932087912087864
    assert (stats.avg_win_duration, stats.avg_loss_duration) == (100, 90)
    assert stats.signal_list == results


def test_no_signal_gives_zero_counts_and_nulls() -> None:
    stats = compute_backtest_statistics([])
    counts = ("total_signals", "win_count", "loss_count", "max_consecutive_wins", "max_consecutive_losses")
    assert [getattr(stats, name) for name in counts] == [0, 0, 0, 0, 0]
    assert stats.signal_list == []
    for name in ws.BacktestStatistics.model_fields.keys() - {*counts, "signal_list"}:
        assert getattr(stats, name) is None, name


def test_rows_without_excursions_are_left_out_of_the_peak_and_fall_means() -> None:
    # Rows stored before the engine tracked excursions load with None: 19.5 averages over the numeric values only.
    results = [
        closed(0, 1704075900000, 1704081180000, 1.0, 100.0, 1.5, -0.5),
        closed(1, 1704081240000, 1704081300000, -1.0, 99.0, None, None),
    ]
    stats = compute_backtest_statistics(results)
    assert (stats.avg_peak_pnl, stats.avg_fall_pnl) == (1.5, -0.5)

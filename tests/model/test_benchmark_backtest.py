"""The backtest benchmark's parts: the naive case, the rounds beside the peer, the medians and the last line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_paths import BTC_1D_CSV, EXPECTED

from benchmarks import backtest
from benchmarks.backtest import (
    CASES,
    MEASURED,
    CaseResult,
    EngineRun,
    Measurement,
    PeerFigures,
    PeerRun,
    case_named,
    child_main,
    figures_line,
    measure_dataset,
)
from benchmarks.targets import BENCHMARKS, parse_figures


def _measurement(seconds: float, peak_mib: float = 100.0, calls: int = 96) -> Measurement:
    return Measurement(
        candles=525_600, elapsed_seconds=seconds, peak_mib=peak_mib, rows=6, get_signal_calls=calls, differences=[]
    )


def test_the_naive_case_makes_the_market_cases_trades_through_the_parity_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    child_main(BTC_1D_CSV, case_named("naive"), EXPECTED / "market_1d.jsonl")
    measured = json.loads(capsys.readouterr().out)
    assert (measured["candles"], measured["rows"], measured["get_signal_calls"]) == (1440, 6, 96)
    assert measured["differences"] == []


def test_an_unknown_case_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError) as raised:
        case_named("fast")
    assert str(raised.value) == "case: 'fast' is not one of ['market', 'naive', 'limit', 'managed', 'managed-limit']"


def test_a_case_is_judged_on_medians_and_its_ratio_is_the_peers_median_over_ours() -> None:
    runs = [_measurement(1.0, 120.0), _measurement(3.0, 140.0), _measurement(2.0, 130.0)]
    result = CaseResult("365d", case_named("naive"), runs, [60.0, 80.0, 70.0], [])
    assert (result.seconds, result.peer_median_seconds, result.ratio, result.peak_mib) == (2.0, 70.0, 35.0, 140.0)
    assert result.candles_per_second == 262_800.0
    assert result.table_line() == (
        "365d naive          525,600    2.000     1.000-3.000     262,800     140.0         market    70.00    35.0x"
        "  ok (6 rows, 96 calls)"
    )


def test_the_rounds_interleave_the_peer_once_per_strategy_and_the_naive_case_shares_the_markets_peer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []
    ours = {"market": 1.0, "naive": 1.5, "limit": 1.0, "managed": 2.0, "managed-limit": 2.5}
    theirs = {"market": 80.0, "limit": 60.0, "managed": 90.0, "managed-limit": 70.0}

    def fake_ours(csv_path: Path, case: backtest.Case, expected: Path, *, record: bool = False) -> Measurement:
        calls.append(f"{case.name}{' recorded' if record else ''}")
        assert expected.name == f"{case.variant}_1d.jsonl"
        return _measurement(ours[case.name] + len(calls) / 1000)

    def fake_peer(peer: Path, csv_path: Path, variant: str) -> PeerRun:
        calls.append(f"peer {variant}")
        return PeerRun(theirs[variant] + len(calls), 96)

    def fake_engine(csv_path: Path) -> EngineRun:
        calls.append("engine")
        return EngineRun(1.0, 0.7, 0.3)

    monkeypatch.setattr(backtest, "measure_in_child", fake_ours)
    monkeypatch.setattr(backtest, "run_peer", fake_peer)
    monkeypatch.setattr(backtest, "measure_engine", fake_engine)
    monkeypatch.setattr(backtest, "PEER", EXPECTED.parent)
    published = {variant: PeerFigures(1000.0, 96) for variant in theirs}
    results, engine = measure_dataset("1d", BTC_1D_CSV, Path("/peer"), published, 2)
    one_round = ["market", "peer market", "naive", "limit", "peer limit", "managed", "peer managed"]
    one_round += ["managed-limit", "peer managed-limit", "engine"]
    assert calls == [*one_round, *one_round, "managed recorded", "managed-limit recorded"]
    naive = results[[case.name for case in CASES].index("naive")]
    assert naive.peer_seconds == [82.0, 92.0]
    assert [round(run.elapsed_seconds, 3) for run in naive.runs] == [1.503, 1.513]
    assert engine == [EngineRun(1.0, 0.7, 0.3)] * 2
    assert [result.problems for result in results] == [[]] * len(CASES)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == (
        "1d round 1/2: ours market 1.001, naive 1.503, limit 1.004, managed 2.006, managed-limit 2.508 s"
        " (engine overhead 0.300 s); the peer market 82.00, limit 65.00, managed 97.00, managed-limit 79.00 s"
    )


def test_the_rounds_without_the_peer_take_its_published_time_and_flag_a_wrong_signal_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(backtest, "measure_in_child", lambda *_, **__: _measurement(2.0, calls=95))
    monkeypatch.setattr(backtest, "measure_engine", lambda _: EngineRun(1.0, 0.7, 0.3))
    monkeypatch.setattr(backtest, "PEER", EXPECTED.parent)
    published = {variant: PeerFigures(262_800.0, 96) for variant in backtest.VARIANTS}
    results, _ = measure_dataset("1d", BTC_1D_CSV, None, published, 1)
    assert [result.peer_seconds for result in results] == [[2.0]] * len(CASES)
    assert results[0].problems == ["get_signal calls 95, expected 96"]


def test_the_last_line_carries_every_figure_the_targets_judge() -> None:
    def result(name: str, ours: list[float], peer: list[float], peak_mib: float) -> CaseResult:
        return CaseResult("365d", case_named(name), [_measurement(s, peak_mib) for s in ours], peer, [])

    results = [
        result("market", [0.8, 0.7, 0.9], [70.0, 75.0, 65.0], 139.0),
        result("naive", [1.4, 1.2, 1.3], [70.0, 75.0, 65.0], 141.2),
        result("limit", [0.6], [56.0], 150.0),
        result("managed", [3.0, 2.5, 2.0], [90.0, 88.0, 92.0], 153.4),
        result("managed-limit", [2.0], [62.0], 151.0),
    ]
    engine = [EngineRun(1.0, 0.7, 0.31), EngineRun(1.0, 0.7, 0.29), EngineRun(1.0, 0.7, 0.25)]
    line = figures_line(results, engine, "ok", MEASURED)
    assert line == (
        "example_ratio=87.5 naive_ratio=53.8 engine_overhead_s=0.290 peak_mb=150.0 managed_ratio=36.0"
        " managed_peak_mb=153.4 limit_ratio=93.3 managed_limit_ratio=31.0 example_s=0.800 naive_s=1.300"
        " managed_s=2.500 peer_market_s=70.00 peer_managed_s=90.00 candles_per_s=657000 parity=ok peer=this-run"
    )
    (judged,) = (benchmark for benchmark in BENCHMARKS if benchmark.name == "backtest")
    assert {figure.key for figure in judged.figures} <= set(parse_figures(line))

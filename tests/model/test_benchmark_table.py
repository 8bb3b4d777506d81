"""The benchmark runner: reading a benchmark's last line, judging figures, running a process and printing the table."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from benchmarks.__main__ import (
    Row,
    Run,
    command_of,
    render_table,
    rows_of,
    run_command,
    selected,
    summary_line,
    target_text,
    timeout_of,
)
from benchmarks.targets import BENCHMARKS, Benchmark, Figure, Verdict, info, judge, parse_figures

BACKTEST = next(benchmark for benchmark in BENCHMARKS if benchmark.name == "backtest")
SWEEP = next(benchmark for benchmark in BENCHMARKS if benchmark.name == "sweep")


def test_parse_figures_reads_the_backtest_line_as_printed() -> None:
    line = "example_ratio=61.3 naive_ratio=38.0 peak_mb=140.2 limit_ratio=60.1 parity=ok peer=RESULTS.md"
    assert parse_figures(line) == {
        "example_ratio": "61.3",
        "naive_ratio": "38.0",
        "peak_mb": "140.2",
        "limit_ratio": "60.1",
        "parity": "ok",
        "peer": "RESULTS.md",
    }


def test_parse_figures_keeps_words_and_nan_as_printed() -> None:
    assert parse_figures("  jobs_per_s_dask=nan   identical=True\n") == {"jobs_per_s_dask": "nan", "identical": "True"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "no name=value pairs in the line ''"),
        ("best: {'fast': 5}", "not a name=value pair: 'best:' in the line \"best: {'fast': 5}\""),
        ("=3 a=1", "not a name=value pair: '=3' in the line '=3 a=1'"),
        ("a=1 a=2", "figure 'a' appears twice in the line 'a=1 a=2'"),
    ],
)
def test_parse_figures_rejects_a_line_that_is_not_pairs(line: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_figures(line)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("figure", "measured", "verdict"),
    [
        (Figure("ratio", ">=", "50"), "50.0", Verdict.PASS),
        (Figure("ratio", ">=", "50"), "49.9", Verdict.FAIL),
        (Figure("pan_ms", "<=", "16"), "16.0", Verdict.PASS),
        (Figure("pan_ms", "<=", "16"), "16.1", Verdict.FAIL),
        (Figure("startup_s", "<=", "1.5"), "nan", Verdict.ERROR),
        (Figure("startup_s", "<=", "1.5"), "fast", Verdict.ERROR),
        (Figure("parity", "==", "ok"), "ok", Verdict.PASS),
        (Figure("parity", "==", "ok"), "FAIL", Verdict.FAIL),
        (Figure("identical", "==", "True"), "False", Verdict.FAIL),
        (info("limit_ratio"), "3.0", Verdict.INFO),
    ],
)
def test_judge_holds_the_measured_value_to_the_target(figure: Figure, measured: str, verdict: Verdict) -> None:
    assert judge(figure, measured) is verdict


def test_a_figure_with_an_unknown_comparison_or_a_word_as_numeric_target_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^comparison '>' of figure 'ratio' is not one of \['>=', '<=', '==', ''\]$"):
        Figure("ratio", ">", "50")
    with pytest.raises(ValueError, match=r"^target 'fifty' of figure 'ratio' is not a number$"):
        Figure("ratio", ">=", "fifty")


def test_the_targets_are_those_of_the_issues() -> None:
    targets = {
        (benchmark.name, figure.key): target_text(figure)
        for benchmark in BENCHMARKS
        for figure in benchmark.figures
        if figure.comparison
    }
    assert targets == {
        ("backtest", "example_ratio"): "≥ 100 x",
        ("backtest", "naive_ratio"): "≥ 50 x",
        ("backtest", "engine_overhead_s"): "≤ 0.3 s",
        ("backtest", "peak_mb"): "≤ 160 MB",
        ("backtest", "managed_ratio"): "≥ 30 x",
        ("backtest", "managed_peak_mb"): "≤ 160 MB",
        ("backtest", "parity"): "= ok",
        ("chart", "full_view_ms"): "≤ 16 ms",
        ("chart", "pan_ms"): "≤ 16 ms",
        ("chart", "chart_mb"): "≤ 250 MB",
        ("chart", "overlays"): "= 3",
        ("startup", "startup_s"): "≤ 1.5 s",
        ("ui_latency", "max_stall_ms"): "≤ 50 ms",
        ("ui_latency", "progress_hz"): "≥ 5 Hz",
        ("theme_switch", "switch_ms"): "≤ 200 ms",
        ("live_latency", "latency_ms"): "≤ 100 ms",
        ("order_latency", "order_latency_ms"): "≤ 50 ms",
        ("sweep_window", "max_gap_ms"): "≤ 50 ms",
        ("sweep", "jobs_per_s_2"): "≥ 45.9 jobs/s",
        ("sweep", "scaling"): "≥ 1.7 x",
        ("sweep", "identical"): "= True",
        ("profile", "engine_overhead_s"): "≤ 0.3 s",
    }
    assert BACKTEST.args == ("--only", "365d")
    assert [benchmark.name for benchmark in BENCHMARKS if benchmark.peer_timeout_s is not None] == ["backtest"]


def test_with_peer_only_the_benchmarks_that_compare_with_the_peer_measure_it_and_get_their_longer_timeout() -> None:
    assert command_of(BACKTEST, with_peer=True)[1:] == ["-m", "benchmarks.backtest", "--only", "365d", "--with-peer"]
    assert command_of(BACKTEST)[1:] == ["-m", "benchmarks.backtest", "--only", "365d"]
    assert command_of(SWEEP, with_peer=True)[1:] == ["-m", "benchmarks.sweep"]
    assert (timeout_of(BACKTEST), timeout_of(BACKTEST, with_peer=True)) == (1800.0, 5400.0)
    assert timeout_of(SWEEP, with_peer=True) == SWEEP.timeout_s


def test_rows_of_judges_every_figure_of_the_last_line() -> None:
    line = (
        "example_ratio=101.3 naive_ratio=48.0 engine_overhead_s=0.290 peak_mb=140.2 managed_ratio=29.9"
        " managed_peak_mb=160.1 limit_ratio=60.1 managed_limit_ratio=31.0 example_s=0.650 naive_s=1.400"
        " managed_s=3.100 peer_market_s=67.20 peer_managed_s=92.70 candles_per_s=808615 parity=FAIL peer=this-run"
    )
    rows, problem = rows_of(BACKTEST, Run(line, "", 1, 12.0))
    assert problem == ""
    assert rows == [
        Row("backtest", "example_ratio", "≥ 100 x", "101.3 x", Verdict.PASS),
        Row("backtest", "naive_ratio", "≥ 50 x", "48.0 x", Verdict.FAIL),
        Row("backtest", "engine_overhead_s", "≤ 0.3 s", "0.290 s", Verdict.PASS),
        Row("backtest", "peak_mb", "≤ 160 MB", "140.2 MB", Verdict.PASS),
        Row("backtest", "managed_ratio", "≥ 30 x", "29.9 x", Verdict.FAIL),
        Row("backtest", "managed_peak_mb", "≤ 160 MB", "160.1 MB", Verdict.FAIL),
        Row("backtest", "limit_ratio", "", "60.1 x", Verdict.INFO),
        Row("backtest", "managed_limit_ratio", "", "31.0 x", Verdict.INFO),
        Row("backtest", "example_s", "", "0.650 s", Verdict.INFO),
        Row("backtest", "naive_s", "", "1.400 s", Verdict.INFO),
        Row("backtest", "managed_s", "", "3.100 s", Verdict.INFO),
        Row("backtest", "peer_market_s", "", "67.20 s", Verdict.INFO),
        Row("backtest", "peer_managed_s", "", "92.70 s", Verdict.INFO),
        Row("backtest", "parity", "= ok", "FAIL", Verdict.FAIL),
        Row("backtest", "peer", "", "this-run", Verdict.INFO),
    ]


def test_rows_of_marks_missing_figures_as_errors_and_names_them() -> None:
    rows, problem = rows_of(SWEEP, Run("jobs_per_s_1=3.10 jobs_per_s_2=5.90 scaling=1.90", "", 0, 30.0))
    assert [(row.figure, row.measured, row.verdict) for row in rows] == [
        ("jobs_per_s_1", "3.10 jobs/s", Verdict.INFO),
        ("jobs_per_s_2", "5.90 jobs/s", Verdict.FAIL),
        ("jobs_per_s_dask", "-", Verdict.ERROR),
        ("scaling", "1.90 x", Verdict.PASS),
        ("identical", "-", Verdict.ERROR),
    ]
    assert (
        problem
        == "no figure jobs_per_s_dask, identical in the last line 'jobs_per_s_1=3.10 jobs_per_s_2=5.90 scaling=1.90'"
    )


def test_rows_of_a_run_without_figures_are_all_errors_with_the_reason() -> None:
    startup = Benchmark("startup", (), 1.0, (Figure("startup_s", "<=", "1.5", "s"),))
    assert rows_of(startup, Run("", "timed out after 1 s", None, 1.0)) == (
        [Row("startup", "startup_s", "≤ 1.5 s", "-", Verdict.ERROR)],
        "timed out after 1 s",
    )
    assert rows_of(startup, Run("Traceback: boom", "", 1, 1.0)) == (
        [Row("startup", "startup_s", "≤ 1.5 s", "-", Verdict.ERROR)],
        "last line unreadable: not a name=value pair: 'Traceback:' in the line 'Traceback: boom'",
    )


def test_render_table_prints_fixed_width_columns() -> None:
    rows = [
        Row("chart", "full_view_ms", "≤ 16 ms", "9.4 ms", Verdict.PASS),
        Row("startup", "startup_s", "≤ 1.5 s", "1.712 s", Verdict.FAIL),
        Row("backtest", "limit_ratio", "", "58.0 x", Verdict.INFO),
        Row("sweep", "identical", "= True", "-", Verdict.ERROR),
    ]
    assert render_table(rows) == (
        "benchmark       figure             target        measured              result\n"
        "chart           full_view_ms       ≤ 16 ms       9.4 ms                PASS\n"
        "startup         startup_s          ≤ 1.5 s       1.712 s               FAIL\n"
        "backtest        limit_ratio                      58.0 x                INFO\n"
        "sweep           identical          = True        -                     ERROR"
    )
    assert summary_line(rows) == "passed=1 failed=1 errors=1"


def test_selected_keeps_the_table_order_and_refuses_unknown_names() -> None:
    assert [benchmark.name for benchmark in selected("startup, chart")] == ["chart", "startup"]
    assert len(selected(None)) == len(BENCHMARKS)
    with pytest.raises(ValueError, match=r"^--only 'chart,charts': unknown benchmark charts; known: \["):
        selected("chart,charts")


def test_run_command_returns_the_last_stdout_line_and_logs_both_streams(tmp_path: Path) -> None:
    script = "import sys; print('table'); print('a=1 b=ok'); print(); print('warning', file=sys.stderr)"
    log = tmp_path / "fake.log"
    run = run_command([sys.executable, "-c", script], 30.0, log)
    assert (run.last_line, run.problem, run.exit_status) == ("a=1 b=ok", "", 0)
    assert log.read_text().endswith("table\na=1 b=ok\n\n--- stderr ---\nwarning\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fake.log"]


def test_run_command_reports_silence_and_ends_a_run_at_its_timeout(tmp_path: Path) -> None:
    silent = run_command([sys.executable, "-c", "raise SystemExit(3)"], 30.0, tmp_path / "silent.log")
    assert (silent.last_line, silent.problem, silent.exit_status) == ("", "printed nothing (exit status 3)", 3)
    slow = run_command(
        [sys.executable, "-c", "import time; print('a=1', flush=True); time.sleep(60)"], 0.5, tmp_path / "slow.log"
    )
    assert (slow.last_line, slow.problem, slow.exit_status) == ("", "timed out after 0.5 s", None)
    assert slow.seconds < 10


def test_main_prints_the_table_the_failure_and_its_log_then_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tempfile

    import benchmarks.__main__ as runner

    fake = Benchmark("fake", (), 30.0, (Figure("stall_ms", "<=", "50", "ms"), info("runs")))
    monkeypatch.setattr(runner, "BENCHMARKS", (fake,))
    monkeypatch.setattr(runner, "command_of", lambda *_: [sys.executable, "-c", "print('stall_ms=72.5 runs=3')"])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert runner.main(["--only", "fake"]) == 1
    (log_dir,) = tmp_path.iterdir()
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"  done in \d+\.\d s", lines.pop(1))
    assert lines == [
        "running fake: python -c print('stall_ms=72.5 runs=3')",
        "",
        "benchmark       figure             target        measured              result",
        "fake            stall_ms           ≤ 50 ms       72.5 ms               FAIL",
        "fake            runs                             3                     INFO",
        f"fake: log {log_dir / 'fake.log'}",
        "passed=0 failed=1 errors=0",
    ]
    assert (log_dir / "fake.log").read_text().endswith("stall_ms=72.5 runs=3\n--- stderr ---\n")


def test_main_removes_the_logs_when_every_figure_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    import benchmarks.__main__ as runner

    fake = Benchmark("fake", (), 30.0, (Figure("stall_ms", "<=", "50", "ms"),))
    monkeypatch.setattr(runner, "BENCHMARKS", (fake,))
    monkeypatch.setattr(runner, "command_of", lambda *_: [sys.executable, "-c", "print('stall_ms=12.0')"])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert runner.main([]) == 0
    assert list(tmp_path.iterdir()) == []

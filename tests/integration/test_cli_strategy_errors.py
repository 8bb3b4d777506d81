"""Fault 19: a run whose strategy failed on every call exits non-zero from the command line and counts the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.cli import main

FAILING = """\
import workstation as ws


async def get_signal(symbol, when):
    raise RuntimeError("no data feed configured")


ws.add_strategy(strategy_name="failing", interval="1m", get_signal=get_signal)
"""
HOUR = ["--start", "2024-01-01T00:00", "--end", "2024-01-01T01:00"]


@pytest.fixture
def failing(tmp_path: Path) -> list[str]:
    strategy_file = tmp_path / "failing.py"
    strategy_file.write_text(FAILING)
    return ["--strategy-file", str(strategy_file), "--strategy", "failing", *HOUR]


def test_a_strategy_failing_on_every_tick_exits_1_and_counts_its_errors(
    capsys: pytest.CaptureFixture[str], failing: list[str]
) -> None:
    code = main(["backtest", *failing])
    out, err = capsys.readouterr()
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("workstation")]

    assert code == 1
    assert out.startswith("# Backtest Report: failing (BTCUSDT)\n")  # the report is still printed
    assert lines == [
        "workstation: error: get_signal failed: no data feed configured",  # once, not once per tick
        "workstation backtest: error: the run finished with 61 errors; its results are incomplete "
        "(first: get_signal failed: RuntimeError: no data feed configured)",
    ]


def test_the_report_command_writes_the_report_then_exits_1(
    capsys: pytest.CaptureFixture[str], failing: list[str], tmp_path: Path
) -> None:
    target = tmp_path / "failing.md"
    code = main(["report", *failing, "--out", str(target)])
    out, err = capsys.readouterr()

    assert code == 1
    assert out == f"{target}\n"
    assert target.read_text().startswith("# Backtest Report: failing (BTCUSDT)")
    assert err.endswith(
        "workstation report: error: the run finished with 61 errors; its results are incomplete "
        "(first: get_signal failed: RuntimeError: no data feed configured)\n"
    )

"""The strategy guide's worked strategies run as written (docs/strategy-guide.md), each in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "strategy-guide.md"
BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.DOTALL)
#: The runnable blocks are the complete programs (they end by running their backtest); the first shows the API only.
#: The fourth manages its positions (partial closes, averaging in, breakeven, trailing stop, pause).
PROGRAMS = [block for block in BLOCKS if "asyncio.run(main())" in block]

EXPECTED_OUTPUT = [
    r"(?m)^[1-9]\d* trades, win rate [\d.]+, total PnL -?[\d.]+$",
    r"(?m)^[1-9]\d* orders placed, [\d.]+% filled$",
    r"(?s)^# Backtest Report: guide-breakout \(BTCUSDT\)\n.*\*\*Total signals:\*\* [1-9].*\n\d+ signals refused",
    r"(?m)^[1-9]\d* positions, [1-9]\d* partial closes, [1-9]\d* averaged in\n"
    r"commands that took effect: average-buy [1-9]\d*, breakeven [1-9]\d*, partial-profit [1-9]\d*, "
    r"trailing-stop [1-9]\d*\npaused [1-9]\d* times, resumed [1-9]\d* times$",
]


def test_the_guide_has_its_four_worked_strategies() -> None:
    assert len(PROGRAMS) == 4


@pytest.mark.parametrize(("index", "expected"), list(enumerate(EXPECTED_OUTPUT)))
def test_each_worked_strategy_runs_as_written(index: int, expected: str, tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROGRAMS[index]],
        capture_output=True,
        text=True,
        timeout=240,
        env=environment,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(expected, done.stdout), done.stdout[-2000:]

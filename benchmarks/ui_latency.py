"""GUI responsiveness during a long backtest: heartbeat stalls and progress-bar updates.

Run ``python -m benchmarks.ui_latency`` from the repository root. It opens the main window offscreen (throwaway
settings and data folders) and starts the 365-day demo backtest of sma-cross-market on BTCUSDT from the window,
exactly as the Run button does. A 10 ms QTimer heartbeat records the gaps between its ticks while the run works
(from the moment the Run action has opened and drawn the new tab, before the run starts working; building the
tab is timed apart as ``tab_open_ms``),
and every change of the status-bar progress bar is counted. The baseline is the same heartbeat in the same window
with nothing running, for as long, so the stall figure is read against what the machine does idle.
Each of ``--runs`` runs (default 5) is its own process; the figures are their medians.
Targets: ``max_stall_ms`` ≤ 50 and ``progress_hz`` ≥ 5.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

from PySide6.QtCore import QTimer

import workstation as ws
from benchmarks.window import benchmark_window
from ui.app import demo_request
from ui.main_window import MainWindow

HEARTBEAT_MS = 10
YEAR = demo_request(days=365)


class Heartbeat:
    """A 10 ms timer that keeps the largest gap between two of its ticks."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        """Forget earlier gaps and start ticking."""
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        """Stop ticking."""
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000)
        self._last = now

    @property
    def max_stall_ms(self) -> float:
        """The largest gap between two ticks, in ms."""
        return max(self.gaps, default=0.0)


async def measure(window: MainWindow) -> tuple[float, float, float, float, int, float]:
    heartbeat = Heartbeat()
    updates = 0

    def count_update(_value: int) -> None:
        nonlocal updates
        updates += 1

    window.runs.progress.valueChanged.connect(count_update)
    opening = time.perf_counter()
    tab = window.runs.start(YEAR)
    tab_open_ms = (time.perf_counter() - opening) * 1000
    # The heartbeat watches the run itself: it starts once the new tab has been drawn, while the run still waits
    # for that first paint (RunTab waits 50 ms before it starts working).
    await asyncio.sleep(0.03)
    heartbeat.start()
    started = time.perf_counter()
    task = window.runs.task_of(tab)
    assert task is not None
    await task
    elapsed = time.perf_counter() - started
    heartbeat.stop()
    if tab.state != "Finished":
        raise RuntimeError(f"the run ended {tab.state}: {tab.error_message}")
    running_stall = heartbeat.max_stall_ms
    closed = (await ws.Backtest.get_data(YEAR.symbol, YEAR.strategy_name)).total_signals
    heartbeat.start()
    await asyncio.sleep(elapsed)
    heartbeat.stop()
    return running_stall, heartbeat.max_stall_ms, elapsed, updates / elapsed, closed, tab_open_ms


def measure_once() -> dict[str, float]:
    """Open a window, run the year once and return its figures."""
    with benchmark_window("workstation-latency-") as (_app, loop, window, _home):
        stall, idle_stall, elapsed, progress_hz, closed, tab_open_ms = loop.run_until_complete(measure(window))
    return {
        "max_stall_ms": stall,
        "idle_stall_ms": idle_stall,
        "progress_hz": progress_hz,
        "run_s": elapsed,
        "tab_open_ms": tab_open_ms,
        "closed": closed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs to take the median of, each in its own process")
    parser.add_argument("--once", action="store_true", help="measure one run in this process (what each run does)")
    args = parser.parse_args()
    if args.once:
        print(json.dumps(measure_once()))
        return
    # Each run starts a fresh process: one run's garbage, caches and frozen objects must not shape the next one's.
    runs: list[dict[str, float]] = []
    for _ in range(args.runs):
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.ui_latency", "--once"], capture_output=True, text=True, check=True
        )
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(f"365-day demo backtest in the window, {args.runs} runs: {median['run_s']:.2f} s each (median)")
    print(f"  {median['closed']:,.0f} closed signals; heartbeat every {HEARTBEAT_MS} ms")
    running = ", ".join(f"{run['max_stall_ms']:.1f}" for run in runs)
    idle = ", ".join(f"{run['idle_stall_ms']:.1f}" for run in runs)
    print(f"  largest gap per run: {running} ms while running; idle: {idle} ms")
    print(
        f"  progress bar updates: {median['progress_hz']:.1f} per second; the run tab opened in "
        f"{median['tab_open_ms']:.0f} ms"
    )
    print(
        f"max_stall_ms={median['max_stall_ms']:.1f} idle_stall_ms={median['idle_stall_ms']:.1f} "
        f"progress_hz={median['progress_hz']:.1f} run_s={median['run_s']:.2f} tab_open_ms={median['tab_open_ms']:.0f}"
    )


if __name__ == "__main__":
    main()

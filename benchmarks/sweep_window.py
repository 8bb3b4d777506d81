"""GUI responsiveness while the optimizer view runs a sweep in worker processes.

Run ``python -m benchmarks.sweep_window`` from the repository root. It opens the optimizer view offscreen and runs a
30-job sweep of sma-cross-market (fast 5..25, slow 30..55) on a day of demo BTCUSDT candles in two local worker
processes, with a 10 ms QTimer heartbeat. The figure is the largest gap between two heartbeat ticks after the first
200 ms (the pool's start), the median of ``--runs`` sweeps; the baseline is the same heartbeat idle for as long, in
the same run. Target: ``max_gap_ms`` ≤ 50. (This was a timed assertion in the UI tests, where a loaded machine made
it fail; the tests now check only that the event loop turns during a sweep.)
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime

import qasync
from PySide6.QtWidgets import QApplication

from benchmarks.ui_latency import Heartbeat
from ui.compare.optimizer_view import OptimizerView

START = datetime(2024, 1, 1, 1, 0, tzinfo=UTC)
END = datetime(2024, 1, 1, 23, 59, tzinfo=UTC)
#: The pool's start (spawning two interpreters) is not counted: the view shows its progress from then on.
WARM_UP_MS = 200.0


def _new_view() -> OptimizerView:
    view = OptimizerView(lambda _request: None, dask_timeout=0.5)
    view.resize(1400, 860)
    view.market.refresh_choices()
    view.market.set_values(
        {
            "strategy_name": "sma-cross-market",
            "exchange_name": "demo",
            "symbol": "BTCUSDT",
            "start": START,
            "end": END,
            "metric": "total_pnl",
        }
    )
    view.executor.set_values({"kind": "local", "workers": 2})
    view.grid_editor.set_range("fast", 5, 25, 5)
    view.grid_editor.set_range("slow", 30, 55, 5)
    view.show()
    return view


async def _one_sweep() -> tuple[float, float, float]:
    """Return the largest gap while sweeping, the largest gap idle for as long, and the sweep's seconds."""
    view = _new_view()
    heartbeat = Heartbeat()
    heartbeat.start()
    started = time.perf_counter()
    task = view.run()
    if task is None:
        raise RuntimeError(f"the sweep did not start: {view.status.text()}")
    await task
    elapsed = time.perf_counter() - started
    heartbeat.stop()
    sweeping = _after_warm_up(heartbeat.gaps)
    await view.shutdown()
    view.deleteLater()
    heartbeat.start()
    await asyncio.sleep(elapsed)
    heartbeat.stop()
    return max(sweeping, default=0.0), heartbeat.max_stall_ms, elapsed


def _after_warm_up(gaps: list[float]) -> list[float]:
    """Return the gaps that end after the first ``WARM_UP_MS`` of the sweep."""
    kept: list[float] = []
    clock = 0.0
    for gap in gaps:
        clock += gap
        if clock > WARM_UP_MS:
            kept.append(gap)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="sweeps to take the median of (default 5)")
    args = parser.parse_args()
    app = QApplication([sys.argv[0]])
    # Each sweep's view is closed before the next opens: that must not end the event loop.
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    results: list[tuple[float, float, float]] = []
    with loop:
        for _ in range(args.runs):
            results.append(loop.run_until_complete(_one_sweep()))
    gaps = [gap for gap, _idle, _seconds in results]
    idle = statistics.median(idle for _gap, idle, _seconds in results)
    seconds = statistics.median(seconds for _gap, _idle, seconds in results)
    print(f"30-job sweep in 2 worker processes, {args.runs} runs: {seconds:.2f} s each (median)")
    print(f"  largest heartbeat gap per run: {', '.join(f'{gap:.1f}' for gap in gaps)} ms; idle {idle:.1f} ms")
    print(f"max_gap_ms={statistics.median(gaps):.1f} idle_gap_ms={idle:.1f} sweep_s={seconds:.2f}")


if __name__ == "__main__":
    main()

"""Live view latency: from a candle closing on the replay clock to the live chart showing it.

Run ``python -m benchmarks.live_latency`` from the repository root. It opens the main window offscreen (throwaway
settings, data and live-state folders), replays demo BTCUSDT candles at 120× on one replay clock and runs
sma-cross-market strategies live on it, each with its own fast SMA, from the window's Live tab exactly as a
trader's paper session does; the chart follows the first of them. For every candle the clock closes, the time
from that moment to the chart first drawing that candle is taken. The baseline is the same measurement with one
strategy live instead of ten, in the same run. Target: ``latency_ms`` (the median with ten strategies) ≤ 100.

Positions expire after :data:`LIFETIME_MINUTES`: the stop at the end of each case is graceful (an open position is
managed to its close), and with the strategy's default 240 minutes that wait alone took minutes of replay.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

import workstation as ws
from benchmarks.window import benchmark_window
from ui.main_window import MainWindow

SYMBOL = "BTCUSDT"
START = datetime(2024, 3, 1, tzinfo=UTC)
SPEED = 120.0
CANDLES = 30
WARMUP_CANDLES = 3
LIFETIME_MINUTES = 10
MINUTE_MS = 60_000


class WatchedClock(ws.ReplayClock):
    """A replay clock that notes the real time at which each 1m candle closes on it."""

    def __init__(self, start: datetime, speed: float) -> None:
        super().__init__(start, speed)
        self.closed_at: dict[int, float] = {}

    async def sleep(self, seconds: float) -> None:
        """Advance as the replay clock does, noting when each minute boundary passed is crossed."""
        before = self.now_ms()
        await super().sleep(seconds)
        now = time.perf_counter()
        for boundary in range(before // MINUTE_MS * MINUTE_MS + MINUTE_MS, self.now_ms() + 1, MINUTE_MS):
            self.closed_at.setdefault(boundary - MINUTE_MS, now)


async def measure(window: MainWindow, strategies: int, exchange_name: str, state: Path) -> list[float]:
    """Run ``strategies`` live on one replay clock; return the close-to-chart latency of each candle (ms).

    Each case has its own live-state file, so no case resumes the progress another one stored.
    """
    await ws.persist.close_persistence()
    ws.persist.use_sqlite(state)
    candles = await ws.fetch_candles("demo", SYMBOL, START - timedelta(days=1), START + timedelta(days=1))
    clock = WatchedClock(START, SPEED)
    ws.add_exchange(ws.make_replay_exchange(exchange_name, np.array(candles), clock))
    names = [
        ws.ensure_strategy("sma-cross-market", {"fast": 5 + k, "slow": 50, "minute_estimated_time": LIFETIME_MINUTES})
        for k in range(strategies)
    ]
    panel = window.live_panel
    shown_at: dict[int, float] = {}
    show = panel.chart.set_candles

    def timed_show(rows: Any) -> None:
        show(rows)
        if len(rows):
            shown_at.setdefault(int(rows["timestamp"][-1]), time.perf_counter())

    panel.chart.set_candles = timed_show  # type: ignore[method-assign,assignment]
    until = START + timedelta(minutes=CANDLES + WARMUP_CANDLES)
    for name in names:
        panel.start_live(SYMBOL, name, exchange_name, mode="paper", clock=clock, until=until)
    panel.table.select_run((SYMBOL, names[0]))
    while clock.now_ms() < int(until.timestamp() * 1000) + MINUTE_MS:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    panel.chart.set_candles = show  # type: ignore[method-assign]
    panel.stop_all()
    while panel.active_runs():
        await asyncio.sleep(0.05)
    closes = sorted(clock.closed_at.items())[WARMUP_CANDLES:]
    return [(shown_at[stamp] - closed) * 1000 for stamp, closed in closes if stamp in shown_at]


def main() -> None:
    with benchmark_window("workstation-live-latency-", size=(1600, 1000)) as (_app, loop, window, home):
        ws.ensure_exchange("demo")
        one = loop.run_until_complete(measure(window, 1, "replay-one", home / "one.sqlite3"))
        ten = loop.run_until_complete(measure(window, 10, "replay-ten", home / "ten.sqlite3"))
        loop.run_until_complete(ws.persist.close_persistence())
    median_one, median_ten = statistics.median(one), statistics.median(ten)
    p95_ten = float(np.percentile(ten, 95))
    print(f"replay at {SPEED:g}x, {CANDLES} candles measured per case, chart following the first strategy")
    print(f"  1 strategy live:   median {median_one:.1f} ms, max {max(one):.1f} ms over {len(one)} candles")
    print(f"  10 strategies live: median {median_ten:.1f} ms, p95 {p95_ten:.1f} ms, max {max(ten):.1f} ms")
    print(
        f"latency_ms={median_ten:.1f} p95_ms={p95_ten:.1f} latency_1_ms={median_one:.1f} "
        f"ratio={median_ten / median_one:.2f} candles={len(ten)} strategies=10"
    )


if __name__ == "__main__":
    main()

"""Frame times and memory of the candle chart: a million 1m candles, 5,000 trades, three indicators (DESIGN §3.15).

Run ``python -m benchmarks.chart`` from the repository root. It builds a ``CandleChart`` offscreen at 1600x900 with
a seeded random walk of 1,000,000 1m candles (about two years), 5,000 synthetic positions plus 1,000 limit
orders, and three indicator lines (two SMAs over the candles and an RSI-like line in a pane of its own, with guide
levels), then measures the median of 50 frames (``QWidget.grab``, which paints the whole widget):

* ``full_view_ms``: the whole data set in view;
* ``pan_ms``: a view of 100,000 bars moved right by a tenth of its width before each frame;
* ``chart_mb``: resident memory of the process after the chart is built and has drawn every view above, minus
  before it was created (the candle array and the indicator values themselves are made before and not counted).

Targets: 16 ms per frame (60 frames a second) and 250 MB. The last line holds the figures as ``name=value`` pairs
and the number of overlays (``overlays=3``).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from PySide6.QtWidgets import QApplication

import workstation as ws
from ui.charts import CandleChart, SignalMarks
from workstation.indicators import moving_average

CANDLES = 1_000_000
TRADES = 5_000
LIMIT_ORDERS = 1_000
FRAMES = 50
PAN_VIEW_BARS = 100_000
SEED = 42
START_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC
TARGETS = {"full_view_ms": 16.0, "pan_ms": 16.0, "chart_mb": 250.0}
OVERLAYS = 3


def synthetic_candles(count: int, seed: int) -> np.ndarray:
    """Return ``count`` 1m candles of a seeded random walk starting at 42,000."""
    rng = np.random.default_rng(seed)
    close = 42_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, count)))
    open_ = np.concatenate(([42_000.0], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.0004, (2, count))) * close
    candles = np.empty(count, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = START_MS + np.arange(count, dtype=np.int64) * 60_000
    candles["open"] = open_
    candles["close"] = close
    candles["high"] = np.maximum(open_, close) + wick[0]
    candles["low"] = np.minimum(open_, close) - wick[1]
    candles["volume"] = rng.gamma(2.0, 5.0, count)
    return candles


def synthetic_marks(candles: np.ndarray, trades: int, limit_orders: int, seed: int) -> SignalMarks:
    """Return ``trades`` closed positions and ``limit_orders`` limit orders spread over ``candles``."""
    rng = np.random.default_rng(seed + 1)
    count = len(candles)
    entry = np.sort(rng.choice(count - 600, trades, replace=False))
    exit_ = entry + rng.integers(5, 500, trades)
    is_long = rng.random(trades) < 0.5
    entry_price = candles["close"][entry]
    exit_price = candles["close"][exit_]
    direction = np.where(is_long, 1.0, -1.0)
    created = np.sort(rng.choice(count - 200, limit_orders, replace=False))
    ended = created + rng.integers(5, 120, limit_orders)
    cancelled = rng.random(limit_orders) < 0.4
    return SignalMarks(
        position_ids=np.array([f"trade-{i}" for i in range(trades)]),
        entry_time=candles["timestamp"][entry],
        entry_price=entry_price,
        is_long=is_long,
        take_profit=entry_price * (1 + 0.01 * direction),
        stop_loss=entry_price * (1 - 0.005 * direction),
        exit_time=candles["timestamp"][exit_].astype(np.float64),
        exit_price=exit_price,
        pnl_percentage=(exit_price / entry_price - 1) * 100 * direction,
        close_reason=np.full(trades, "time_expired"),
        limit_ids=np.array([f"order-{i}" for i in range(limit_orders)]),
        limit_created=candles["timestamp"][created],
        limit_ended=candles["timestamp"][ended].astype(np.float64),
        limit_price=candles["close"][created] * 0.995,
        limit_is_long=np.ones(limit_orders, dtype=bool),
        limit_filled=~cancelled,
        limit_cancel_reason=np.where(cancelled, "timeout", ""),
    )


def synthetic_indicators(candles: np.ndarray) -> ws.IndicatorValues:
    """Return three indicator lines over ``candles``: SMA 20 and SMA 200 of the closes, and a 0–100 oscillator."""
    closes = candles["close"]
    oscillator = np.full(len(candles), np.nan)
    changes = np.diff(closes)
    gains = moving_average(np.maximum(changes, 0.0), 14)
    losses = moving_average(np.maximum(-changes, 0.0), 14)
    oscillator[1:] = 100.0 * gains / (gains + losses)
    return ws.IndicatorValues(
        series=(
            ws.IndicatorSeries("SMA 20", "price", (), moving_average(closes, 20)),
            ws.IndicatorSeries("SMA 200", "price", (), moving_average(closes, 200)),
            ws.IndicatorSeries("RSI", "RSI", (30.0, 70.0), oscillator),
        )
    )


def resident_mb() -> float:
    """Resident memory of this process in MB, from ``/proc/self/statm`` (pages)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def median_frame_ms(chart: CandleChart, before_frame: Callable[[], None]) -> float:
    """Median wall time of ``FRAMES`` repaints, each after ``before_frame`` changed the view."""
    times = []
    for _ in range(FRAMES):
        before_frame()
        started = time.perf_counter()
        chart.grab()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.chart", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    candles = synthetic_candles(CANDLES, SEED)
    marks = synthetic_marks(candles, TRADES, LIMIT_ORDERS, SEED)
    indicators = synthetic_indicators(candles)
    app.processEvents()
    rss_before = resident_mb()

    started = time.perf_counter()
    chart = CandleChart()
    chart.resize(1600, 900)
    chart.show()
    chart.set_candles(candles)
    chart.set_marks(marks)
    chart.set_indicators(indicators)
    app.processEvents()
    build_ms = (time.perf_counter() - started) * 1000
    box = chart.price_plot.getViewBox()

    def full_range() -> None:
        box.setXRange(0, CANDLES - 1, padding=0)

    full_view_ms = median_frame_ms(chart, full_range)

    box.setXRange(0, PAN_VIEW_BARS, padding=0)
    chart.grab()

    def pan() -> None:
        first, last = box.viewRange()[0]
        step = (last - first) * 0.1
        box.setXRange(first + step, last + step, padding=0)

    pan_ms = median_frame_ms(chart, pan)
    chart_mb = resident_mb() - rss_before

    figures = {"full_view_ms": full_view_ms, "pan_ms": pan_ms, "chart_mb": chart_mb}
    print(
        f"CandleChart 1600x900, {CANDLES:,} 1m candles, {TRADES:,} trades, {LIMIT_ORDERS:,} limit orders, "
        f"{len(indicators.series)} indicator overlays"
    )
    print(f"build (set_candles + set_marks + set_indicators): {build_ms:.0f} ms")
    print(f"{'figure':<14}{'median':>10}{'target':>10}")
    for name, value in figures.items():
        verdict = "ok" if value <= TARGETS[name] else "OVER"
        print(f"{name:<14}{value:>10.1f}{TARGETS[name]:>10.0f}  {verdict}")
    print(" ".join(f"{name}={value:.1f}" for name, value in figures.items()) + f" overlays={len(indicators.series)}")
    chart.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

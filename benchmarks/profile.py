"""Where a year's backtest spends its time: the strategy's own Python against the engine's (issue 17).

Run ``python -m benchmarks.profile [--repeat N]`` from the repository root. It runs the 365-day SMA-cross case of
``benchmarks.backtest`` (the seed-42 year of 1m candles, generated and cached as that benchmark does) for three
strategies, each ``--repeat`` times (3), interleaved so a noisy neighbour hits them alike:

* ``example``: the project's ``sma-cross-market`` (`workstation.examples.sma_cross`);
* ``naive``: the same crossover as a trader first writes it (`benchmarks.naive_sma.NaiveSmaCross`: the candles
  turned into a Python list, the averages summed in a loop); its trades must be the example's, field by field;
* ``managed``: the built-in ``managed-sma``, which manages each position minute by minute from its callbacks.

The strategy's own time is measured inside the run: ``get_signal`` and every callback go through a timer
(`StrategyClock`) that adds up the time spent in them. Whatever else ``Backtest.run`` spends is the engine's. The
clock also sorts the engine's stretches between two callbacks: after a ``get_signal`` that returned nothing (the
engine's cost per strategy call), from a signal to the next call or the position's close (per position and per
minute of a position), before the first and after the last callback. The timer's own cost per callback is measured
beforehand (`timer_cost`) and taken off the engine's time. The data look-ups a strategy makes (``get_candles``,
``get_average_price``) run inside its callbacks and count as its time here; the profile below shows what they cost.

The garbage collector's pauses inside each run are measured too (``gc s``; each run starts from a collected heap).

Then the example and the managed strategy run once more under ``cProfile`` with the collector off (a profile would
charge its pauses to whichever function allocates at the time). The engine's functions (the strategy's own frames
left out, and the strategy's share of the built-ins both call) are ranked by their own time; the top 25 and the
totals by file are written to ``profile-<case>.txt`` in the benchmark cache and the top 10 printed, each with its
share of the profiled run.

Each figure is the median over the runs. The last line holds the figures as ``name=value`` pairs.

``benchmarks.backtest`` runs the example once per process through this module (``--child CSV CASE``, one JSON line
out) and reports the median engine overhead of those runs beside the peer.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import inspect
import json
import pstats
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import workstation as ws
import workstation.examples.managed_sma as managed_sma_module
import workstation.examples.sma_cross as sma_cross_module
from benchmarks.backtest import CACHE, PEER, REPO, ensure_csv, read_results
from benchmarks.naive_sma import NaiveSmaCross
from workstation.examples.managed_sma import ManagedSma, ManagedSmaParams
from workstation.examples.sma_cross import make_strategy
from workstation.exchanges.csv import CsvCandles, make_csv_exchange
from workstation.models.results import CancelledResult, ClosedResult, OpenedResult
from workstation.parity import EXCHANGE_NAME, FRAME_NAME, SYMBOL, TRADE_FIELDS, compare_rows, result_row
from workstation.schemas.strategy import StrategySchema
from workstation.timeutil import MINUTE_MS, from_ms

#: The frame of ``run_parity``: the first hour of the file warms the averages up, its last six hours are the tail.
WARMUP_MIN = 60
TAIL_MIN = 360
CASES = ("example", "naive", "managed")
PROFILED = ("example", "managed")
TOP_WRITTEN = 25
TOP_PRINTED = 10

Stretch = Literal["flat", "position"]


@dataclass
class StrategyClock:
    """Adds up the time spent in a strategy's callbacks and sorts the engine's time between them.

    Parameters
    ----------
    timer_cost
        Seconds the timing itself adds to each callback outside the timed part (`timer_cost`); taken off the
        engine's stretch that ends at the callback.
    """

    timer_cost: float = 0.0
    strategy_seconds: float = 0.0
    callbacks: int = 0
    signal_calls: int = 0
    flat_calls: int = 0
    """``get_signal`` calls that returned nothing: the engine's stretch after each is its cost per call."""
    engine: dict[str, float] = field(default_factory=lambda: dict.fromkeys(("start", "flat", "position", "end"), 0.0))
    _last_exit: float | None = None
    _stretch: Stretch = "flat"

    def start(self) -> None:
        """Mark the start of ``Backtest.run``."""
        self._last_exit = time.perf_counter()

    def stop(self) -> None:
        """Mark the end of ``Backtest.run``: the time since the last callback is the engine's ``end``."""
        assert self._last_exit is not None
        self.engine["end"] += time.perf_counter() - self._last_exit

    def _enter(self) -> float:
        entered = time.perf_counter()
        assert self._last_exit is not None
        stretch = "start" if self.callbacks == 0 else self._stretch
        self.engine[stretch] += entered - self._last_exit - self.timer_cost
        self.callbacks += 1
        return entered

    def _leave(self, entered: float) -> None:
        self._last_exit = left = time.perf_counter()
        self.strategy_seconds += left - entered

    def timed(self, name: str, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``callback`` timed; ``name`` is its field in the schema (``get_signal``, ``on_close``, ...)."""
        if not inspect.iscoroutinefunction(callback) and not inspect.iscoroutinefunction(
            getattr(callback, "__call__", None)  # noqa: B004
        ):
            raise TypeError(f"{name}: the strategies profiled here have async callbacks, got {callback!r}")
        after: Callable[[Any], None] = self._after_signal if name == "get_signal" else self._after_callback
        if name == "on_close":
            after = self._after_close

        async def timed_callback(*args: Any, **kwargs: Any) -> Any:
            entered = self._enter()
            result = await callback(*args, **kwargs)
            self._leave(entered)
            after(result)
            return result

        return timed_callback

    def _after_signal(self, signal: object) -> None:
        self.signal_calls += 1
        self.flat_calls += signal is None
        self._stretch = "flat" if signal is None else "position"

    def _after_close(self, _: object) -> None:
        self._stretch = "flat"

    def _after_callback(self, _: object) -> None:
        pass

    def timed_schema(self, schema: StrategySchema) -> StrategySchema:
        """Return ``schema`` with its ``get_signal`` and every callback it has timed by this clock."""
        callbacks = {
            name: self.timed(name, callback)
            for name, callback in schema.callbacks.model_dump().items()
            if callback is not None
        }
        return schema.model_copy(
            update={
                "get_signal": self.timed("get_signal", schema.get_signal),
                "callbacks": schema.callbacks.model_copy(update=callbacks),
            }
        )


@dataclass
class GarbageClock:
    """Adds up the pauses of Python's cyclic garbage collector while it is in ``gc.callbacks``."""

    seconds: float = 0.0
    collections: int = 0
    _started: float = 0.0

    def __call__(self, phase: str, _: dict[str, int]) -> None:
        """Note the start or the end of one collection."""
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1


def timer_cost(rounds: int = 5, calls: int = 50_000) -> float:
    """Return the seconds a `StrategyClock` adds to each call outside its timed part (the fastest of ``rounds``)."""

    async def nothing() -> None:
        return None

    async def measure() -> float:
        clock = StrategyClock()
        clock.start()
        timed = clock.timed("on_idle", nothing)
        best = float("inf")
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(calls):
                await nothing()
            plain = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(calls):
                await timed()
            wrapped = time.perf_counter() - started
            # The timed part holds the inner call, which the plain loop makes too: the difference is the timer's.
            best = min(best, (wrapped - plain) / calls)
        return max(best, 0.0)

    return asyncio.run(measure())


@dataclass(frozen=True)
class YearRun:
    """One run of the year: its wall time, the clock's figures and the trades."""

    case: str
    wall_seconds: float
    clock: StrategyClock
    rows: list[dict[str, Any]]
    opened: int
    position_minutes: int
    """Minutes the closed positions were open."""
    garbage: GarbageClock

    @property
    def strategy_seconds(self) -> float:
        """Time inside the strategy's callbacks."""
        return self.clock.strategy_seconds

    @property
    def engine_seconds(self) -> float:
        """The rest of ``Backtest.run``, less the timer's own cost."""
        return sum(self.clock.engine.values())

    @property
    def us_per_call(self) -> float:
        """The engine's µs after each ``get_signal`` that returned nothing, to the next callback."""
        return self.clock.engine["flat"] / self.clock.flat_calls * 1e6

    @property
    def us_per_position(self) -> float:
        """The engine's µs from each signal to its close (or to the next call when nothing marks the close)."""
        return self.clock.engine["position"] / self.opened * 1e6

    @property
    def us_per_position_minute(self) -> float:
        """The engine's µs per minute of an open position."""
        return self.clock.engine["position"] / self.position_minutes * 1e6


def case_schema(case: str) -> StrategySchema:
    """Return the strategy of ``case`` as a trader registers it."""
    if case == "example":
        return make_strategy({"variant": "market"})
    if case == "naive":
        return StrategySchema(strategy_name="sma-cross-naive", interval="5m", get_signal=NaiveSmaCross())
    if case == "managed":
        return ManagedSma(ManagedSmaParams(variant="market")).schema()
    raise ValueError(f"case: {case!r} is not one of {list(CASES)}")


async def run_year(csv_path: Path, case: str, cost: float, profiler: cProfile.Profile | None = None) -> YearRun:
    """Run ``case`` on the year as ``workstation.parity.run_parity`` does, timing its callbacks.

    The run is ours rather than ``run_parity``'s so that the profiler wraps ``Backtest.run`` alone, and the results
    become rows after the clock stops.
    """
    ws.reset()
    exchange = ws.add_exchange(make_csv_exchange(EXCHANGE_NAME, csv_path))
    assert isinstance(exchange.get_candles, CsvCandles)
    candles = await exchange.get_candles.load()
    frame_start = int(candles["timestamp"][0]) + WARMUP_MIN * MINUTE_MS
    frame_end = int(candles["timestamp"][-1]) - TAIL_MIN * MINUTE_MS
    clock = StrategyClock(timer_cost=cost)
    strategy = ws.add_strategy(clock.timed_schema(case_schema(case)))
    ws.add_frame(
        ws.FrameSchema(
            frame_name=FRAME_NAME, interval="1m", start_date=from_ms(frame_start), end_date=from_ms(frame_end)
        )
    )
    results = []
    garbage = GarbageClock()
    gc.callbacks.append(garbage)
    started = time.perf_counter()
    clock.start()
    if profiler is not None:
        profiler.enable()
    try:
        async for result in ws.Backtest.run(
            SYMBOL, strategy_name=strategy.strategy_name, exchange_name=EXCHANGE_NAME, frame_name=FRAME_NAME
        ):
            results.append(result)
    finally:
        if profiler is not None:
            profiler.disable()
        clock.stop()
        wall = time.perf_counter() - started
        gc.callbacks.remove(garbage)
    rows = [
        result_row(result, managed=case == "managed")
        for result in results
        if isinstance(result, ClosedResult | CancelledResult)
    ]
    opened = sum(isinstance(result, OpenedResult) for result in results)
    minutes = sum((row["closeTimestamp"] - row["pendingAt"]) // MINUTE_MS for row in rows if row["action"] == "closed")
    return YearRun(case, wall, clock, rows, opened, minutes, garbage)


@dataclass(frozen=True)
class Hotspot:
    """One engine function of a profile: its own time (without the strategy's share of a built-in) and calls."""

    seconds: float
    calls: int
    function: str


def engine_hotspots(stats: pstats.Stats, strategy_files: set[str]) -> list[Hotspot]:
    """Return the engine's functions of ``stats`` by own time, the frames of ``strategy_files`` left out.

    A function the strategy called as well (a built-in, a helper) keeps only the share of its calls from elsewhere.
    """
    hotspots = []
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for (file, line, name), (_, all_calls, all_own, _, callers) in table.items():
        if file in strategy_files:
            continue
        from_engine = [entry for caller, entry in callers.items() if caller[0] not in strategy_files]
        own = sum(entry[2] for entry in from_engine) if callers else all_own
        calls = sum(entry[0] for entry in from_engine) if callers else all_calls
        if calls:
            where = name if file == "~" else f"{_short(file)}:{line}({name})"
            hotspots.append(Hotspot(own, calls, where))
    return sorted(hotspots, key=lambda hotspot: hotspot.seconds, reverse=True)


def _short(file: str) -> str:
    """Return ``file`` from its package folder on (``workstation/...``, ``pydantic/main.py``)."""
    for root in (f"{REPO}/", "/site-packages/"):
        if root in file:
            return file.rsplit(root, 1)[1]
    return Path(file).name


def profile_case(csv_path: Path, case: str, cost: float) -> tuple[YearRun, list[Hotspot], Path]:
    """Run ``case`` under cProfile; write its top engine functions to the cache and return them with the run."""
    profiler = cProfile.Profile()
    # With the collector off: its pauses would be charged to whichever function allocates at the time (the timed
    # runs measure them, ``gc s``).
    gc.collect()
    gc.disable()
    try:
        run = asyncio.run(run_year(csv_path, case, cost, profiler))
    finally:
        gc.enable()
    strategy_files = {__file__, sma_cross_module.__file__, managed_sma_module.__file__}
    hotspots = engine_hotspots(pstats.Stats(profiler), strategy_files)
    path = CACHE / f"profile-{case}.txt"
    by_file: dict[str, Hotspot] = {}
    for hotspot in hotspots:
        file = hotspot.function.split(":", 1)[0] if ":" in hotspot.function else "(built-ins)"
        known = by_file.get(file, Hotspot(0.0, 0, file))
        by_file[file] = Hotspot(known.seconds + hotspot.seconds, known.calls + hotspot.calls, file)
    files = sorted(by_file.values(), key=lambda total: total.seconds, reverse=True)
    lines = [
        f"{case}: the engine's top {TOP_WRITTEN} functions by own time under cProfile "
        f"(profiled run {run.wall_seconds:.3f} s with the garbage collector off; strategy frames left out)",
        f"{'own s':>8}{'share':>8}{'calls':>11}  function",
        *(hotspot_line(hotspot, run.wall_seconds) for hotspot in hotspots[:TOP_WRITTEN]),
        "",
        f"the engine's own time by file (top {TOP_WRITTEN})",
        *(hotspot_line(total, run.wall_seconds) for total in files[:TOP_WRITTEN]),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run, hotspots, path


def hotspot_line(hotspot: Hotspot, wall_seconds: float) -> str:
    """Return one line of a profile table: own seconds, share of the profiled run, calls, the function."""
    share = hotspot.seconds / wall_seconds * 100
    return f"{hotspot.seconds:>8.3f}{share:>7.1f}%{hotspot.calls:>11,}  {hotspot.function}"


def median_of(runs: Sequence[YearRun], figure: Callable[[YearRun], float]) -> float:
    """Return the median of ``figure`` over ``runs``."""
    return statistics.median(figure(run) for run in runs)


def case_line(case: str, runs: Sequence[YearRun]) -> str:
    """Return the printed row of one case: medians of its runs, the engine's spread beside it."""
    engines = sorted(run.engine_seconds for run in runs)
    first = runs[0]
    wall, strategy = median_of(runs, lambda r: r.wall_seconds), median_of(runs, lambda r: r.strategy_seconds)
    return (
        f"{case:<9}{wall:>8.3f}{strategy:>9.3f}"
        f"{median_of(runs, lambda r: r.engine_seconds):>8.3f} ({engines[0]:.3f}-{engines[-1]:.3f})"
        f"{median_of(runs, lambda r: r.engine_seconds / r.wall_seconds) * 100:>6.1f}%"
        f"{median_of(runs, lambda r: r.garbage.seconds):>7.3f}"
        f"{first.clock.signal_calls:>9,}{median_of(runs, lambda r: r.us_per_call):>8.2f}"
        f"{first.opened:>7,}{median_of(runs, lambda r: r.us_per_position):>8.1f}"
        f"{first.position_minutes:>10,}{median_of(runs, lambda r: r.us_per_position_minute):>7.2f}"
    )


def child_main(csv_path: Path, case: str) -> None:
    """Run ``case`` once on ``csv_path`` and print its wall, strategy and engine seconds as a JSON line.

    ``benchmarks.backtest`` takes the engine overhead of its runs from here, one fresh process per run.
    """
    cost = timer_cost()
    # From a collected heap, as in `main`: the timer's measurement leaves its garbage behind.
    gc.collect()
    run = asyncio.run(run_year(csv_path, case, cost))
    figures = {"wall": run.wall_seconds, "strategy": run.strategy_seconds, "engine": run.engine_seconds}
    print(json.dumps({f"{name}_seconds": seconds for name, seconds in figures.items()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each strategy; the medians count (3)")
    parser.add_argument("--child", nargs=2, metavar=("CSV", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        csv_path, case = args.child
        child_main(Path(csv_path), case)
        return 0
    if not PEER.is_dir():
        print(f"benchmarks.profile: the peer harness is not at {PEER}; no candles to run on")
        return 0
    hashes, _ = read_results(PEER / "RESULTS.md")
    csv_path = ensure_csv("365d", hashes["365d"])
    cost = timer_cost()
    print(f"the 365-day run of {csv_path.name}, {max(1, args.repeat)} runs of each; timer cost {cost * 1e6:.2f} µs")
    runs: dict[str, list[YearRun]] = {case: [] for case in CASES}
    references: dict[str, YearRun] = {}
    for _ in range(max(1, args.repeat)):
        for case in CASES:
            # Each run starts from a collected heap and only the first run of the example and of the managed
            # strategy keep their trades: the rows of earlier runs would lengthen every later run's collections.
            gc.collect()
            run = asyncio.run(run_year(csv_path, case, cost))
            # Every run of a case makes the same trades, and the naive strategy makes the example's.
            reference = references.setdefault("managed" if case == "managed" else "example", run)
            differences = compare_rows(run.rows, reference.rows, TRADE_FIELDS)
            if run.clock.signal_calls != reference.clock.signal_calls:
                differences.append(f"get_signal calls {run.clock.signal_calls}, not {reference.clock.signal_calls}")
            if differences:
                print(f"{case}: the trades differ from those of {reference.case}'s first run: {differences[:3]}")
                return 1
            runs[case].append(run if run is reference else replace(run, rows=[]))
    print(
        f"{'median':<9}{'wall s':>8}{'strat s':>9}{'engine s (range)':>22}{'share':>6}{'gc s':>7}"
        f"{'calls':>9}{'µs/call':>8}{'pos':>7}{'µs/pos':>8}{'pos-min':>10}{'µs/min':>7}"
    )
    for case in CASES:
        print(case_line(case, runs[case]))
    for case in PROFILED:
        profiled, hotspots, path = profile_case(csv_path, case, cost)
        engine_total = sum(hotspot.seconds for hotspot in hotspots)
        print(
            f"{case} under cProfile, the collector off: {profiled.wall_seconds:.3f} s, "
            f"the engine's own functions {engine_total:.3f} s; "
            f"top {TOP_PRINTED} (all {TOP_WRITTEN} in {path}):"
        )
        for hotspot in hotspots[:TOP_PRINTED]:
            print("  " + hotspot_line(hotspot, profiled.wall_seconds))
    plain, naive, managed = (runs[case] for case in CASES)
    print(
        f"engine_overhead_s={median_of(plain, lambda r: r.engine_seconds):.3f} "
        f"example_s={median_of(plain, lambda r: r.wall_seconds):.3f} "
        f"naive_s={median_of(naive, lambda r: r.wall_seconds):.3f} "
        f"managed_s={median_of(managed, lambda r: r.wall_seconds):.3f} "
        f"strategy_s={median_of(plain, lambda r: r.strategy_seconds):.3f} "
        f"naive_strategy_s={median_of(naive, lambda r: r.strategy_seconds):.3f} "
        f"managed_engine_s={median_of(managed, lambda r: r.engine_seconds):.3f} "
        f"gc_s={median_of(plain, lambda r: r.garbage.seconds):.3f} "
        f"managed_gc_s={median_of(managed, lambda r: r.garbage.seconds):.3f} "
        f"us_per_call={median_of(plain, lambda r: r.us_per_call):.2f} "
        f"us_per_position={median_of(plain, lambda r: r.us_per_position):.1f} "
        f"us_per_position_minute={median_of(managed, lambda r: r.us_per_position_minute):.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The benchmarks ``python -m benchmarks`` runs and the figure each of them must reach (the issues' targets)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

COMPARISONS = {">=": "≥", "<=": "≤", "==": "=", "": ""}


class Verdict(Enum):
    """How a measured figure stands against its target."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    INFO = "INFO"


@dataclass(frozen=True)
class Figure:
    """One figure of a benchmark's last line and the target it is held to.

    ``comparison`` is ``">="`` or ``"<="`` for a number, ``"=="`` for a word that must match exactly, and ``""``
    for a figure shown as information only (``target`` is then empty too).
    """

    key: str
    comparison: str
    target: str
    unit: str = ""

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison {self.comparison!r} of figure {self.key!r} is not one of {list(COMPARISONS)}")
        if self.comparison in (">=", "<=") and not _is_number(self.target):
            raise ValueError(f"target {self.target!r} of figure {self.key!r} is not a number")


@dataclass(frozen=True)
class Benchmark:
    """A benchmark module, the arguments it runs with, how long it may take and the figures it is judged by.

    ``peer_timeout_s`` is set on a benchmark that can measure the peer beside us (``--with-peer``): how long it may
    take then.
    """

    name: str
    args: tuple[str, ...]
    timeout_s: float
    figures: tuple[Figure, ...]
    peer_timeout_s: float | None = None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def info(key: str, unit: str = "") -> Figure:
    """Return a figure shown beside the others without a target."""
    return Figure(key, "", "", unit)


BENCHMARKS: tuple[Benchmark, ...] = (
    # Issue 17's acceptance 1 and 2: medians of 5, the peer measured beside us with --with-peer (else RESULTS.md's).
    Benchmark(
        "backtest",
        ("--only", "365d"),
        1800.0,
        (
            Figure("example_ratio", ">=", "100", "x"),
            Figure("naive_ratio", ">=", "50", "x"),
            Figure("engine_overhead_s", "<=", "0.3", "s"),
            Figure("peak_mb", "<=", "160", "MB"),
            Figure("managed_ratio", ">=", "30", "x"),
            Figure("managed_peak_mb", "<=", "160", "MB"),
            info("limit_ratio", "x"),
            info("managed_limit_ratio", "x"),
            info("example_s", "s"),
            info("naive_s", "s"),
            info("managed_s", "s"),
            info("peer_market_s", "s"),
            info("peer_managed_s", "s"),
            Figure("parity", "==", "ok"),
            info("peer"),
        ),
        peer_timeout_s=5400.0,
    ),
    Benchmark(
        "chart",
        (),
        300.0,
        (
            Figure("full_view_ms", "<=", "16", "ms"),
            Figure("pan_ms", "<=", "16", "ms"),
            Figure("chart_mb", "<=", "250", "MB"),
            Figure("overlays", "==", "3"),
        ),
    ),
    Benchmark("startup", (), 180.0, (Figure("startup_s", "<=", "1.5", "s"),)),
    Benchmark(
        "ui_latency",
        (),
        300.0,
        (Figure("max_stall_ms", "<=", "50", "ms"), Figure("progress_hz", ">=", "5", "Hz")),
    ),
    Benchmark("sweep_window", (), 600.0, (Figure("max_gap_ms", "<=", "50", "ms"), info("idle_gap_ms", "ms"))),
    Benchmark(
        "theme_switch",
        (),
        300.0,
        (Figure("switch_ms", "<=", "200", "ms"), info("to_light_ms", "ms"), info("to_dark_ms", "ms")),
    ),
    Benchmark("live_latency", (), 600.0, (Figure("latency_ms", "<=", "100", "ms"), info("p95_ms", "ms"))),
    Benchmark(
        "order_latency",
        (),
        300.0,
        (Figure("order_latency_ms", "<=", "50", "ms"), info("p95_ms", "ms"), info("orders")),
    ),
    Benchmark(
        "sweep",
        (),
        600.0,
        (
            info("jobs_per_s_1", "jobs/s"),
            # Issue 17's acceptance 3: 3 x the 15.3 jobs/s measured before it.
            Figure("jobs_per_s_2", ">=", "45.9", "jobs/s"),
            info("jobs_per_s_dask", "jobs/s"),
            Figure("scaling", ">=", "1.7", "x"),
            Figure("identical", "==", "True"),
        ),
    ),
    Benchmark(
        "profile",
        (),
        900.0,
        (
            Figure("engine_overhead_s", "<=", "0.3", "s"),
            info("example_s", "s"),
            info("naive_s", "s"),
            info("managed_s", "s"),
            info("strategy_s", "s"),
            info("naive_strategy_s", "s"),
            info("managed_engine_s", "s"),
            info("gc_s", "s"),
            info("managed_gc_s", "s"),
            info("us_per_call", "µs"),
            info("us_per_position", "µs"),
            info("us_per_position_minute", "µs"),
        ),
    ),
    Benchmark(
        "demo_exchange",
        (),
        300.0,
        (info("candles_per_s", "candles/s"), info("year_seconds", "s"), info("peak_mb", "MB")),
    ),
)


def parse_figures(line: str) -> dict[str, str]:
    """Read a benchmark's last line of ``name=value`` pairs into a dict of name to value (as printed).

    Parameters
    ----------
    line
        The line, pairs separated by whitespace, e.g. ``"startup_s=0.812 ratio=2.10"``.

    Raises
    ------
    ValueError
        If the line holds no pair, a word is not ``name=value`` with a name, or a name appears twice.
    """
    figures: dict[str, str] = {}
    for word in line.split():
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise ValueError(f"not a name=value pair: {word!r} in the line {line!r}")
        if name in figures:
            raise ValueError(f"figure {name!r} appears twice in the line {line!r}")
        figures[name] = value
    if not figures:
        raise ValueError(f"no name=value pairs in the line {line!r}")
    return figures


def judge(figure: Figure, measured: str) -> Verdict:
    """Return whether ``measured`` (the value as printed) reaches the figure's target.

    A number that cannot be read, or ``nan``, is an ``ERROR`` for a numeric target: the benchmark did not measure.
    """
    if not figure.comparison:
        return Verdict.INFO
    if figure.comparison == "==":
        return Verdict.PASS if measured == figure.target else Verdict.FAIL
    try:
        value = float(measured)
    except ValueError:
        return Verdict.ERROR
    if math.isnan(value):
        return Verdict.ERROR
    target = float(figure.target)
    reached = value >= target if figure.comparison == ">=" else value <= target
    return Verdict.PASS if reached else Verdict.FAIL

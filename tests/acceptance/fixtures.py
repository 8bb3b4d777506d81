"""Shared fixtures of the acceptance scenarios (SPEC §19 "Fixtures").

* ``ladder(...)``: the LADDER candles (400 one-minute candles from T0, ``open = close = p(k)``, ``high = p + 10``,
  ``low = p - 10``, ``volume = 100``; ``steps`` change ``p`` from a candle on, ``wicks`` override high/low).
* ``LadderExchange``: the ``ladder`` exchange serving those candles (1m, plus epoch-aligned aggregates), counting
  every call of the user function.
* frame ``F``: ``1m``, 00:10 -> 02:59 (170 ticks).
* ``OneShot``: ``get_signal`` of the strategy ``one-shot`` (interval ``5m``): the signal on its first call, None after.
* the signals ``L``, ``S``, ``LL``, ``SS`` (as field dicts; ``signal(L, ...)`` builds a ``ws.Signal``).

Only names that exist today are touched at import time; everything else of ``ws`` is looked up inside functions, so
the test modules collect while the engine is still being written.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

import workstation as ws

T0 = 1704067200000
"""2024-01-01T00:00:00Z in epoch ms."""
MINUTE = 60_000

SYMBOL = "BTCUSDT"
STRATEGY = "one-shot"
EXCHANGE = "ladder"
FRAME = "F"

INTERVAL_MINUTES = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "8h": 480,
    "12h": 720,
    "1d": 1440,
}


def ts(minute: int) -> int:
    """Epoch ms of 2024-01-01 00:00 UTC + ``minute`` minutes (``ts(24)`` is 00:24)."""
    return T0 + minute * MINUTE


def hm(hours: int, minutes: int) -> int:
    """Epoch ms of 2024-01-01 ``hours:minutes`` UTC."""
    return ts(hours * 60 + minutes)


def at(minute: int) -> datetime:
    """Aware UTC datetime of ``ts(minute)``."""
    return datetime.fromtimestamp(ts(minute) / 1000, tz=UTC)


# ---------------------------------------------------------------------------------------------------------------
# Signals of §19 (field dicts)
# ---------------------------------------------------------------------------------------------------------------

L: dict[str, Any] = {
    "position": "long",
    "price_take_profit": 42420.0,
    "price_stop_loss": 41580.0,
    "minute_estimated_time": 120,
}
S: dict[str, Any] = {
    "position": "short",
    "price_take_profit": 41580.0,
    "price_stop_loss": 42420.0,
    "minute_estimated_time": 120,
}
LL: dict[str, Any] = {
    "position": "long",
    "price_open": 41800.0,
    "price_take_profit": 42300.0,
    "price_stop_loss": 41500.0,
    "minute_estimated_time": 120,
}
SS: dict[str, Any] = {
    "position": "short",
    "price_open": 42200.0,
    "price_take_profit": 41700.0,
    "price_stop_loss": 42500.0,
    "minute_estimated_time": 60,
}


def signal(base: Mapping[str, Any], **overrides: Any) -> Any:
    """Build a ``ws.Signal`` from one of the field dicts above with ``overrides`` applied."""
    return ws.Signal(**{**base, **overrides})


# ---------------------------------------------------------------------------------------------------------------
# Candles and exchanges
# ---------------------------------------------------------------------------------------------------------------


def ladder(
    base: float = 42000.0,
    steps: Mapping[int, float] | None = None,
    wicks: Mapping[int, tuple[float, float]] | None = None,
    *,
    count: int = 400,
    volume: float = 100.0,
    drop: tuple[int, ...] = (),
) -> np.ndarray:
    """Return the LADDER candles as a ``ws.CANDLE_DTYPE`` array (``drop`` removes candles ``k``: holes)."""
    steps = dict(steps or {})
    wicks = dict(wicks or {})
    keys = sorted(steps)
    rows = []
    for k in range(count):
        if k in drop:
            continue
        price = base
        for key in keys:
            if key <= k:
                price = steps[key]
        high, low = wicks.get(k, (price + 10, price - 10))
        rows.append((ts(k), price, high, low, price, volume))
    return np.array(rows, dtype=ws.CANDLE_DTYPE)


def aggregate(candles: np.ndarray, minutes: int) -> list[tuple[int, float, float, float, float, float]]:
    """Aggregate 1m candles into complete epoch-aligned buckets of ``minutes``."""
    step = minutes * MINUTE
    buckets: dict[int, list[Any]] = {}
    for row in candles.tolist():
        buckets.setdefault(row[0] // step * step, []).append(row)
    out = []
    for start, rows in sorted(buckets.items()):
        if len(rows) != minutes:
            continue
        volume = 0.0
        for r in rows:
            volume = volume + r[5]
        out.append((start, rows[0][1], max(r[2] for r in rows), min(r[3] for r in rows), rows[-1][4], volume))
    return out


@dataclass
class ExchangeCall:
    """One call of the user ``get_candles``."""

    symbol: str
    interval: str
    since: datetime
    limit: int


class LadderExchange:
    """The user ``get_candles`` of the ``ladder`` exchange: serves ``candles`` and records every call.

    ``fail_first`` makes the first calls raise ``RuntimeError("fail <n>")`` (n = 1, 2, ...).
    """

    def __init__(self, candles: np.ndarray, *, fail_first: int = 0) -> None:
        self.candles = candles
        self.fail_first = fail_first
        self.calls: list[ExchangeCall] = []

    def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> list[tuple[Any, ...]]:
        self.calls.append(ExchangeCall(symbol, interval, since, limit))
        if len(self.calls) <= self.fail_first:
            raise RuntimeError(f"fail {len(self.calls)}")
        minutes = INTERVAL_MINUTES[interval]
        start = int(since.timestamp() * 1000)
        end = start + limit * minutes * MINUTE
        rows = [tuple(r) for r in self.candles.tolist()] if minutes == 1 else aggregate(self.candles, minutes)
        return [r for r in rows if start <= r[0] < end]


class FlatExchange:
    """A user ``get_candles`` serving flat 42000 candles for any requested range (any date)."""

    def __init__(self, price: float = 42000.0) -> None:
        self.price = price
        self.calls: list[ExchangeCall] = []

    def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> list[tuple[Any, ...]]:
        self.calls.append(ExchangeCall(symbol, interval, since, limit))
        step = INTERVAL_MINUTES[interval] * MINUTE
        start = int(since.timestamp() * 1000)
        p = self.price
        return [(start + k * step, p, p + 10, p - 10, p, 100.0) for k in range(limit)]


def add_ladder_exchange(
    base: float = 42000.0,
    steps: Mapping[int, float] | None = None,
    wicks: Mapping[int, tuple[float, float]] | None = None,
    *,
    name: str = EXCHANGE,
    count: int = 400,
    volume: float = 100.0,
    drop: tuple[int, ...] = (),
    fail_first: int = 0,
) -> LadderExchange:
    """Register the ``ladder`` exchange over ``ladder(base, steps, wicks, ...)`` and return its user function."""
    exchange = LadderExchange(ladder(base, steps, wicks, count=count, volume=volume, drop=drop), fail_first=fail_first)
    ws.add_exchange(exchange_name=name, get_candles=exchange)
    return exchange


def add_frame(start: int = 10, end: int = 179, *, name: str = FRAME, interval: str = "1m", **extra: Any) -> Any:
    """Register a frame from ``ts(start)`` to ``ts(end)`` (default: frame ``F``, 00:10 -> 02:59, 1m)."""
    return ws.add_frame(frame_name=name, interval=interval, start_date=at(start), end_date=at(end), **extra)


# ---------------------------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------------------------


class OneShot:
    """``get_signal`` of ``one-shot``: returns ``signal`` on its first call and None after.

    With ``every_call=True`` it returns the signal on every call (B17). ``rearm()`` makes it fire once more.
    ``calls`` counts the calls; ``whens`` records their ``when`` arguments; ``log`` (optional) gets ``"get_signal"``.
    """

    def __init__(self, sig: Any = None, *, every_call: bool = False, log: list[str] | None = None) -> None:
        self.signal = sig
        self.every_call = every_call
        self.log = log
        self.calls = 0
        self.whens: list[datetime] = []
        self._fired = False

    def __call__(self, symbol: str, when: datetime) -> Any:
        self.calls += 1
        self.whens.append(when)
        if self.log is not None:
            self.log.append("get_signal")
        if self.signal is None or (self._fired and not self.every_call):
            return None
        self._fired = True
        return self.signal

    def rearm(self) -> None:
        """Return the signal again on the next call."""
        self._fired = False


def counted(fn: Callable[..., Any]) -> Any:
    """Wrap a (sync or async) ``get_signal`` into a plain function of the same kind counting its calls (``.calls``)."""
    if inspect.iscoroutinefunction(fn):

        async def async_wrapper(symbol: str, when: datetime) -> Any:
            async_wrapper.calls += 1  # type: ignore[attr-defined]
            return await fn(symbol, when)

        async_wrapper.calls = 0  # type: ignore[attr-defined]
        return async_wrapper

    def wrapper(symbol: str, when: datetime) -> Any:
        wrapper.calls += 1  # type: ignore[attr-defined]
        return fn(symbol, when)

    wrapper.calls = 0  # type: ignore[attr-defined]
    return wrapper


def add_strategy(
    get_signal: Any,
    *,
    name: str = STRATEGY,
    interval: str = "5m",
    callbacks: Mapping[str, Any] | None = None,
    risk_name: str | None = None,
    risk_list: list[str] | None = None,
) -> Any:
    """Register a strategy (default name ``one-shot``, interval ``5m``)."""
    fields: dict[str, Any] = {"strategy_name": name, "interval": interval, "get_signal": get_signal}
    if callbacks is not None:
        fields["callbacks"] = dict(callbacks)
    if risk_name is not None:
        fields["risk_name"] = risk_name
    if risk_list is not None:
        fields["risk_list"] = risk_list
    return ws.add_strategy(**fields)


# ---------------------------------------------------------------------------------------------------------------
# Running a backtest
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    """What ``register_scenario`` registered."""

    exchange: LadderExchange
    strategy: Any
    symbol: str = SYMBOL

    @property
    def calls(self) -> int:
        """Number of ``get_signal`` calls so far."""
        return int(self.strategy.calls)


@dataclass
class Run:
    """The outcome of ``run_backtest``: the yielded results and the ``get_signal`` call count."""

    results: list[Any]
    calls: int
    scenario: Scenario
    actions: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.actions = [r.action for r in self.results]


def register_scenario(
    sig: Any = None,
    *,
    base: float = 42000.0,
    steps: Mapping[int, float] | None = None,
    wicks: Mapping[int, tuple[float, float]] | None = None,
    frame_start: int = 10,
    frame_end: int = 179,
    interval: str = "5m",
    callbacks: Mapping[str, Any] | None = None,
    risk_name: str | None = None,
    risk_list: list[str] | None = None,
    get_signal: Any = None,
    every_call: bool = False,
    count: int = 400,
    log: list[str] | None = None,
) -> Scenario:
    """Register exchange ``ladder``, frame ``F`` and strategy ``one-shot`` for a §19.2 scenario.

    ``sig`` is a signal field dict (``L``, ``LL``, ...) or a ``ws.Signal``; ``get_signal`` replaces the one-shot
    (it must count its calls in ``.calls``, see ``counted``).
    """
    exchange = add_ladder_exchange(base, steps, wicks, count=count)
    add_frame(frame_start, frame_end)
    if get_signal is None:
        if isinstance(sig, Mapping):
            sig = signal(sig)
        get_signal = OneShot(sig, every_call=every_call, log=log)
    add_strategy(get_signal, interval=interval, callbacks=callbacks, risk_name=risk_name, risk_list=risk_list)
    return Scenario(exchange=exchange, strategy=get_signal)


async def collect(
    symbol: str = SYMBOL,
    *,
    strategy_name: str = STRATEGY,
    exchange_name: str = EXCHANGE,
    frame_name: str = FRAME,
    on_result: Callable[[Any], Any] | None = None,
) -> list[Any]:
    """Consume ``ws.Backtest.run`` and return every yielded result (``on_result`` sees each as it is yielded)."""
    results = []
    async for result in ws.Backtest.run(
        symbol, strategy_name=strategy_name, exchange_name=exchange_name, frame_name=frame_name
    ):
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results


def run_backtest(
    sig: Any = None,
    *,
    symbol: str = SYMBOL,
    on_result: Callable[[Any], Any] | None = None,
    **scenario: Any,
) -> Run:
    """Register a §19.2 scenario (see ``register_scenario``), run it to the end and return its results and calls."""
    registered = register_scenario(sig, **scenario)
    results = asyncio.run(collect(symbol, on_result=on_result))
    return Run(results=results, calls=registered.calls, scenario=registered)


# ---------------------------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------------------------

ALL_STREAMS = (
    "signal",
    "signal_backtest",
    "signal_live",
    "error",
    "done_backtest",
    "done_live",
    "done_walker",
    "progress_backtest",
    "progress_walker",
    "progress_optimizer",
    "walker",
    "walker_complete",
    "walker_stop",
    "partial_profit",
    "partial_loss",
    "risk",
    "performance",
    "validation",
)


class Recorder:
    """Subscribe sync listeners (``ws.listen_<stream>``) that record every payload per stream."""

    def __init__(self, *streams: str) -> None:
        self.events: dict[str, list[Any]] = {name: [] for name in streams}
        self.unsubscribe: dict[str, Callable[[], None]] = {}
        for name in streams:
            self.unsubscribe[name] = getattr(ws, f"listen_{name}")(self.events[name].append)

    def __getitem__(self, name: str) -> list[Any]:
        return self.events[name]

    def total(self) -> int:
        """Number of payloads recorded over all streams."""
        return sum(len(v) for v in self.events.values())


def fresh_engine() -> None:
    """Start over inside one test (as the autouse fixtures do between tests)."""
    ws.reset()
    ws.set_config(get_candles_retry_delay_ms=0)

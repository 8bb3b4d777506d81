"""Robustness of the candle pipeline (SPEC §4.1-§4.4, acceptance point 5).

Whatever a user ``get_candles`` returns, the exchange client either hands out a valid window (exactly ``limit``
``CANDLE_DTYPE`` rows, contiguous, finite positive prices, volume >= 0) or raises exactly one of
``CandleAnomalyError``, ``CandleWindowError`` or ``TypeError`` (wrong shapes/types, naming the exchange and the
returned type). The properties below compare every outcome with a small reference model written from the SPEC text.
"""

from __future__ import annotations

import asyncio
import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import workstation as ws
from workstation.clients.candle_data import check_anomalies, normalise_candles
from workstation.clients.exchange import ClientExchange

T0 = 1704067200000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
NOW_2030 = 1893456000000  # 2030-01-01T00:00:00Z: the future guard never bites
STEPS = {"1m": MINUTE, "5m": 5 * MINUTE, "1h": 60 * MINUTE}
FIELDS = ("timestamp", "open", "high", "low", "close", "volume")
EXCHANGE = "fuzz"
SYMBOL = "BTCUSDT"
NAN = math.nan
INF = math.inf

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: a red run is reproducible, a green one stays green
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ------------------------------------------------------------------------------------------------ reference model


def iso(timestamp: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (SPEC §0), written independently of the engine."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=timestamp)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def as_float(value: Any) -> float:
    return NAN if value is None else float(value)


def reference_normalise(rows: Sequence[Sequence[Any]], since: int, end: int) -> list[tuple[Any, ...]] | str:
    """SPEC §4.1: keep ``[since, end)``, sort by timestamp, keep the first of duplicates.

    Returns the rows, or ``"nan-timestamp"`` when a timestamp is NaN/inf (an anomaly, SPEC §4.4).
    """
    floats = [tuple(as_float(v) for v in row) for row in rows]
    if any(not math.isfinite(row[0]) for row in floats):
        return "nan-timestamp"
    kept = [row for row in floats if since <= row[0] < end]
    kept.sort(key=lambda row: row[0])  # stable: duplicates keep their response order
    out: list[tuple[Any, ...]] = []
    for row in kept:
        if out and out[-1][0] == row[0]:
            continue
        out.append((int(row[0]), *row[1:]))
    return out


def reference_anomaly(rows: Sequence[Sequence[Any]], factor: float, min_for_median: int) -> str | None:
    """SPEC §4.4: the message after the prefix of the first failing check, or None."""
    if not rows:
        return None
    prices = [price for row in rows for price in row[1:5] if price > 0]
    if not prices:
        return "cannot calculate reference price (all prices are zero)"
    if len(rows) >= min_for_median:
        reference = sorted(prices)[len(prices) // 2]
    else:
        total = 0.0
        for price in prices:
            total = total + price
        reference = total / len(prices)
    if reference == 0:
        return "cannot calculate reference price (all prices are zero)"
    threshold = reference / factor
    for index, row in enumerate(rows):
        where = f"candle[{index}] at {iso(int(row[0]))}"
        o, h, low, c, v = row[1:6]
        if not all(math.isfinite(x) for x in (o, h, low, c, v)):
            return f"{where} has invalid numeric values (NaN or Infinity)"
        if min(o, h, low, c) <= 0 or v < 0:
            return f"{where} has zero or negative values"
        if min(o, h, low, c) < threshold:
            return (
                f"{where} has anomalously low price. OHLC: [{o}, {h}, {low}, {c}], "
                f"reference: {reference}, threshold: {threshold}"
            )
    return None


def reference_vwap(rows: Sequence[Sequence[Any]]) -> float:
    """SPEC §4.6, in exactly its operation order."""
    spv = 0.0
    sv = 0.0
    for row in rows:
        spv = spv + ((row[2] + row[3] + row[4]) / 3) * row[5]
    for row in rows:
        sv = sv + row[5]
    if sv == 0:
        s = 0.0
        for row in rows:
            s = s + row[4]
        return s / len(rows)
    return spv / sv


def contiguous_prefix(rows: Sequence[Sequence[Any]], since: int, step: int) -> int:
    count = 0
    for row in rows:
        if row[0] != since + count * step:
            break
        count += 1
    return count


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# ------------------------------------------------------------------------------------------------ response formats

VALID_FORMATS = (
    "tuples",
    "lists",
    "tuple_of_tuples",
    "dicts",
    "dicts_extra_key",
    "ndarray",
    "list_of_arrays",
    "structured",
    "structured_other_order",
)
# Refused whatever the rows (TypeError), even without rows.
ALWAYS_REFUSED = (
    "none",
    "string",
    "bytes",
    "int",
    "float",
    "numpy_scalar",
    "zero_d_array",
    "dict_of_columns",
    "generator",
    "set",
    "structured_missing_field",
    "ndarray_flat_row",
    "ragged",
)
# Wrong shapes: refused when they hold data; with no rows they are an empty response (CandleWindowError).
WRONG_SHAPES = ("rows5", "ndarray5", "ndarray7", "ndarray3d", "dicts_missing_key")
FORMATS = VALID_FORMATS + ALWAYS_REFUSED + WRONG_SHAPES


def _matrix(rows: Sequence[Sequence[Any]], width: int = 6) -> np.ndarray:
    out = np.empty((len(rows), width))
    for r, row in enumerate(rows):
        for c in range(width):
            out[r, c] = as_float(row[c]) if c < len(row) else 1.0
    return out


def render(rows: list[tuple[Any, ...]], fmt: str) -> Any:
    """Turn rows ``(timestamp, o, h, l, c, v)`` into what a user ``get_candles`` would return."""
    if fmt == "tuples":
        return [tuple(row) for row in rows]
    if fmt == "lists":
        return [list(row) for row in rows]
    if fmt == "tuple_of_tuples":
        return tuple(tuple(row) for row in rows)
    if fmt == "dicts":
        return [dict(zip(FIELDS, row, strict=True)) for row in rows]
    if fmt == "dicts_extra_key":
        return [{**dict(zip(FIELDS, row, strict=True)), "trades": 7, "closed": True} for row in rows]
    if fmt == "ndarray":
        return _matrix(rows)
    if fmt == "list_of_arrays":
        return [np.array([as_float(v) for v in row]) for row in rows]
    if fmt in ("structured", "structured_other_order", "structured_missing_field"):
        names = {
            "structured": FIELDS,
            "structured_other_order": ("volume", "close", "extra", "timestamp", "low", "high", "open"),
            "structured_missing_field": FIELDS[:5],
        }[fmt]
        dtype = [(name, np.float64) for name in names]
        out = np.zeros(len(rows), dtype=dtype)
        for name in names:
            if name in FIELDS:
                out[name] = [as_float(row[FIELDS.index(name)]) for row in rows]
        return out
    if fmt == "none":
        return None
    if fmt == "string":
        return "1704067200000,42000,42010,41990,42000,100"
    if fmt == "bytes":
        return b"candles"
    if fmt == "int":
        return 6
    if fmt == "float":
        return 42000.0
    if fmt == "numpy_scalar":
        return np.float64(42000.0)
    if fmt == "zero_d_array":
        return np.array(42000.0)
    if fmt == "dict_of_columns":
        return {name: [row[i] for row in rows] for i, name in enumerate(FIELDS)}
    if fmt == "generator":
        return (tuple(row) for row in rows)
    if fmt == "set":
        return {tuple(row) for row in rows} or {(T0, 1.0, 1.0, 1.0, 1.0, 1.0)}
    if fmt == "ndarray_flat_row":
        return _matrix(rows[:1] or [(T0, 1.0, 1.0, 1.0, 1.0, 1.0)])[0]
    if fmt == "ragged":
        return [*(tuple(row) for row in rows), (T0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)]
    if fmt == "rows5":
        return [tuple(row[:5]) for row in rows]
    if fmt == "ndarray5":
        return _matrix(rows)[:, :5]
    if fmt == "ndarray7":
        return _matrix(rows, 7)
    if fmt == "ndarray3d":
        return _matrix(rows)[:, :, None]
    if fmt == "dicts_missing_key":
        return [{k: v for k, v in zip(FIELDS, row, strict=True) if k != "low"} for row in rows]
    raise AssertionError(fmt)


# ------------------------------------------------------------------------------------------------ generated cases

BAD_PRICES = [NAN, INF, -INF, 0.0, -0.0, -1.0, -42000.0, 5e-324, 1e-300, None]
ODD_BUT_FINE = [1e308, 1.7976931348623157e308, 0, True, 123456789]


@dataclass
class Case:
    """One generated exchange response, relative to the requested ``since``."""

    interval: str
    base: float
    rows: list[tuple[int, Any, Any, Any, Any, Any]]  # timestamps as offsets in steps from since
    fmt: str
    sync: bool
    timestamp_overrides: dict[int, float]  # row index -> absolute (odd) timestamp

    def response_rows(self, since: int) -> list[tuple[Any, ...]]:
        step = STEPS[self.interval]
        out = []
        for index, row in enumerate(self.rows):
            stamp: Any = self.timestamp_overrides.get(index, since + row[0] * step)
            out.append((stamp, *row[1:]))
        return out


@st.composite
def cases(draw: st.DrawFn, window: int) -> Case:
    """A clean response for ``window`` candles (plus read-ahead), then a few mutations."""
    interval = draw(st.sampled_from(list(STEPS)))
    base = draw(st.sampled_from([0.5, 100.0, 42000.0]))
    extra = draw(st.integers(0, 4))
    jitter = st.floats(0.99, 1.01)
    rows: list[tuple[int, Any, Any, Any, Any, Any]] = []
    for offset in range(window + extra):
        o, c = base * draw(jitter), base * draw(jitter)
        rows.append((offset, o, max(o, c) * 1.001, min(o, c) * 0.999, c, draw(st.sampled_from([0.0, 1.0, 250.5]))))
    overrides: dict[int, float] = {}
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(["value", "value", "odd", "drop", "duplicate", "move", "extra", "timestamp", "shuffle"])
        )
        if kind == "extra" or not rows:
            offset = draw(st.sampled_from([-1000, -2, -1, window + extra, window + extra + 2, 1000, 1001, 5000]))
            rows.append((offset, base, base * 1.001, base * 0.999, base, 1.0))
            continue
        index = draw(st.integers(0, len(rows) - 1))
        if kind in ("value", "odd"):
            column = draw(st.integers(1, 5))
            pool = [*BAD_PRICES, base / 2000.0] if kind == "value" else ODD_BUT_FINE
            value = draw(st.sampled_from(pool) | st.floats(allow_nan=True, allow_infinity=True))
            row = list(rows[index])
            row[column] = value
            rows[index] = tuple(row)  # type: ignore[assignment]
        elif kind == "drop":
            rows.pop(index)
        elif kind == "duplicate":
            row = list(rows[index])
            row[4] = base * draw(jitter)  # same timestamp, another close: the first one must win
            rows.insert(draw(st.integers(0, len(rows))), tuple(row))  # type: ignore[arg-type]
        elif kind == "move":
            row = list(rows[index])
            row[0] = draw(st.integers(-3, window + extra + 3))
            rows[index] = tuple(row)  # type: ignore[assignment]
        elif kind == "timestamp":
            overrides[index] = draw(st.sampled_from([NAN, INF, -INF, 0.0, -1.0, 2.0**62, 1e20, -1e20]))
        else:
            rows[:] = draw(st.permutations(rows))
    fmt = draw(st.sampled_from(VALID_FORMATS) | st.sampled_from(ALWAYS_REFUSED + WRONG_SHAPES))
    return Case(interval, base, rows, fmt, draw(st.booleans()), overrides)


# ------------------------------------------------------------------------------------------------ running the client


@dataclass
class FakeExchange:
    """The user ``get_candles``: renders the case for whatever window it is asked for and records the calls."""

    case: Case
    calls: list[tuple[str, str, datetime, int]]

    def response(self, symbol: str, interval: str, since: datetime, limit: int) -> Any:
        self.calls.append((symbol, interval, since, limit))
        start = int(since.timestamp() * 1000)
        return render(self.case.response_rows(start), self.case.fmt)


def make_client(case: Case) -> tuple[ClientExchange, FakeExchange]:
    fake = FakeExchange(case, [])
    if case.sync:
        get_candles: Callable[..., Any] = fake.response
    else:

        async def get_candles(symbol: str, interval: str, since: datetime, limit: int) -> Any:
            await asyncio.sleep(0)
            return fake.response(symbol, interval, since, limit)

    schema = ws.ExchangeSchema(exchange_name=EXCHANGE, get_candles=get_candles)
    client = ClientExchange(schema, backtest=True, now_ms=lambda: NOW_2030, on_callback_error=lambda _s, _e: None)
    return client, fake


def run_with_timeout(coroutine: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coroutine, timeout=30)

    return asyncio.run(bounded())


@dataclass
class Expected:
    kind: str  # "ok", "type", "anomaly", "window", "type-or-window"
    rows: list[tuple[Any, ...]]
    message: str | None = None


def expected_outcome(case: Case, since: int, limit: int, window: int, config: ws.Config) -> Expected:
    """What SPEC §4.1-§4.4 say one request ``(since, limit)`` needing ``window`` candles must produce."""
    if case.fmt in ALWAYS_REFUSED:
        return Expected("type", [])
    if case.fmt in WRONG_SHAPES:
        return Expected("type" if case.rows else "type-or-window", [])
    step = STEPS[case.interval]
    raw = case.response_rows(since)
    kept = reference_normalise(raw, since, since + limit * step)
    if isinstance(kept, str):
        return Expected("anomaly", [])
    message = reference_anomaly(kept, config.price_anomaly_threshold_factor, config.min_candles_for_median)
    if message is not None:
        return Expected("anomaly", [], f"{EXCHANGE} {SYMBOL} {case.interval}: {message}")
    if contiguous_prefix(kept, since, step) < window:
        return Expected("window", [])
    return Expected("ok", kept[:window])


def check_raised(error: BaseException, expected: Expected, case: Case, fake: FakeExchange, attempts: int) -> None:
    allowed: tuple[type[BaseException], ...] = (ws.CandleAnomalyError, ws.CandleWindowError, TypeError)
    assert type(error) in allowed, f"unexpected {type(error).__name__}: {error}"
    assert len(fake.calls) == attempts  # every attempt ran, none more (SPEC §4.3)
    prefix = f"{EXCHANGE} {SYMBOL} {case.interval}: "
    if expected.kind == "type":
        assert type(error) is TypeError, error
        returned = render(case.response_rows(T0), case.fmt)
        assert EXCHANGE in str(error)
        assert type(returned).__name__ in str(error)
    elif expected.kind == "type-or-window":
        assert type(error) in (TypeError, ws.CandleWindowError), error
    elif expected.kind == "anomaly":
        assert type(error) is ws.CandleAnomalyError, error
        assert str(error).startswith(prefix)
        if expected.message is not None:
            assert str(error) == expected.message
    elif expected.kind == "window":
        assert type(error) is ws.CandleWindowError, error
        assert str(error).startswith(f"{prefix}expected ")
    else:
        pytest.fail(f"expected a valid window, got {type(error).__name__}: {error}")


def check_window(window: np.ndarray, limit: int, since: int, step: int) -> None:
    assert window.dtype == ws.CANDLE_DTYPE
    assert len(window) == limit
    assert window["timestamp"].tolist() == [since + k * step for k in range(limit)]
    for name in ("open", "high", "low", "close"):
        assert np.isfinite(window[name]).all()
        assert (window[name] > 0).all()
    assert np.isfinite(window["volume"]).all()
    assert (window["volume"] >= 0).all()


# ------------------------------------------------------------------------------------------------ properties


@st.composite
def helper_cases(draw: st.DrawFn) -> tuple[Case, int, int]:
    limit = draw(st.integers(1, 12))
    case = draw(cases(limit))
    minute = draw(st.integers(24 * 60, 30 * 24 * 60))
    return case, limit, T0 + minute * MINUTE + draw(st.integers(0, MINUTE - 1))


@FUZZ
@given(helper_cases())
def test_get_candles_returns_a_valid_window_or_a_specified_error(params: tuple[Case, int, int]) -> None:
    case, limit, when = params
    ws.reset()
    config = ws.set_config(get_candles_retry_delay_ms=0)
    client, fake = make_client(case)
    step = STEPS[case.interval]
    since = when // step * step - limit * step
    try:
        window = run_with_timeout(client.get_candles(SYMBOL, case.interval, limit, when, config))
    except Exception as error:
        assert fake.calls, "the user function was never asked"
        request_limit = fake.calls[0][3]
        expected = expected_outcome(case, since, request_limit, limit, config)
        event(f"raised {type(error).__name__}")
        check_raised(error, expected, case, fake, config.get_candles_retry_count)
        return
    event("window")
    assert len(fake.calls) == 1
    symbol, interval, asked_since, request_limit = fake.calls[0]
    assert (symbol, interval) == (SYMBOL, case.interval)
    assert asked_since == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=since)
    assert limit <= request_limit <= config.max_candles_per_request
    expected = expected_outcome(case, since, request_limit, limit, config)
    assert expected.kind == "ok", f"expected {expected.kind}, got a window"
    check_window(window, limit, since, step)
    assert window.tolist() == expected.rows


@st.composite
def vwap_cases(draw: st.DrawFn) -> tuple[Case, int, int]:
    count = draw(st.integers(1, 6))
    case = draw(cases(count))
    case.interval = "1m"
    minute = draw(st.integers(60, 30 * 24 * 60))
    return case, count, T0 + minute * MINUTE + draw(st.integers(0, MINUTE - 1))


@FUZZ
@given(vwap_cases())
def test_get_average_price_is_the_vwap_of_a_valid_window_or_a_specified_error(params: tuple[Case, int, int]) -> None:
    case, count, when = params
    ws.reset()
    config = ws.set_config(get_candles_retry_delay_ms=0, avg_price_candles_count=count)
    client, fake = make_client(case)
    since = when // MINUTE * MINUTE - count * MINUTE
    try:
        price = run_with_timeout(client.get_average_price(SYMBOL, when, config))
    except Exception as error:
        assert fake.calls
        expected = expected_outcome(case, since, fake.calls[0][3], count, config)
        event(f"raised {type(error).__name__}")
        check_raised(error, expected, case, fake, config.get_candles_retry_count)
        return
    event("price")
    expected = expected_outcome(case, since, fake.calls[0][3], count, config)
    assert expected.kind == "ok", f"expected {expected.kind}, got a price"
    assert type(price) is float
    assert same_float(price, reference_vwap(expected.rows)), (price, reference_vwap(expected.rows))


@FUZZ
@given(cases(window=6), st.integers(1, 1000))
def test_normalise_candles_matches_the_reference(case: Case, limit: int) -> None:
    since = T0 + 7 * STEPS[case.interval]
    end = since + limit * STEPS[case.interval]
    raw = render(case.response_rows(since), case.fmt)
    expected = expected_outcome(case, since, limit, 0, ws.get_config())
    try:
        candles = normalise_candles(raw, EXCHANGE, since, end, "p: ")
    except (TypeError, ws.CandleAnomalyError) as error:
        if isinstance(error, TypeError):
            assert expected.kind in ("type", "type-or-window"), f"{expected.kind}: {error}"
            assert EXCHANGE in str(error)
            assert type(raw).__name__ in str(error)
        else:
            assert reference_normalise(case.response_rows(since), since, end) == "nan-timestamp", error
            assert str(error).startswith("p: candle[")
            assert str(error).endswith(" has invalid numeric values (NaN or Infinity)")
        return
    assert expected.kind not in ("type",), f"{case.fmt} was accepted"
    assert candles.dtype == ws.CANDLE_DTYPE
    stamps = candles["timestamp"].tolist()
    assert stamps == sorted(set(stamps))
    assert all(since <= stamp < end for stamp in stamps)
    if expected.kind == "type-or-window":
        assert len(candles) == 0
        return
    reference = reference_normalise(case.response_rows(since), since, end)
    assert isinstance(reference, list)
    got = candles.tolist()
    assert len(got) == len(reference)
    for mine, theirs in zip(got, reference, strict=True):
        assert mine[0] == theirs[0]
        assert all(same_float(a, b) for a, b in zip(mine[1:], theirs[1:], strict=True)), (mine, theirs)


finite_or_not = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, -1.0, 5e-324, 1e-300, 0.001, 1.0, 42.0, 42000.0, 1e308, INF, NAN]
)


@st.composite
def candle_arrays(draw: st.DrawFn) -> np.ndarray:
    count = draw(st.integers(0, 12))
    base = draw(st.sampled_from([1.0, 42000.0]))
    sane = st.floats(base * 0.5, base * 1.5)
    candles = np.empty(count, dtype=ws.CANDLE_DTYPE)
    for index in range(count):
        values = [draw(sane | finite_or_not) if draw(st.integers(0, 5)) == 0 else draw(sane) for _ in range(5)]
        candles[index] = (T0 + index * MINUTE, *values)
    return candles


@FUZZ
@given(
    candle_arrays(),
    st.sampled_from([1000.0, 1.0, 2.0, 1e-9, 1e308, 5e-324]) | st.floats(1e-6, 1e6),
    st.integers(1, 15),
)
def test_check_anomalies_matches_the_reference(candles: np.ndarray, factor: float, min_for_median: int) -> None:
    expected = reference_anomaly(candles.tolist(), factor, min_for_median)
    try:
        check_anomalies(candles, "fuzz BTCUSDT 1m: ", factor, min_for_median)
    except ws.CandleAnomalyError as error:
        assert expected is not None, f"raised {error} for clean candles"
        assert str(error) == f"fuzz BTCUSDT 1m: {expected}"
        return
    assert expected is None, f"missed: {expected}"


# ------------------------------------------------------------------------------------------------ explicit examples


def ladder(wicks: dict[int, tuple[float, float]] | None = None, drop: tuple[int, ...] = ()) -> np.ndarray:
    """SPEC §19 LADDER with the default base 42000: 400 one-minute candles from T0."""
    wicks = wicks or {}
    rows = []
    for k in range(400):
        if k in drop:
            continue
        high, low = wicks.get(k, (42010.0, 41990.0))
        rows.append((T0 + k * MINUTE, 42000.0, high, low, 42000.0, 100.0))
    return np.array(rows, dtype=ws.CANDLE_DTYPE)


class Served:
    """A sync user ``get_candles`` serving a fixed 1m array (or a fixed object) and counting calls."""

    def __init__(self, candles: np.ndarray | None = None, returned: Any = None) -> None:
        self.candles = candles
        self.returned = returned
        self.calls: list[tuple[str, str, datetime, int]] = []

    def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> Any:
        self.calls.append((symbol, interval, since, limit))
        if self.candles is None:
            return self.returned
        start = int(since.timestamp() * 1000)
        stamps = self.candles["timestamp"]
        return [tuple(row) for row in self.candles[(stamps >= start) & (stamps < start + limit * MINUTE)].tolist()]


def ladder_client(served: Served, name: str = "ladder") -> ClientExchange:
    schema = ws.ExchangeSchema(exchange_name=name, get_candles=served)
    return ClientExchange(schema, backtest=True, now_ms=lambda: NOW_2030, on_callback_error=lambda _s, _e: None)


def _config() -> ws.Config:
    return ws.set_config(get_candles_retry_delay_ms=0)


def test_c6_anomalously_low_price_exact_message_after_three_calls() -> None:
    served = Served(ladder(wicks={8: (42010.0, 0.1)}))
    client = ladder_client(served)
    with pytest.raises(ws.CandleAnomalyError) as caught:
        run_with_timeout(client.get_candles(SYMBOL, "1m", 5, T0 + 10 * MINUTE, _config()))
    assert str(caught.value) == (
        "ladder BTCUSDT 1m: candle[3] at 2024-01-01T00:08:00.000Z has anomalously low price. "
        "OHLC: [42000.0, 42010.0, 0.1, 42000.0], reference: 42000.0, threshold: 42.0"
    )
    assert len(served.calls) == 3


def test_c8_missing_candle_exact_message() -> None:
    served = Served(ladder(drop=(7,)))
    client = ladder_client(served)
    with pytest.raises(ws.CandleWindowError) as caught:
        run_with_timeout(client.get_candles(SYMBOL, "1m", 5, T0 + 10 * MINUTE, _config()))
    assert str(caught.value) == (
        "ladder BTCUSDT 1m: expected 5 candles from 2024-01-01T00:05:00.000Z, got 4 "
        "(first missing: 2024-01-01T00:07:00.000Z)"
    )
    assert len(served.calls) == 3


def _one(candles: list[tuple[float, ...]], factor: float = 1000.0, min_for_median: int = 5) -> str:
    array = np.array([(T0 + i * MINUTE, *row) for i, row in enumerate(candles)], dtype=ws.CANDLE_DTYPE)
    with pytest.raises(ws.CandleAnomalyError) as caught:
        check_anomalies(array, "ladder BTCUSDT 1m: ", factor, min_for_median)
    return str(caught.value)


GOOD = (42000.0, 42010.0, 41990.0, 42000.0, 100.0)


def test_anomaly_all_prices_zero() -> None:
    assert _one([(0.0, 0.0, 0.0, 0.0, 5.0)] * 3) == (
        "ladder BTCUSDT 1m: cannot calculate reference price (all prices are zero)"
    )
    assert _one([(-1.0, 0.0, -5.0, NAN, 5.0)] * 6) == (
        "ladder BTCUSDT 1m: cannot calculate reference price (all prices are zero)"
    )


@pytest.mark.parametrize("column", range(5))
@pytest.mark.parametrize("bad", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
def test_anomaly_invalid_numeric_values(column: int, bad: float) -> None:
    row = list(GOOD)
    row[column] = bad
    # Five candles: the reference is the median, which one non-finite price cannot move to inf.
    assert _one([GOOD, GOOD, tuple(row), GOOD, GOOD]) == (
        "ladder BTCUSDT 1m: candle[2] at 2024-01-01T00:02:00.000Z has invalid numeric values (NaN or Infinity)"
    )


@pytest.mark.parametrize(
    ("column", "bad"),
    [(0, 0.0), (1, -0.0), (2, -1.0), (3, -42000.0), (4, -0.5)],
)
def test_anomaly_zero_or_negative_values(column: int, bad: float) -> None:
    row = list(GOOD)
    row[column] = bad
    assert _one([GOOD, tuple(row), GOOD, GOOD, GOOD]) == (
        "ladder BTCUSDT 1m: candle[1] at 2024-01-01T00:01:00.000Z has zero or negative values"
    )


def test_zero_volume_is_allowed() -> None:
    array = np.array([(T0, 42000.0, 42010.0, 41990.0, 42000.0, 0.0)] * 1, dtype=ws.CANDLE_DTYPE)
    check_anomalies(array, "x: ", 1000.0, 5)


def test_anomaly_low_price_with_a_mean_reference() -> None:
    # 3 candles < min_candles_for_median (5): the reference is the sequential mean of the 12 positive prices.
    message = _one([(100.0, 100.0, 100.0, 100.0, 1.0), (100.0, 100.0, 0.05, 100.0, 1.0), (100.0,) * 4 + (1.0,)])
    total = 0.0
    for price in [100.0] * 5 + [0.05] + [100.0] * 6:
        total = total + price
    reference = total / 12
    assert reference == 91.67083333333333
    assert message == (
        "ladder BTCUSDT 1m: candle[1] at 2024-01-01T00:01:00.000Z has anomalously low price. "
        "OHLC: [100.0, 100.0, 0.05, 100.0], reference: 91.67083333333333, threshold: 0.09167083333333334"
    )


def test_anomaly_reference_is_the_upper_median_from_min_candles_for_median() -> None:
    # 2 candles, min_candles_for_median 2: sorted prices [0.01, 10, 10, 10, 20, 20, 20, 20] -> index 4 -> 20.0.
    message = _one([(10.0, 10.0, 0.01, 10.0, 1.0), (20.0, 20.0, 20.0, 20.0, 1.0)], factor=1000.0, min_for_median=2)
    assert message == (
        "ladder BTCUSDT 1m: candle[0] at 2024-01-01T00:00:00.000Z has anomalously low price. "
        "OHLC: [10.0, 10.0, 0.01, 10.0], reference: 20.0, threshold: 0.02"
    )


def test_first_failing_candle_wins_whatever_its_check() -> None:
    # candle[1] is low, candle[2] is NaN: candle order beats check order.
    low = (42000.0, 42010.0, 1.0, 42000.0, 1.0)
    nan = (NAN, 42010.0, 41990.0, 42000.0, 1.0)
    assert _one([GOOD, low, nan, GOOD, GOOD]).startswith("ladder BTCUSDT 1m: candle[1] at ")


def test_empty_response_has_no_anomaly() -> None:
    check_anomalies(np.empty(0, dtype=ws.CANDLE_DTYPE), "x: ", 1000.0, 5)


def test_anomaly_index_is_the_index_in_the_normalised_array() -> None:
    # Unsorted, with a duplicate and an out-of-range row: the bad candle at 00:03 is index 3 after normalising.
    rows = [
        (T0 + 3 * MINUTE, -1.0, 42010.0, 41990.0, 42000.0, 1.0),
        (T0 + 1 * MINUTE, *GOOD),
        (T0 - 5 * MINUTE, *GOOD),
        (T0, *GOOD),
        (T0 + 2 * MINUTE, *GOOD),
        (T0 + 1 * MINUTE, 1.0, 1.0, 1.0, 1.0, 1.0),
    ]
    served = Served(returned=rows)
    client = ladder_client(served)
    with pytest.raises(ws.CandleAnomalyError) as caught:
        run_with_timeout(client.get_candles(SYMBOL, "1m", 4, T0 + 4 * MINUTE, _config()))
    assert str(caught.value) == ("ladder BTCUSDT 1m: candle[3] at 2024-01-01T00:03:00.000Z has zero or negative values")


def test_duplicates_are_dropped_keeping_the_first_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    rows = [
        (T0 + 2 * MINUTE, 3.0, 3.0, 3.0, 3.0, 1.0),
        (T0 + 0 * MINUTE, 1.0, 1.0, 1.0, 1.0, 1.0),
        (T0 + 1 * MINUTE, 2.0, 2.0, 2.0, 2.0, 1.0),
        (T0 + 0 * MINUTE, 9.0, 9.0, 9.0, 9.0, 1.0),
        (T0 + 2 * MINUTE, 8.0, 8.0, 8.0, 8.0, 1.0),
        (T0 + 2 * MINUTE, 7.0, 7.0, 7.0, 7.0, 1.0),
    ]
    with caplog.at_level(logging.WARNING, logger="workstation"):
        candles = normalise_candles(rows, "ladder", T0, T0 + 5 * MINUTE, "ladder BTCUSDT 1m: ")
    assert candles["timestamp"].tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    assert candles["close"].tolist() == [1.0, 2.0, 3.0]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("workstation")]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "ladder BTCUSDT 1m" in text
    assert " 3 " in f" {text} "
    assert "duplicate" in text


def test_no_duplicate_warning_for_clean_or_merely_unsorted_data(caplog: pytest.LogCaptureFixture) -> None:
    rows = [(T0 + k * MINUTE, 1.0, 1.0, 1.0, 1.0, 1.0) for k in (2, 0, 1)]
    with caplog.at_level(logging.WARNING, logger="workstation"):
        candles = normalise_candles(rows, "ladder", T0, T0 + 5 * MINUTE, "ladder BTCUSDT 1m: ")
    assert candles["timestamp"].tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE]
    assert [r for r in caplog.records if r.name.startswith("workstation")] == []


def test_rows_outside_the_requested_range_are_dropped() -> None:
    rows = [(T0 + k * MINUTE, 1.0, 1.0, 1.0, 1.0, 1.0) for k in (-1, 0, 1, 2, 3)]
    candles = normalise_candles(rows, "ladder", T0, T0 + 3 * MINUTE, "p: ")
    assert candles["timestamp"].tolist() == [T0, T0 + MINUTE, T0 + 2 * MINUTE]


@pytest.mark.parametrize(
    "returned",
    [
        None,
        "candles",
        42,
        {"timestamp": [T0]},
        np.zeros((3, 5)),
        np.zeros((2, 6, 2)),
        [(T0, 1.0, 1.0, 1.0, 1.0)],
        [{"timestamp": T0, "open": 1.0}],
        np.zeros(3, dtype=[("timestamp", "i8"), ("open", "f8")]),
        iter([(T0, 1.0, 1.0, 1.0, 1.0, 1.0)]),
    ],
    ids=[
        "None",
        "str",
        "int",
        "dict",
        "n-by-5",
        "3-D",
        "5-tuples",
        "dict-missing-keys",
        "structured-missing-fields",
        "iterator",
    ],
)
def test_wrong_return_type_is_a_type_error_naming_exchange_and_type(returned: Any) -> None:
    served = Served(returned=returned)
    client = ladder_client(served, name="my-exchange")
    with pytest.raises(TypeError) as caught:
        run_with_timeout(client.get_candles(SYMBOL, "1m", 3, T0 + 10 * MINUTE, _config()))
    assert type(caught.value) is TypeError
    assert "my-exchange" in str(caught.value)
    assert type(returned).__name__ in str(caught.value)
    assert len(served.calls) == 3  # inside the retry loop (SPEC §4.3)


@pytest.mark.parametrize(
    "value",
    [10**400, {}, object(), [1.0, 2.0], 1 + 2j],
    ids=["int-too-large-for-float", "dict", "object", "list", "complex"],
)
def test_a_row_value_that_is_not_a_number_is_a_type_error_naming_exchange_and_type(value: Any) -> None:
    rows = [(T0 + k * MINUTE, 42000.0, 42010.0, 41990.0, 42000.0, 1.0) for k in range(10)]
    rows[7] = (rows[7][0], value, *rows[7][2:])
    served = Served(returned=rows)
    client = ladder_client(served, name="my-exchange")
    with pytest.raises(TypeError) as caught:
        run_with_timeout(client.get_candles(SYMBOL, "1m", 3, T0 + 10 * MINUTE, _config()))
    assert type(caught.value) is TypeError
    assert "my-exchange" in str(caught.value)
    assert "list" in str(caught.value)


def test_vwap_of_huge_but_valid_prices_follows_the_formula_without_a_numpy_warning() -> None:
    # A 2e306 high passes every anomaly check; SPEC §4.6's Python-float loop then gives inf, silently.
    rows = [(T0 + k * MINUTE, 0.5, 0.5005, 0.4995, 0.5, 0.0) for k in range(20)]
    rows[8] = (T0 + 8 * MINUTE, 0.5, 2.1529259100147497e306, 0.4995, 0.5, 250.5)
    expected = reference_vwap(rows[7:10])
    assert expected == INF
    config = ws.set_config(get_candles_retry_delay_ms=0, avg_price_candles_count=3)
    client = ladder_client(Served(returned=rows))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        price = run_with_timeout(client.get_average_price(SYMBOL, T0 + 10 * MINUTE, config))
    assert price == expected


def test_a_valid_structured_array_is_served_as_is() -> None:
    candles = ladder()
    served = Served(returned=candles[5:10].copy())
    client = ladder_client(served)
    window = run_with_timeout(client.get_candles(SYMBOL, "1m", 5, T0 + 10 * MINUTE, _config()))
    assert window.dtype == ws.CANDLE_DTYPE
    assert window.tolist() == candles[5:10].tolist()
    assert len(served.calls) == 1

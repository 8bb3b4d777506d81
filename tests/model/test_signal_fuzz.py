"""Robustness of signal handling (SPEC §2.3, §6.3, §6.6, acceptance point 5).

``validate_signal`` either accepts or raises ``SignalValidationError("Invalid signal for <position> position:\\n" +
lines)`` with exactly the lines of SPEC §6.6; and a backtest whose ``get_signal`` returns anything at all (dicts,
``ws.Signal`` objects, garbage, exceptions) always completes, reporting every rejected signal as exactly one ``error``
event and never opening or scheduling it.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import workstation as ws
from workstation.clients.validation import validate_signal

T0 = 1704067200000  # 2024-01-01T00:00:00Z
MINUTE = 60_000
NAN = math.nan
INF = math.inf
PRICE = 42000.0  # the VWAP of the flat ladder below at every tick
SYMBOL = "BTCUSDT"
STRATEGY = "fuzz"
EXCHANGE = "flat-ladder"
FRAME = "F20"
FRAME_TICKS = 20  # 1m, 00:10 -> 00:29

UNIT = settings(max_examples=200, deadline=None, derandomize=True)
E2E = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DEFAULT = ws.Config()
DISABLED = ws.Config(
    min_takeprofit_distance_percent=0.0,
    min_stoploss_distance_percent=0.0,
    max_stoploss_distance_percent=0.0,
    max_signal_lifetime_minutes=0,
)
CUSTOM = ws.Config(
    min_takeprofit_distance_percent=1.0,
    min_stoploss_distance_percent=0.25,
    max_stoploss_distance_percent=5.0,
    max_signal_lifetime_minutes=60,
)

# ------------------------------------------------------------------------------------------------ reference model


def _finite(*values: float) -> bool:
    return all(math.isfinite(value) for value in values)


def reference_lines(
    position: str, c: float, o: float, tp: float, sl: float, m: int, *, scheduled: bool, config: ws.Config
) -> list[str]:
    """The lines of SPEC §6.6, in table order, written from the table."""
    lines: list[str] = []
    for name, value in (("current_price", c), ("price_open", o), ("price_take_profit", tp), ("price_stop_loss", sl)):
        if not math.isfinite(value):
            lines.append(f"{name} must be a finite number, got {value}")
        elif value <= 0:
            lines.append(f"{name} must be positive, got {value}")
    side = "Long" if position == "long" else "Short"
    long = position == "long"
    if long:
        if _finite(tp, o) and tp <= o:
            lines.append(f"Long: price_take_profit ({tp}) must be > price_open ({o})")
        if _finite(sl, o) and sl >= o:
            lines.append(f"Long: price_stop_loss ({sl}) must be < price_open ({o})")
    else:
        if _finite(tp, o) and tp >= o:
            lines.append(f"Short: price_take_profit ({tp}) must be < price_open ({o})")
        if _finite(sl, o) and sl <= o:
            lines.append(f"Short: price_stop_loss ({sl}) must be > price_open ({o})")
    if not scheduled:
        hits_sl = c <= sl if long else c >= sl
        hits_tp = c >= tp if long else c <= tp
        if _finite(c, sl) and hits_sl:
            lines.append(
                f"{side} immediate: current_price ({c}) {'<=' if long else '>='} price_stop_loss ({sl}). "
                "Signal would be immediately closed by stop loss"
            )
        if _finite(c, tp) and hits_tp:
            lines.append(
                f"{side} immediate: current_price ({c}) {'>=' if long else '<='} price_take_profit ({tp}). "
                "Signal would be immediately closed by take profit"
            )
    else:
        cancels = o <= sl if long else o >= sl
        closes = o >= tp if long else o <= tp
        if _finite(o, sl) and cancels:
            lines.append(
                f"{side} scheduled: price_open ({o}) {'<=' if long else '>='} price_stop_loss ({sl}). "
                "Signal would be cancelled at once"
            )
        if _finite(o, tp) and closes:
            lines.append(
                f"{side} scheduled: price_open ({o}) {'>=' if long else '<='} price_take_profit ({tp}). "
                "Signal would close at once"
            )
    if _finite(o, tp, sl) and o > 0:
        tp_distance = (tp - o) / o * 100 if long else (o - tp) / o * 100
        sl_distance = (o - sl) / o * 100 if long else (sl - o) / o * 100
        min_tp = config.min_takeprofit_distance_percent
        min_sl = config.min_stoploss_distance_percent
        max_sl = config.max_stoploss_distance_percent
        if min_tp > 0 and tp_distance < min_tp:
            lines.append(
                f"{side}: take profit too close to price_open ({tp_distance:.3f}%). Minimum distance: {min_tp}% "
                f"to cover trading fees. Current: TP={tp}, Open={o}"
            )
        if min_sl > 0 and sl_distance < min_sl:
            lines.append(
                f"{side}: stop loss too close to price_open ({sl_distance:.3f}%). Minimum distance: {min_sl}% "
                f"to avoid instant stop out on market volatility. Current: SL={sl}, Open={o}"
            )
        if max_sl > 0 and sl_distance > max_sl:
            lines.append(
                f"{side}: stop loss too far from price_open ({sl_distance:.3f}%). Maximum distance: {max_sl}% "
                f"to protect capital. Current: SL={sl}, Open={o}"
            )
    if m <= 0:
        lines.append(f"minute_estimated_time must be positive, got {m}")
    life = config.max_signal_lifetime_minutes
    if life > 0 and m > life:
        lines.append(
            f"minute_estimated_time too large ({m} minutes = {m / 1440:.1f} days). "
            f"Maximum: {life} minutes ({life / 1440:.0f} days) to prevent strategy deadlock"
        )
    return lines


def reference_message(position: str, lines: list[str]) -> str:
    return f"Invalid signal for {position} position:\n" + "\n".join(lines)


# ------------------------------------------------------------------------------------------------ unit property

odd_prices = st.sampled_from([NAN, INF, -INF, 0.0, -0.0, -1.0, -PRICE, 5e-324, 1e-300, 1e308, 1.7976931348623157e308])
near_prices = st.sampled_from([0.8, 0.9, 0.98, 0.995, 0.999, 1.0, 1.001, 1.005, 1.01, 1.02, 1.1, 1.3]).map(
    lambda k: PRICE * k
)
prices = st.one_of(near_prices, near_prices, odd_prices, st.floats(allow_nan=True, allow_infinity=True))
minutes = st.one_of(
    st.sampled_from([1, 5, 120, 1440, 1441, 2000, 0, -1, -1440]),
    st.integers(-(10**6), 10**6),
    st.integers(-(10**300), 10**300),
)
configs = st.sampled_from([DEFAULT, DISABLED, CUSTOM])


@st.composite
def plausible(draw: st.DrawFn) -> tuple[str, float, float, float, float, int]:
    """A signal on the right side of its price_open, at distances around the configured limits."""
    position = draw(st.sampled_from(["long", "short"]))
    o = draw(near_prices)
    sign = 1.0 if position == "long" else -1.0
    tp = o * (1 + sign * draw(st.sampled_from([0.1, 0.4, 0.5, 0.6, 1.0, 2.0, 5.0, 10.0])) / 100)
    sl = o * (1 - sign * draw(st.sampled_from([0.1, 0.24, 0.5, 0.6, 1.0, 5.0, 19.0, 20.0, 21.0, 30.0])) / 100)
    m = draw(st.sampled_from([1, 7, 60, 61, 120, 1440, 1441]))
    return position, draw(near_prices), o, tp, sl, m


@st.composite
def anything(draw: st.DrawFn) -> tuple[str, float, float, float, float, int]:
    return (
        draw(st.sampled_from(["long", "short"])),
        draw(prices),
        draw(prices),
        draw(prices),
        draw(prices),
        draw(minutes),
    )


@st.composite
def mixed(draw: st.DrawFn) -> tuple[str, float, float, float, float, int]:
    """A plausible signal with 0-2 of its values replaced by anything."""
    values = list(draw(plausible()))
    for _ in range(draw(st.integers(0, 2))):
        index = draw(st.integers(1, 5))
        values[index] = draw(minutes if index == 5 else prices)
    return tuple(values)  # type: ignore[return-value]


@UNIT
@given(st.one_of(plausible(), mixed(), anything()), st.booleans(), configs)
def test_validate_signal_returns_none_or_raises_the_exact_lines(
    drawn: tuple[str, float, float, float, float, int], scheduled: bool, config: ws.Config
) -> None:
    position, c, o, tp, sl, m = drawn
    lines = reference_lines(position, c, o, tp, sl, m, scheduled=scheduled, config=config)
    try:
        result = validate_signal(position, c, o, tp, sl, m, scheduled=scheduled, config=config)  # type: ignore[arg-type]
    except ws.SignalValidationError as error:
        event("rejected")
        text = str(error)
        assert text.startswith(f"Invalid signal for {position} position:\n")
        assert lines, f"rejected a valid signal: {text}"
        if math.isfinite(o) and o <= 0:
            # SPEC §6.6 does not say whether distances are judged for a non-positive price_open: only require
            # every line the table surely demands.
            got = text.split("\n")[1:]
            assert all(line in got for line in lines), (lines, got)
        else:
            assert text == reference_message(position, lines)
        return
    event("accepted")
    assert result is None
    assert lines == [], f"accepted an invalid signal: {lines}"


def test_b18_take_profit_too_close() -> None:
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("long", PRICE, PRICE, 42100.0, 41580.0, 120, scheduled=False, config=DEFAULT)
    assert str(caught.value) == (
        "Invalid signal for long position:\n"
        "Long: take profit too close to price_open (0.238%). Minimum distance: 0.5% to cover trading fees. "
        "Current: TP=42100.0, Open=42000.0"
    )


def test_short_wrong_side_lines() -> None:
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("short", PRICE, PRICE, 42420.0, 41580.0, 120, scheduled=False, config=DEFAULT)
    assert str(caught.value) == (
        "Invalid signal for short position:\n"
        "Short: price_take_profit (42420.0) must be < price_open (42000.0)\n"
        "Short: price_stop_loss (41580.0) must be > price_open (42000.0)\n"
        "Short immediate: current_price (42000.0) >= price_stop_loss (41580.0). "
        "Signal would be immediately closed by stop loss\n"
        "Short immediate: current_price (42000.0) <= price_take_profit (42420.0). "
        "Signal would be immediately closed by take profit\n"
        "Short: take profit too close to price_open (-1.000%). Minimum distance: 0.5% to cover trading fees. "
        "Current: TP=42420.0, Open=42000.0\n"
        "Short: stop loss too close to price_open (-1.000%). Minimum distance: 0.5% to avoid instant stop out on "
        "market volatility. Current: SL=41580.0, Open=42000.0"
    )


def test_short_scheduled_lines() -> None:
    # A waiting short limit at 42200 whose SL is below and TP above its price_open.
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("short", PRICE, 42200.0, 42300.0, 42100.0, 60, scheduled=True, config=DISABLED)
    assert str(caught.value) == (
        "Invalid signal for short position:\n"
        "Short: price_take_profit (42300.0) must be < price_open (42200.0)\n"
        "Short: price_stop_loss (42100.0) must be > price_open (42200.0)\n"
        "Short scheduled: price_open (42200.0) >= price_stop_loss (42100.0). Signal would be cancelled at once\n"
        "Short scheduled: price_open (42200.0) <= price_take_profit (42300.0). Signal would close at once"
    )


def test_short_stop_loss_too_far() -> None:
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("short", PRICE, PRICE, 41580.0, 52500.0, 60, scheduled=False, config=DEFAULT)
    assert str(caught.value) == (
        "Invalid signal for short position:\n"
        "Short: stop loss too far from price_open (25.000%). Maximum distance: 20.0% to protect capital. "
        "Current: SL=52500.0, Open=42000.0"
    )


def test_long_scheduled_and_immediate_lines() -> None:
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("long", PRICE, 41500.0, 41400.0, 41600.0, 60, scheduled=True, config=DISABLED)
    assert str(caught.value) == (
        "Invalid signal for long position:\n"
        "Long: price_take_profit (41400.0) must be > price_open (41500.0)\n"
        "Long: price_stop_loss (41600.0) must be < price_open (41500.0)\n"
        "Long scheduled: price_open (41500.0) <= price_stop_loss (41600.0). Signal would be cancelled at once\n"
        "Long scheduled: price_open (41500.0) >= price_take_profit (41400.0). Signal would close at once"
    )
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("long", PRICE, 42100.0, 41900.0, 42050.0, 60, scheduled=False, config=DISABLED)
    assert str(caught.value) == (
        "Invalid signal for long position:\n"
        "Long: price_take_profit (41900.0) must be > price_open (42100.0)\n"
        "Long immediate: current_price (42000.0) <= price_stop_loss (42050.0). "
        "Signal would be immediately closed by stop loss\n"
        "Long immediate: current_price (42000.0) >= price_take_profit (41900.0). "
        "Signal would be immediately closed by take profit"
    )


def test_minute_estimated_time_must_be_positive() -> None:
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("long", PRICE, PRICE, 42420.0, 41580.0, 0, scheduled=False, config=DEFAULT)
    assert str(caught.value) == "Invalid signal for long position:\nminute_estimated_time must be positive, got 0"


def test_minute_estimated_time_too_large() -> None:
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("short", PRICE, PRICE, 41580.0, 42420.0, 2000, scheduled=False, config=DEFAULT)
    assert str(caught.value) == (
        "Invalid signal for short position:\n"
        "minute_estimated_time too large (2000 minutes = 1.4 days). Maximum: 1440 minutes (1 days) "
        "to prevent strategy deadlock"
    )


def test_minute_estimated_time_limit_disabled_with_zero() -> None:
    validate_signal("long", PRICE, PRICE, 42420.0, 41580.0, 10**6, scheduled=False, config=DISABLED)


@pytest.mark.parametrize("minutes_value", [10**400, -(10**400)], ids=["huge", "huge-negative"])
def test_huge_minute_estimated_time_is_a_validation_error(minutes_value: int) -> None:
    # ws.Signal accepts any Python int for minute_estimated_time; the validator must still answer with its error.
    assert ws.Signal(**{**L_FIELDS, "minute_estimated_time": minutes_value}).minute_estimated_time == minutes_value
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("long", PRICE, PRICE, 42420.0, 41580.0, minutes_value, scheduled=False, config=DEFAULT)
    assert str(caught.value).startswith("Invalid signal for long position:\nminute_estimated_time ")


def test_non_finite_and_non_positive_prices_are_each_named_and_comparisons_skipped() -> None:
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("long", NAN, INF, -INF, -1.0, 120, scheduled=False, config=DEFAULT)
    assert str(caught.value) == (
        "Invalid signal for long position:\n"
        "current_price must be a finite number, got nan\n"
        "price_open must be a finite number, got inf\n"
        "price_take_profit must be a finite number, got -inf\n"
        "price_stop_loss must be positive, got -1.0"
    )


def test_every_failing_rule_adds_its_line() -> None:
    with pytest.raises(ws.SignalValidationError) as caught:
        validate_signal("long", PRICE, PRICE, 42100.0, 41990.0, 1441, scheduled=False, config=DEFAULT)
    assert str(caught.value) == (
        "Invalid signal for long position:\n"
        "Long: take profit too close to price_open (0.238%). Minimum distance: 0.5% to cover trading fees. "
        "Current: TP=42100.0, Open=42000.0\n"
        "Long: stop loss too close to price_open (0.024%). Minimum distance: 0.5% to avoid instant stop out on "
        "market volatility. Current: SL=41990.0, Open=42000.0\n"
        "minute_estimated_time too large (1441 minutes = 1.0 days). Maximum: 1440 minutes (1 days) "
        "to prevent strategy deadlock"
    )


def test_the_spec_signals_are_valid() -> None:
    validate_signal("long", PRICE, PRICE, 42420.0, 41580.0, 120, scheduled=False, config=DEFAULT)
    validate_signal("short", PRICE, PRICE, 41580.0, 42420.0, 120, scheduled=False, config=DEFAULT)
    validate_signal("long", PRICE, 41800.0, 42300.0, 41500.0, 120, scheduled=True, config=DEFAULT)
    validate_signal("short", PRICE, 42200.0, 41700.0, 42500.0, 60, scheduled=True, config=DEFAULT)


# ------------------------------------------------------------------------------------------------ end to end


def flat_ladder(symbol: str, interval: str, since: datetime, limit: int) -> list[tuple[int, float, ...]]:
    """Module-level exchange: 400 flat 1m candles from T0 (open = close = 42000, high +10, low -10, volume 100)."""
    step = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60}[interval] * MINUTE
    start = int(since.timestamp() * 1000)
    end_of_data = T0 + 400 * MINUTE
    rows = []
    for k in range(limit):
        stamp = start + k * step
        if stamp >= T0 and stamp + step <= end_of_data:
            rows.append((stamp, 42000.0, 42010.0, 41990.0, 42000.0, 100.0 * step // MINUTE))
    return rows


L_FIELDS: dict[str, Any] = {
    "position": "long",
    "price_take_profit": 42420.0,
    "price_stop_loss": 41580.0,
    "minute_estimated_time": 120,
}


class Raise:
    """A ``get_signal`` outcome: raise this exception."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return f"Raise({self.message!r})"


class Opaque:
    """An object pydantic cannot read as a signal."""

    def __repr__(self) -> str:
        return "Opaque()"


REQUIRED_KEYS = ("position", "price_take_profit", "price_stop_loss", "minute_estimated_time")


@st.composite
def outcomes(draw: st.DrawFn) -> tuple[str, Any]:
    """One ``get_signal`` return value and its category."""
    kind = draw(
        st.sampled_from(["dict", "dict", "signal", "missing", "extra", "wrong", "garbage", "none", "raise", "spec"])
    )
    if kind == "none":
        return kind, None
    if kind == "raise":
        return kind, Raise(draw(st.sampled_from(["boom", "", "multi\nline"])))
    if kind == "garbage":
        return kind, draw(
            st.sampled_from([42, "long", b"long", 1.5, True, ["long", 1, 2, 3], ("long",), set(), Opaque(), [], 0, NAN])
        )
    if kind == "spec":
        return kind, draw(
            st.sampled_from(
                [
                    dict(L_FIELDS),
                    {**L_FIELDS, "position": "short", "price_take_profit": 41580.0, "price_stop_loss": 42420.0},
                    {**L_FIELDS, "price_open": 41800.0, "price_take_profit": 42300.0, "price_stop_loss": 41500.0},
                    {**L_FIELDS, "price_take_profit": 42100.0},
                    {**L_FIELDS, "id": "x1"},
                ]
            )
        )
    position, _c, o, tp, sl, m = draw(st.one_of(plausible(), plausible(), mixed(), anything()))
    if abs(m) > 10**6:
        m = 10**6 if m > 0 else -(10**6)  # astronomically large ints: see test_e2e_huge_minute_estimated_time...
    fields: dict[str, Any] = {
        "position": position,
        "price_take_profit": tp,
        "price_stop_loss": sl,
        "minute_estimated_time": m,
    }
    if draw(st.booleans()):
        fields["price_open"] = draw(st.sampled_from([o, None]))
    if draw(st.integers(0, 3)) == 0:
        fields["id"] = draw(st.sampled_from(["a", "b", "same", None]))
    if draw(st.integers(0, 3)) == 0:
        fields["note"] = draw(st.sampled_from(["", "note", "ünïcode\n"]))
    if kind == "missing":
        del fields[draw(st.sampled_from(REQUIRED_KEYS))]
    elif kind == "extra":
        fields[draw(st.sampled_from(["foo", "price", "take_profit", "minutes", "symbol"]))] = 1
    elif kind == "wrong":
        key = draw(st.sampled_from([*REQUIRED_KEYS, "price_open", "id", "note"]))
        garbage = {
            "position": ["wait", "LONG", "", None, 1],
            "price_take_profit": ["abc", None, [1.0], {}, "4.2e4x"],
            "price_stop_loss": ["abc", None, [1.0], {}, Opaque()],
            "minute_estimated_time": [1.5, "ten", None, [120], 1e3 + 0.5],
            "price_open": ["abc", [1.0], {}, Opaque()],
            "id": ["", 5, [1]],
            "note": [5, None, ["n"]],
        }[key]
        fields[key] = draw(st.sampled_from(garbage))
    elif kind == "signal":
        try:
            return kind, ws.Signal(**fields)
        except pydantic.ValidationError:
            return "dict", fields
    return kind, fields


@dataclass
class Strategy:
    """``get_signal`` returning the drawn outcomes in order, then None; records every call's tick."""

    outcomes: list[tuple[str, Any]]
    whens: list[int] = field(default_factory=list)

    def __call__(self, symbol: str, when: datetime) -> Any:
        self.whens.append(int(when.timestamp() * 1000))
        index = len(self.whens) - 1
        if index >= len(self.outcomes):
            return None
        value = self.outcomes[index][1]
        if isinstance(value, Raise):
            raise RuntimeError(value.message)
        return value


def expected_for(value: Any, kind: str, when: int, last_id: str | None) -> tuple[str, str | None, str | None]:
    """SPEC §6.3 steps 6-12 for a flat tick at price 42000: ("none" | "error" | "opened" | "scheduled", message, id)."""
    if value is None:
        return "none", None, None
    if isinstance(value, Raise):
        return "error", value.message, None
    try:
        signal = value if isinstance(value, ws.Signal) else ws.Signal.model_validate(value)
    except pydantic.ValidationError:
        return "error", None, None
    assert kind not in ("missing", "extra", "garbage"), f"{kind} {value!r} parsed as a signal"
    signal_id = signal.id or f"{STRATEGY}:{SYMBOL}:{when}"
    if signal_id == last_id:
        return "error", f'id "{signal_id}" was already used by the previous signal', None
    if signal.price_open is None:
        o, immediate = PRICE, True
    else:
        o = signal.price_open
        immediate = o >= PRICE if signal.position == "long" else o <= PRICE
    lines = reference_lines(
        signal.position,
        PRICE,
        o,
        signal.price_take_profit,
        signal.price_stop_loss,
        signal.minute_estimated_time,
        scheduled=not immediate,
        config=DEFAULT,
    )
    if lines:
        message = None if math.isfinite(o) and o <= 0 else reference_message(signal.position, lines)
        return "error", message, None
    return ("opened" if immediate else "scheduled"), None, signal_id


def _run(strategy: Strategy, *, async_signal: bool) -> tuple[list[Any], dict[int, list[Any]], dict[int, list[Any]]]:
    ws.reset()
    ws.set_config(get_candles_retry_delay_ms=0)
    ws.add_exchange(exchange_name=EXCHANGE, get_candles=flat_ladder)
    ws.add_frame(
        frame_name=FRAME,
        interval="1m",
        start_date=datetime(2024, 1, 1, 0, 10, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 0, 10 + FRAME_TICKS - 1, tzinfo=UTC),
    )
    if async_signal:

        async def get_signal(symbol: str, when: datetime) -> Any:
            return strategy(symbol, when)

        ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=get_signal)
    else:
        ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=strategy)
    errors: dict[int, list[Any]] = defaultdict(list)
    results: dict[int, list[Any]] = defaultdict(list)

    def on_error(error: Any) -> None:  # filed under the get_signal call it follows
        errors[len(strategy.whens) - 1].append(error)

    def on_result(result: Any) -> None:
        results[len(strategy.whens) - 1].append(result)

    ws.listen_error(on_error)
    ws.listen_signal_backtest(on_result)

    async def consume() -> list[Any]:
        out = []
        async for result in ws.Backtest.run(SYMBOL, strategy_name=STRATEGY, exchange_name=EXCHANGE, frame_name=FRAME):
            out.append(result)
        return out

    async def bounded() -> list[Any]:
        return await asyncio.wait_for(consume(), timeout=60)

    yielded = asyncio.run(bounded())
    return yielded, errors, results


@E2E
@given(st.lists(outcomes(), min_size=1, max_size=FRAME_TICKS), st.booleans())
def test_a_backtest_survives_any_get_signal_output(drawn: list[tuple[str, Any]], async_signal: bool) -> None:
    strategy = Strategy(drawn)
    yielded, errors, results = _run(strategy, async_signal=async_signal)  # never raises
    assert strategy.whens, "get_signal was never called"
    assert errors.get(-1, []) == []
    last_id: str | None = None
    for index, when in enumerate(strategy.whens):
        kind, value = drawn[index] if index < len(drawn) else ("none", None)
        verdict, message, signal_id = expected_for(value, kind, when, last_id)
        event(verdict)
        mine = [r for r in results.get(index, []) if r.action in ("scheduled", "opened")]
        reported = errors.get(index, [])
        if verdict == "none":
            assert reported == [], reported
            assert mine == []
        elif verdict == "error":
            assert len(reported) == 1, (value, reported)
            assert reported[0].source == "get_signal"
            assert mine == [], (value, mine)
            if message is not None:
                assert reported[0].message == message
            if isinstance(value, Raise):
                assert reported[0].exception_type == "RuntimeError"
            elif message is None and not isinstance(value, ws.Signal) and kind in ("missing", "extra", "garbage"):
                assert reported[0].exception_type == "ValidationError"
        else:
            assert reported == [], (value, [e.message for e in reported])
            assert mine, (value, results.get(index))
            assert mine[0].action == verdict
            assert mine[0].signal.id == signal_id
            assert mine[0].signal.scheduled_at == when
            last_id = signal_id
    # Every yielded scheduled/opened result belongs to an accepted signal.
    accepted = sum(1 for index in results for r in results[index] if r.action in ("scheduled", "opened"))
    assert sum(1 for r in yielded if r.action in ("scheduled", "opened")) == accepted


def test_e2e_huge_minute_estimated_time_is_reported_not_raised() -> None:
    strategy = Strategy([("dict", {**L_FIELDS, "minute_estimated_time": 10**400})])
    _yielded, errors, results = _run(strategy, async_signal=False)
    assert [e.source for e in errors[0]] == ["get_signal"]
    assert [r for r in results[0] if r.action in ("scheduled", "opened")] == []


def test_e2e_b18_signal_is_one_error_and_no_trade() -> None:
    strategy = Strategy([("spec", {**L_FIELDS, "price_take_profit": 42100.0})])
    yielded, errors, _results = _run(strategy, async_signal=False)
    assert yielded == []
    assert len(strategy.whens) == FRAME_TICKS
    assert [(e.source, e.exception_type, e.message) for e in errors[0]] == [
        (
            "get_signal",
            "SignalValidationError",
            "Invalid signal for long position:\nLong: take profit too close to price_open (0.238%). Minimum "
            "distance: 0.5% to cover trading fees. Current: TP=42100.0, Open=42000.0",
        )
    ]
    assert sum(len(v) for v in errors.values()) == 1


def test_e2e_a_valid_signal_opens_and_closes() -> None:
    # The harness itself can see an accepted signal: L opens at 00:10 and runs into the frame end.
    strategy = Strategy([("spec", dict(L_FIELDS))])
    yielded, errors, _results = _run(strategy, async_signal=False)
    assert sum(len(v) for v in errors.values()) == 0
    assert [r.action for r in yielded] == ["opened", "closed"]
    assert yielded[0].signal.id == f"{STRATEGY}:{SYMBOL}:{T0 + 10 * MINUTE}"

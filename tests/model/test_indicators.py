"""Strategy indicators: declared on add_strategy, computed with the run's parameters, bad lines left out and named."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

import workstation as ws
from workstation.examples.breakout import average_true_range, donchian_channel
from workstation.examples.rsi_reversion import wilder_rsi
from workstation.indicators import interval_candles, moving_average, spread_to_minutes

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC, on every interval's grid
MIN = 60_000


def walk(count: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, count)))
    open_ = np.concatenate(([100.0], close[:-1]))
    candles = np.zeros(count, dtype=ws.CANDLE_DTYPE)
    candles["timestamp"] = T0 + np.arange(count, dtype=np.int64) * MIN
    candles["open"], candles["close"] = open_, close
    candles["high"] = np.maximum(open_, close) * (1 + rng.random(count) * 0.001)
    candles["low"] = np.minimum(open_, close) * (1 - rng.random(count) * 0.001)
    candles["volume"] = 1.0
    return candles


async def no_signal(symbol: str, when: datetime) -> None:
    return None


def register(compute: Any, *lines: ws.IndicatorLine, name: str = "mine") -> None:
    ws.add_strategy(
        strategy_name=name,
        interval="1m",
        get_signal=no_signal,
        indicators=ws.IndicatorSpec(compute=compute, lines=lines),
    )


def five_candles() -> np.ndarray:
    candles = walk(5)
    candles["close"] = [1.0, 2.0, 3.0, 4.0, 5.0]
    return candles


# -- the declaration ----------------------------------------------------------------------------------------


def test_a_declared_line_comes_back_with_its_pane_levels_and_colour() -> None:
    register(
        lambda c: {"double": c["close"] * 2, "osc": np.arange(len(c), dtype=np.float64)},
        ws.IndicatorLine(name="double", color="#123456"),
        ws.IndicatorLine(name="osc", pane="Oscillator", levels=(1.0, 3.0)),
    )
    values = ws.strategy_indicators("mine", five_candles())
    assert values.problems == ()
    assert [(s.name, s.pane, s.levels, s.color) for s in values.series] == [
        ("double", "price", (), "#123456"),
        ("osc", "Oscillator", (1.0, 3.0), None),
    ]
    assert values.series[0].values.tolist() == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert values.series[0].values.dtype == np.float64
    assert not values.series[0].values.flags.writeable
    assert values.from_candle(3).series[1].values.tolist() == [3.0, 4.0]


def test_a_strategy_without_indicators_gives_none() -> None:
    ws.add_strategy(strategy_name="plain", interval="1m", get_signal=no_signal)
    values = ws.strategy_indicators("plain", five_candles())
    assert (values.series, values.problems) == ((), ())


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "a", "color": "red"}, "color"),
        ({"name": "a", "levels": (float("nan"),)}, "levels"),
        ({"name": "a", "pane": "  "}, "pane"),
    ],
)
def test_a_bad_line_declaration_is_refused_with_the_field_named(line: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        ws.IndicatorLine(**line)
    assert raised.value.errors()[0]["loc"] == (field,)


def test_repeated_line_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="line names must be unique, repeated: a"):
        ws.IndicatorSpec(compute=len, lines=(ws.IndicatorLine(name="a"), ws.IndicatorLine(name="a")))


# -- bad output: named, left out, never raised ----------------------------------------------------------------


def test_a_function_that_raises_names_the_strategy_and_every_line(caplog: pytest.LogCaptureFixture) -> None:
    def broken(candles: np.ndarray) -> dict[str, np.ndarray]:
        raise ZeroDivisionError("division by zero")

    register(broken, ws.IndicatorLine(name="A"), ws.IndicatorLine(name="B"))
    with caplog.at_level(logging.WARNING, logger="workstation.indicators"):
        values = ws.strategy_indicators("mine", five_candles())
    message = (
        'strategy "mine": the indicator function raised ZeroDivisionError: division by zero; '
        'indicators "A", "B" not drawn'
    )
    assert values.series == ()
    assert values.problems == (message,)
    assert caplog.messages == [message]


def test_each_bad_line_is_left_out_with_its_reason_and_the_good_one_kept() -> None:
    register(
        lambda c: {
            "good": c["close"] + 0.5,
            "short": np.zeros(4),
            "nan": np.full(5, np.nan),
            "listed": [1.0, 2.0, 3.0, 4.0, 5.0],
            "text": np.array(["a"] * 5),
            "flat": np.zeros((5, 1)),
            "extra": np.zeros(5),
        },
        *(ws.IndicatorLine(name=name) for name in ("good", "short", "nan", "listed", "text", "flat", "gone")),
    )
    values = ws.strategy_indicators("mine", five_candles())
    assert [s.name for s in values.series] == ["good"]
    assert values.series[0].values.tolist() == [1.5, 2.5, 3.5, 4.5, 5.5]
    assert values.problems == (
        'strategy "mine", indicator "short": has 4 values for 5 candles; not drawn',
        'strategy "mine", indicator "nan": has no value (every value is NaN); not drawn',
        'strategy "mine", indicator "listed": expected a 1-D float64 numpy array, got list; not drawn',
        'strategy "mine", indicator "text": expected a 1-D float64 numpy array, got a 1-D <U1 array; not drawn',
        'strategy "mine", indicator "flat": expected a 1-D float64 numpy array, got a 2-D float64 array; not drawn',
        'strategy "mine", indicator "gone": declared but missing from what the indicator function returned '
        '("good", "short", "nan", "listed", "text", "flat", "extra")',
        'strategy "mine", indicator "extra": returned but not declared in indicators.lines; not drawn',
    )


def test_a_function_returning_no_dict_is_named() -> None:
    register(lambda c: c["close"], ws.IndicatorLine(name="A"))
    values = ws.strategy_indicators("mine", five_candles())
    assert values.problems == (
        'strategy "mine": the indicator function returned ndarray, not a dict of line name to numpy array; '
        "no indicator drawn",
    )


def test_integers_are_taken_as_float64_and_infinities_as_no_value() -> None:
    register(
        lambda c: {"n": np.arange(5), "inf": np.array([np.inf, 1.0, -np.inf, 2.0, 3.0])},
        ws.IndicatorLine(name="n"),
        ws.IndicatorLine(name="inf"),
    )
    values = ws.strategy_indicators("mine", five_candles())
    assert values.series[0].values.dtype == np.float64
    assert values.series[0].values.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert np.array_equal(values.series[1].values, [np.nan, 1.0, np.nan, 2.0, 3.0], equal_nan=True)


def test_the_function_cannot_write_the_candles() -> None:
    def writer(candles: np.ndarray) -> dict[str, np.ndarray]:
        candles["close"][0] = 0.0
        return {"A": np.zeros(len(candles))}

    register(writer, ws.IndicatorLine(name="A"))
    candles = five_candles()
    values = ws.strategy_indicators("mine", candles)
    assert values.problems == (
        'strategy "mine": the indicator function raised ValueError: assignment destination is read-only; '
        'indicators "A" not drawn',
    )
    assert candles["close"][0] == 1.0


# -- helpers ---------------------------------------------------------------------------------------------------


def test_moving_average_is_the_mean_of_each_window_ending_at_each_candle() -> None:
    assert np.array_equal(
        moving_average(np.array([1.0, 2.0, 3.0, 4.0, 6.0]), 3), [np.nan, np.nan, 2.0, 3.0, 13 / 3], equal_nan=True
    )
    assert np.isnan(moving_average(np.array([1.0, 2.0]), 3)).all()


def test_interval_candles_close_on_their_last_minute_and_spread_holds_them() -> None:
    candles = walk(40)  # 00:00 … 00:39: two complete 15m candles and an incomplete one
    bars, last_minute = interval_candles(candles, "15m")
    assert bars["timestamp"].tolist() == [T0, T0 + 15 * MIN]
    assert last_minute.tolist() == [14, 29]
    assert bars["close"].tolist() == [candles["close"][14], candles["close"][29]]
    spread = spread_to_minutes(np.array([10.0, 20.0]), last_minute, 40)
    assert np.isnan(spread[:14]).all()
    assert spread[14:29].tolist() == [10.0] * 15
    assert spread[29:].tolist() == [20.0] * 11


# -- the built-ins, with the run's parameters ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["sma-cross-market", "sma-cross-limit", "managed-sma", "managed-sma-limit"])
def test_the_crossovers_draw_their_two_smas_with_the_runs_lengths(name: str) -> None:
    candles = walk(200)
    values = ws.strategy_indicators(name, candles, {"fast": 5, "slow": 12})
    assert values.problems == ()
    fast, slow = values.series
    assert [(fast.name, fast.pane), (slow.name, slow.pane)] == [("SMA fast", "price"), ("SMA slow", "price")]
    closes = candles["close"]
    assert fast.values[99] == pytest.approx(closes[95:100].mean(), rel=1e-15)
    assert slow.values[99] == pytest.approx(closes[88:100].mean(), rel=1e-15)
    assert np.isnan(fast.values[:4]).all() and not np.isnan(fast.values[4])
    assert np.isnan(slow.values[:11]).all() and not np.isnan(slow.values[11])


def test_a_runs_registered_strategy_carries_its_parameters() -> None:
    name = ws.ensure_strategy("sma-cross-market", {"fast": 7, "slow": 30})
    assert name == "sma-cross-market[fast=7,slow=30]"
    candles = walk(100)
    fast = ws.strategy_indicators(name, candles).series[0]
    assert fast.values[50] == pytest.approx(candles["close"][44:51].mean(), rel=1e-15)


def test_rsi_reversion_draws_the_rsi_the_signal_reads_with_its_levels() -> None:
    candles = walk(15 * 120)
    values = ws.strategy_indicators("rsi-reversion", candles, {"oversold": 25.0, "overbought": 80.0})
    (rsi,) = values.series
    assert (rsi.name, rsi.pane, rsi.levels) == ("RSI", "RSI", (25.0, 80.0))
    closes = candles["close"][14::15]  # each 15m candle's close
    window = 14 * 4 + 1
    # The 15m candle 100 closes on minute 100 * 15 + 14; its RSI holds until the next one closes.
    expected = wilder_rsi(closes[100 - window + 1 : 101], 14)
    assert rsi.values[100 * 15 + 14] == pytest.approx(expected, rel=1e-12)
    assert rsi.values[101 * 15 + 13] == rsi.values[100 * 15 + 14]
    first = (window - 1) * 15 + 14
    assert np.isnan(rsi.values[:first]).all() and not np.isnan(rsi.values[first])


def test_breakout_draws_the_channel_and_atr_the_signal_tests_against() -> None:
    candles = walk(60 * 50)
    values = ws.strategy_indicators("breakout", candles, {"lookback": 10, "atr_period": 5})
    upper, lower, atr = values.series
    assert [(s.name, s.pane) for s in values.series] == [
        ("Donchian upper", "price"),
        ("Donchian lower", "price"),
        ("ATR", "ATR"),
    ]
    bars, _ = interval_candles(candles, "1h")
    minute = 30 * 60 + 59  # the last minute of hourly candle 30
    history = bars[:31]
    assert (upper.values[minute], lower.values[minute]) == donchian_channel(history["high"], history["low"], 10)
    assert atr.values[minute] == pytest.approx(
        average_true_range(history["high"], history["low"], history["close"], 5), rel=1e-12
    )
    assert np.isnan(upper.values[: 10 * 60 + 59]).all() and not np.isnan(upper.values[10 * 60 + 59])


def test_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ws.SchemaNotFoundError, match='strategy "nope" not found'):
        ws.strategy_indicators("nope", five_candles())

"""Config bounds (issue 13, faults 7 and 19): every field is bounded to what the engine works with.

A tick of a nanosecond divided by zero at run time, a request of 10**12 candles ran out of memory, a 150 % fee and a
minimum stop-loss distance above the maximum were accepted. Each is refused by ``set_config`` with the field and the
value named, and the config in force stays as it was.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

import workstation as ws

# field -> largest accepted value (pinned here, not read from the model).
UPPER: dict[str, int | float] = {
    "schedule_await_minutes": 525_600,
    "avg_price_candles_count": 1440,
    "percent_fee": 10.0,
    "percent_slippage": 10.0,
    "position_entry_cost": 1e12,
    "min_takeprofit_distance_percent": 100.0,
    "min_stoploss_distance_percent": 100.0,
    "max_stoploss_distance_percent": 100.0,
    "max_signal_lifetime_minutes": 525_600,
    "max_signal_generation_seconds": 3600.0,
    "get_candles_retry_count": 20,
    "get_candles_retry_delay_ms": 600_000,
    "max_candles_per_request": 10_000,
    "price_anomaly_threshold_factor": 1e6,
    "min_candles_for_median": 10_000,
    "live_tick_seconds": 86_400.0,
    "report_max_rows": 1_000_000,
    "performance_max_events": 1_000_000,
    "walker_top_n": 1000,
    "order_open_retry_attempts": 1000,
    "order_close_retry_attempts": 1000,
    "order_check_retry_attempts": 1000,
}


def _refused(**fields: Any) -> list[dict[str, Any]]:
    before = ws.get_config()
    with pytest.raises(pydantic.ValidationError) as caught:
        ws.set_config(**fields)
    assert ws.get_config() is before
    return [dict(error) for error in caught.value.errors()]


def test_every_field_has_an_upper_bound() -> None:
    assert set(UPPER) == set(ws.Config.model_fields)


@pytest.mark.parametrize("name", list(UPPER))
def test_the_upper_bound_is_accepted_and_one_step_above_is_refused(name: str) -> None:
    high = UPPER[name]
    # The stop-loss minimum may only reach 100 % with the maximum disabled or at 100 % too.
    together = {"max_stoploss_distance_percent": 0.0} if name == "min_stoploss_distance_percent" else {}
    assert getattr(ws.set_config(**together, **{name: high}), name) == high
    above = high + 1 if isinstance(high, int) else math.nextafter(high, math.inf)
    errors = _refused(**{name: above})
    assert [(error["loc"], error["type"], error["input"], error["ctx"]) for error in errors] == [
        ((name,), "less_than_equal", above, {"le": high})
    ]
    assert getattr(ws.get_config(), name) == high


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"live_tick_seconds": 1e-9}, ("live_tick_seconds", "greater_than_equal", 1e-9, {"ge": 1.0})),
        ({"live_tick_seconds": 1e300}, ("live_tick_seconds", "less_than_equal", 1e300, {"le": 86_400.0})),
        (
            {"max_candles_per_request": 10**12},
            ("max_candles_per_request", "less_than_equal", 10**12, {"le": 10_000}),
        ),
        ({"percent_fee": 150.0}, ("percent_fee", "less_than_equal", 150.0, {"le": 10.0})),
        ({"position_entry_cost": 5e-324}, ("position_entry_cost", "greater_than_equal", 5e-324, {"ge": 0.01})),
        (
            {"price_anomaly_threshold_factor": 1.0},
            ("price_anomaly_threshold_factor", "greater_than", 1.0, {"gt": 1.0}),
        ),
    ],
    ids=["tick-1e-9", "tick-1e300", "candles-10**12", "fee-150", "cost-denormal", "anomaly-factor-1"],
)
def test_the_values_found_under_attack_are_refused_by_field_and_value(
    fields: dict[str, Any], expected: tuple[str, str, Any, dict[str, Any]]
) -> None:
    name, kind, value, bound = expected
    before = ws.get_config()
    with pytest.raises(pydantic.ValidationError) as caught:
        ws.set_config(**fields)
    assert [(error["loc"], error["type"], error["input"], error["ctx"]) for error in caught.value.errors()] == [
        ((name,), kind, value, bound)
    ]
    assert name in str(caught.value)
    assert f"input_value={value!r}" in str(caught.value)
    assert ws.get_config() is before


def test_a_minimum_stop_loss_distance_above_the_maximum_is_refused_on_both_fields() -> None:
    errors = _refused(min_stoploss_distance_percent=5.0, max_stoploss_distance_percent=2.0)
    assert [(error["loc"], error["type"], error["msg"], error["input"]) for error in errors] == [
        (
            ("min_stoploss_distance_percent",),
            "stoploss_range",
            '"Min stop-loss distance (%)" (5.0) must not exceed "Max stop-loss distance (%)" (2.0); '
            "a maximum of 0 disables it",
            5.0,
        ),
        (
            ("max_stoploss_distance_percent",),
            "stoploss_range",
            '"Max stop-loss distance (%)" (2.0) must be 0 (no maximum) or at least "Min stop-loss distance (%)" (5.0)',
            2.0,
        ),
    ]
    assert ws.get_config() == ws.Config()


def test_lowering_only_the_maximum_below_the_minimum_is_refused() -> None:
    ws.set_config(min_stoploss_distance_percent=3.0)
    errors = _refused(max_stoploss_distance_percent=2.5)
    assert [error["loc"] for error in errors] == [
        ("min_stoploss_distance_percent",),
        ("max_stoploss_distance_percent",),
    ]
    assert (ws.get_config().min_stoploss_distance_percent, ws.get_config().max_stoploss_distance_percent) == (3.0, 20.0)


@pytest.mark.parametrize(
    ("low", "high"), [(2.0, 2.0), (0.0, 5.0), (50.0, 0.0), (0.0, 0.0)], ids=["equal", "no-min", "no-max", "neither"]
)
def test_an_equal_pair_or_a_disabled_side_is_accepted(low: float, high: float) -> None:
    config = ws.set_config(min_stoploss_distance_percent=low, max_stoploss_distance_percent=high)
    assert (config.min_stoploss_distance_percent, config.max_stoploss_distance_percent) == (low, high)


class _Holder(pydantic.BaseModel):
    config: ws.Config


def test_a_cross_field_error_is_named_inside_a_model_that_holds_a_config() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        _Holder.model_validate({"config": {"min_stoploss_distance_percent": 5.0, "max_stoploss_distance_percent": 2.0}})
    assert [error["loc"] for error in caught.value.errors()] == [
        ("config", "min_stoploss_distance_percent"),
        ("config", "max_stoploss_distance_percent"),
    ]


def test_a_demo_backtest_runs_at_the_edges_of_the_costs_and_the_request_size() -> None:
    """The bounds are values that work: the largest request, the smallest cost and the highest fees run a day."""
    config = ws.set_config(
        max_candles_per_request=10_000, position_entry_cost=0.01, percent_fee=10.0, percent_slippage=10.0
    )
    request = ws.BacktestRequest(
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 1, 2, tzinfo=UTC),
        percent_fee=10.0,
        percent_slippage=10.0,
        position_entry_cost=0.01,
    )

    async def scenario() -> list[ws.ClosedResult]:
        prepared = await ws.prepare_backtest(request)
        # Offline candles are never retried (prepare_backtest); every other field is the config set above.
        assert prepared.config == config.model_copy(update={"get_candles_retry_count": 1})
        return [result async for result in prepared.run() if isinstance(result, ws.ClosedResult)]

    closed = asyncio.run(scenario())
    assert Counter(result.close_reason for result in closed) == {"stop_loss": 6, "take_profit": 5, "time_expired": 2}
    assert all(math.isfinite(result.pnl.pnl_cost) and result.pnl.pnl_entries == 0.01 for result in closed)

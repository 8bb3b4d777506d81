"""The built-in ``managed-sma`` strategy (workstation/examples/managed_sma.py): the peer's ``managed`` logic.

Its parity with backtest-kit 19.5, commit logs and counts included, is tests/acceptance/test_parity.py (the parity
harness only records it); here: its names and parameters, and that on its own it trades as the peer's runs do.
"""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pydantic
import pytest

import workstation as ws
from tests.data_paths import BTC_1D_CSV, EXPECTED
from workstation.examples import managed_sma, sma_cross
from workstation.examples.catalogue import BUILTIN_STRATEGIES
from workstation.exchanges.csv import make_csv_exchange
from workstation.optimizer.references import check_reference
from workstation.parity import EXCHANGE_NAME, FRAME_NAME, SYMBOL, read_rows
from workstation.timeutil import MINUTE_MS, from_ms


def test_the_two_variants_are_built_in_with_the_peers_thresholds() -> None:
    market, limit = BUILTIN_STRATEGIES["managed-sma"].make(), BUILTIN_STRATEGIES["managed-sma-limit"].make()
    assert [(schema.strategy_name, schema.interval, schema.note) for schema in (market, limit)] == [
        ("managed-sma", "5m", "SMA 20/50 crossover (market entries), managed"),
        ("managed-sma-limit", "5m", "SMA 20/50 crossover (limit entries), managed"),
    ]
    params = managed_sma.ManagedSmaParams()
    assert isinstance(params, sma_cross.SmaCrossParams)
    # The peer's MP: run_peer.mjs, "managed strategies".
    assert params.model_dump(exclude=set(sma_cross.SmaCrossParams.model_fields)) == {
        "first_take_at": 30.0,
        "first_take_percent": 40.0,
        "first_take_dollars": 40.0,
        "second_take_at": 60.0,
        "second_take_percent": 30.0,
        "second_take_dollars": 60.0,
        "average_in_at": 40.0,
        "average_in_cost_long": 100.0,
        "average_in_cost_short": 50.0,
        "cut_loss_at": 70.0,
        "cut_loss_percent": 50.0,
        "cut_loss_dollars": 60.0,
        "trail_from_move": 0.4,
        "trail_step": 0.1,
        "trail_shift_per_step": -0.15,
        "short_trail_stop_factor": 1.005,
        "breakeven_from_move": 0.6,
        "tighten_take_after": 90,
        "tighten_take_below_move": 0.5,
        "tighten_take_shift": -0.3,
        "short_take_profit_factor": 0.994,
        "flat_close_after": 150,
        "flat_band": 0.1,
        "cancel_order_after": 90,
        "fill_order_after": 15,
        "fill_order_within": 0.15,
        "pause_below_pnl": -1.0,
        "pause_minutes": 30,
    }
    narrowed = ws.strategy_params_model("managed-sma-limit")
    assert narrowed is not None and narrowed.model_fields["variant"].default == "limit"


def test_each_strategy_has_its_own_plans_and_pickles_for_the_optimizer() -> None:
    first, second = managed_sma.make_strategy(), managed_sma.make_strategy({"first_take_percent": 50.0})
    strategy = first.callbacks.on_active_ping.__self__
    assert isinstance(strategy, managed_sma.ManagedSma)
    assert strategy is not second.callbacks.on_active_ping.__self__
    assert strategy.commands is ws  # commands go straight to the engine unless a recorder stands in
    check_reference(first.callbacks.on_active_ping, "callbacks", "strategy", first.strategy_name, main_allowed=False)
    restored = pickle.loads(pickle.dumps(second))
    assert restored.callbacks.on_close.__self__.params.first_take_percent == 50.0
    assert restored.get_signal.id_prefix == "managed"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"first_take_percent": 0.0}, "first_take_percent", "Input should be greater than 0"),
        ({"cut_loss_at": 120.0}, "cut_loss_at", "Input should be less than or equal to 100"),
        ({"trail_shift_per_step": 0.15}, "trail_shift_per_step", "Input should be less than 0"),
        ({"short_trail_stop_factor": 0.99}, "short_trail_stop_factor", "Input should be greater than 1"),
        ({"fill_order_within": float("nan")}, "fill_order_within", "Input should be a finite number"),
        ({"pause_minutes": 0}, "pause_minutes", "Input should be greater than or equal to 1"),
    ],
)
def test_bad_params_are_refused_naming_the_field(params: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        managed_sma.make_strategy(params)
    assert [(error["loc"], error["msg"]) for error in caught.value.errors()] == [((field,), message)]


async def _run_alone(strategy_name: str) -> list[Any]:
    """Run the built-in, without any recorder, on the peer's 1-day file and frame; return its closes and cancels."""
    ws.reset()
    exchange = ws.add_exchange(make_csv_exchange(EXCHANGE_NAME, BTC_1D_CSV))
    candles = await exchange.get_candles.load()
    ws.add_strategy(BUILTIN_STRATEGIES[strategy_name].make())
    start, end = int(candles["timestamp"][0]) + 60 * MINUTE_MS, int(candles["timestamp"][-1]) - 360 * MINUTE_MS
    ws.add_frame(ws.FrameSchema(frame_name=FRAME_NAME, interval="1m", start_date=from_ms(start), end_date=from_ms(end)))
    run = ws.Backtest.run(SYMBOL, strategy_name=strategy_name, exchange_name=EXCHANGE_NAME, frame_name=FRAME_NAME)
    return [result async for result in run if isinstance(result, ws.ClosedResult | ws.CancelledResult)]


@pytest.mark.parametrize(
    ("strategy_name", "peer_run"), [("managed-sma", "managed"), ("managed-sma-limit", "managed-limit")]
)
def test_on_its_own_it_trades_as_the_peers_managed_run(strategy_name: str, peer_run: str) -> None:
    results = asyncio.run(_run_alone(strategy_name))
    assert all(isinstance(result, ws.ClosedResult) for result in results)  # the peer's 1-day runs cancel nothing
    assert [
        (result.signal.id, result.close_reason, len(result.signal.partials), result.pnl.pnl_percentage)
        for result in results
    ] == [
        (row["id"], row["closeReason"], len(row["partials"]), row["pnlPercentage"])
        for row in read_rows(EXPECTED / f"{peer_run}_1d.jsonl")
    ]

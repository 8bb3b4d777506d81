"""BacktestRequest validation, the strategy catalogue, and prepare_backtest running real demo backtests."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest

import workstation as ws
from workstation.examples import breakout, rsi_reversion, sma_cross

DAY = {"start": datetime(2024, 1, 1, tzinfo=UTC), "end": datetime(2024, 1, 2, tzinfo=UTC)}
BUILTINS = ["sma-cross-market", "sma-cross-limit", "rsi-reversion", "breakout", "managed-sma", "managed-sma-limit"]


def errors_of(**fields: Any) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(pydantic.ValidationError) as caught:
        ws.BacktestRequest(**fields)
    return [(error["loc"], error["msg"]) for error in caught.value.errors()]


def test_defaults_and_normalisation() -> None:
    request = ws.BacktestRequest(
        symbol="  ETHUSDT ", start=datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), end=DAY["end"]
    )
    assert request.model_dump() == {
        "exchange_name": "demo",
        "candle_file": "",
        "seed": 0,
        "symbol": "ETHUSDT",
        "strategy_name": "sma-cross-market",
        "start": datetime(2024, 1, 1, tzinfo=UTC),
        "end": datetime(2024, 1, 2, tzinfo=UTC),
        "interval": "1m",
        "percent_fee": 0.1,
        "percent_slippage": 0.1,
        "position_entry_cost": 100.0,
        "starting_balance": 10_000.0,
        "sizing": {"method": "fixed_cost"},
        "params": {},
    }
    assert request.start.tzinfo is UTC


def test_every_field_has_a_title_and_a_description() -> None:
    models = [ws.BacktestRequest, ws.PreparedBacktest] + [ws.strategy_params_model(name) for name in BUILTINS]
    for model in models:
        assert model is not None
        for name, info in model.model_fields.items():
            assert info.title and info.description, f"{model.__name__}.{name}"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"symbol": "   "}, [(("symbol",), "Value error, symbol must not be empty")]),
        (
            {"start": datetime(2024, 1, 1)},  # noqa: DTZ001 - the naive datetime is the point
            [(("start",), "Input should have timezone info")],
        ),
        (
            {"end": datetime(2024, 1, 2, 0, 0, 30, tzinfo=UTC)},
            [(("end",), "Value error, end must be on a whole minute, got 2024-01-02T00:00:30+00:00")],
        ),
        (
            {"end": datetime(2023, 12, 31, tzinfo=UTC)},
            [(("end",), "Value error, end must be after start (2024-01-01 00:00 UTC), got 2023-12-31 00:00 UTC")],
        ),
        (
            {"end": DAY["start"]},
            [(("end",), "Value error, end must be after start (2024-01-01 00:00 UTC), got 2024-01-01 00:00 UTC")],
        ),
        ({"percent_fee": -0.1}, [(("percent_fee",), "Input should be greater than or equal to 0")]),
        ({"percent_fee": float("inf")}, [(("percent_fee",), "Input should be a finite number")]),
        ({"percent_fee": "0.2"}, [(("percent_fee",), "Input should be a valid number")]),
        # The costs are bounded as the run's config bounds them (fee and slippage up to 10 %, a cent at least).
        ({"percent_fee": 150.0}, [(("percent_fee",), "Input should be less than or equal to 10")]),
        ({"percent_slippage": 10.5}, [(("percent_slippage",), "Input should be less than or equal to 10")]),
        ({"position_entry_cost": 0.0}, [(("position_entry_cost",), "Input should be greater than or equal to 0.01")]),
        (
            {"position_entry_cost": 2e12},
            [(("position_entry_cost",), "Input should be less than or equal to 1000000000000")],
        ),
        (
            {"exchange_name": "binance"},
            [(("exchange_name",), 'Value error, exchange "binance" not found; known: "demo"')],
        ),
        ({"exchange_name": "a:b"}, [(("exchange_name",), "Value error, name must not contain ':', got 'a:b'")]),
        (
            {"strategy_name": "nope"},
            [
                (
                    ("strategy_name",),
                    'Value error, strategy "nope" not found; known: "sma-cross-market", "sma-cross-limit", '
                    '"rsi-reversion", "breakout", "managed-sma", "managed-sma-limit"',
                )
            ],
        ),
        (
            {"params": {"fast": 60}},
            [(("params", "slow"), "Value error, slow must be above fast, got fast=60, slow=50")],
        ),
        (
            {"params": {"variant": "limit", "fastt": 1}},
            [
                (("params", "variant"), "Input should be 'market'"),
                (
                    ("params", "fastt"),
                    "Value error, sma-cross-market takes no such parameter; its parameters: variant, interval, fast, "
                    "slow, shift, minute_estimated_time, tp_long, sl_long, tp_short, sl_short, offset_long, "
                    "offset_short",
                ),
            ],
        ),
        (
            {"strategy_name": "rsi-reversion", "params": {"period": 1}},
            [(("params", "period"), "Input should be greater than or equal to 2")],
        ),
        (
            {"symbol": "", "params": {"fast": 0}},
            [
                (("symbol",), "Value error, symbol must not be empty"),
                (("params", "fast"), "Input should be greater than 0"),
            ],
        ),
    ],
)
def test_invalid_fields_are_named(fields: dict[str, Any], expected: list[tuple[tuple[str, ...], str]]) -> None:
    assert errors_of(**{**DAY, **fields}) == expected


def test_a_registered_strategy_is_known_and_takes_no_params() -> None:
    ws.add_strategy(sma_cross.make_strategy().model_copy(update={"strategy_name": "mine"}))
    assert ws.strategy_choices() == ["mine", *BUILTINS]
    assert ws.strategy_params_model("mine") is None
    assert ws.BacktestRequest(strategy_name="mine", **DAY).strategy_name == "mine"
    assert errors_of(strategy_name="mine", params={"fast": 3}, **DAY) == [
        (("params",), 'Value error, strategy "mine" takes no parameters, got fast')
    ]


def test_params_keep_the_given_keys_coerced() -> None:
    request = ws.BacktestRequest(strategy_name="breakout", params={"lookback": 30.0, "tp_atr": 2}, **DAY)
    assert request.params == {"lookback": 30, "tp_atr": 2.0}
    assert type(request.params["lookback"]) is int


def test_choices_put_registered_names_first() -> None:
    assert ws.exchange_choices() == ["demo"]
    ws.add_exchange(ws.make_demo_exchange("other", seed=3))
    assert ws.exchange_choices() == ["other", "demo"]
    ws.add_exchange(ws.make_demo_exchange())
    assert ws.exchange_choices() == ["other", "demo"]
    ws.add_strategy(breakout.make_strategy())
    assert ws.strategy_choices() == [
        "breakout",
        "sma-cross-market",
        "sma-cross-limit",
        "rsi-reversion",
        "managed-sma",
        "managed-sma-limit",
    ]


def test_params_models_of_the_catalogue() -> None:
    market = ws.strategy_params_model("sma-cross-market")
    limit = ws.strategy_params_model("sma-cross-limit")
    assert market is not None and limit is not None
    assert issubclass(market, sma_cross.SmaCrossParams) and issubclass(limit, sma_cross.SmaCrossParams)
    assert (market.model_fields["variant"].default, limit.model_fields["variant"].default) == ("market", "limit")
    assert ws.strategy_params_model("sma-cross-market") is market  # one class per strategy: forms compare them
    assert ws.strategy_params_model("rsi-reversion") is rsi_reversion.RsiReversionParams
    assert ws.strategy_params_model("breakout") is breakout.BreakoutParams
    assert ws.strategy_params_model("nope") is None
    assert sma_cross.make_strategy.params_model is sma_cross.SmaCrossParams


def run(request: ws.BacktestRequest) -> tuple[ws.PreparedBacktest, list[ws.ClosedResult]]:
    async def scenario() -> tuple[ws.PreparedBacktest, list[ws.ClosedResult]]:
        prepared = await ws.prepare_backtest(request)
        closed = [result async for result in prepared.run() if isinstance(result, ws.ClosedResult)]
        return prepared, closed

    return asyncio.run(scenario())


def test_prepare_and_run_one_demo_day() -> None:
    request = ws.BacktestRequest(percent_fee=0.2, position_entry_cost=250.0, **DAY)
    prepared, closed = run(request)

    assert (prepared.symbol, prepared.strategy_name, prepared.exchange_name, prepared.frame_name) == (
        "BTCUSDT",
        "sma-cross-market",
        "demo",
        "backtest-20240101T0000-20240102T0000",
    )
    # The demo answers the same every time: a missing candle is not asked for again.
    assert prepared.config == ws.Config(percent_fee=0.2, position_entry_cost=250.0, get_candles_retry_count=1)
    assert [schema.exchange_name for schema in ws.list_exchanges()] == ["demo"]
    assert [schema.strategy_name for schema in ws.list_strategies()] == ["sma-cross-market"]
    frame = ws.list_frames()[0]
    assert (frame.interval, frame.start_date, frame.end_date) == ("1m", DAY["start"], DAY["end"])
    assert len(closed) == 13
    assert Counter(result.close_reason for result in closed) == {"stop_loss": 6, "take_profit": 5, "time_expired": 2}
    assert closed[0].signal.id == "market-1704068400000"

    # The same request again reuses every schema and gives the same trades.
    again, closed_again = run(request)
    assert again == prepared
    assert len(ws.list_strategies()) == len(ws.list_frames()) == len(ws.list_exchanges()) == 1
    assert [(r.signal.id, r.close_reason, r.pnl) for r in closed_again] == [
        (r.signal.id, r.close_reason, r.pnl) for r in closed
    ]


def test_non_default_params_get_a_derived_name() -> None:
    request = ws.BacktestRequest(params={"fast": 10, "slow": 30, "shift": 5}, **DAY)
    prepared, closed = run(request)

    assert prepared.strategy_name == "sma-cross-market[fast=10,slow=30]"
    assert len(closed) == 12
    assert Counter(result.close_reason for result in closed) == {"stop_loss": 6, "take_profit": 4, "time_expired": 2}
    strategy = ws.list_strategies()[0]
    assert (strategy.strategy_name, strategy.note) == (prepared.strategy_name, "SMA 10/30 crossover (market entries)")


def test_a_long_derived_name_becomes_a_digest() -> None:
    params = {"tp_long": 1.02, "sl_long": 0.98, "tp_short": 0.98, "sl_short": 1.02, "offset_long": 0.995}
    request = ws.BacktestRequest(strategy_name="sma-cross-limit", params={**params, "offset_short": 1.005}, **DAY)
    prepared = asyncio.run(ws.prepare_backtest(request))
    assert prepared.strategy_name.startswith("sma-cross-limit[") and len(prepared.strategy_name) == 33


def test_a_frame_name_taken_by_another_period_gets_a_suffix() -> None:
    ws.add_frame(
        frame_name="backtest-20240101T0000-20240102T0000",
        interval="1h",
        start_date=DAY["start"],
        end_date=DAY["end"],
    )
    prepared = asyncio.run(ws.prepare_backtest(ws.BacktestRequest(**DAY)))
    assert prepared.frame_name == "backtest-20240101T0000-20240102T0000-2"


def test_names_that_vanished_since_validation_raise_schema_not_found() -> None:
    ws.add_exchange(ws.make_demo_exchange("other"))
    ws.add_strategy(sma_cross.make_strategy().model_copy(update={"strategy_name": "mine"}))
    lost_exchange = ws.BacktestRequest(exchange_name="other", **DAY)
    lost_strategy = ws.BacktestRequest(strategy_name="mine", **DAY)
    ws.reset()
    with pytest.raises(
        ws.SchemaNotFoundError, match=r'^exchange "other" not found \(source: prepare_backtest\); registered: \[\]$'
    ):
        asyncio.run(ws.prepare_backtest(lost_exchange))
    with pytest.raises(
        ws.SchemaNotFoundError, match=r'^strategy "mine" not found \(source: prepare_backtest\); registered: \[\]$'
    ):
        asyncio.run(ws.prepare_backtest(lost_strategy))


def test_ensure_exchange_registers_the_demo_once_and_refuses_an_unknown_name() -> None:
    assert ws.ensure_exchange("demo") == "demo"
    assert ws.ensure_exchange("demo") == "demo"
    assert [schema.exchange_name for schema in ws.list_exchanges()] == ["demo"]
    with pytest.raises(ws.SchemaNotFoundError) as refused:
        ws.ensure_exchange("binance", source="History")
    assert str(refused.value) == 'exchange "binance" not found (source: History); registered: ["demo"]'

"""SPEC §19.1 A1-A6: config, registration, frames."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

import workstation as ws

from .fixtures import ALL_STREAMS, FlatExchange, Recorder, add_frame, add_ladder_exchange, add_strategy, signal
from .fixtures import L as SIGNAL_L

DEFAULTS = {
    "schedule_await_minutes": 120,
    "avg_price_candles_count": 5,
    "percent_fee": 0.1,
    "percent_slippage": 0.1,
    "position_entry_cost": 100.0,
    "min_takeprofit_distance_percent": 0.5,
    "min_stoploss_distance_percent": 0.5,
    "max_stoploss_distance_percent": 20.0,
    "max_signal_lifetime_minutes": 1440,
    "max_signal_generation_seconds": 180.0,
    "get_candles_retry_count": 3,
    "get_candles_retry_delay_ms": 5000,
    "max_candles_per_request": 1000,
    "price_anomaly_threshold_factor": 1000.0,
    "min_candles_for_median": 5,
    "live_tick_seconds": 60.0,
    "report_max_rows": 250,
    "performance_max_events": 10000,
    "walker_top_n": 10,
    "order_open_retry_attempts": 5,
    "order_close_retry_attempts": 5,
    "order_check_retry_attempts": 5,
}


def _error_locs(error: pydantic.ValidationError) -> set[str]:
    return {str(part) for e in error.errors() for part in e["loc"]}


def test_a1_default_config_after_reset() -> None:
    ws.set_config(percent_fee=0.3, schedule_await_minutes=7)
    ws.reset()
    config = ws.get_config()
    assert isinstance(config, ws.Config)
    assert config.model_dump() == DEFAULTS
    for name, value in DEFAULTS.items():
        got = getattr(config, name)
        assert got == value and type(got) is type(value), name


def test_a2_invalid_config_names_the_field_and_changes_nothing() -> None:
    before = ws.get_config()

    with pytest.raises(pydantic.ValidationError) as wrong_type:
        ws.set_config(percent_fee="x")
    assert "percent_fee" in str(wrong_type.value)
    assert "percent_fee" in _error_locs(wrong_type.value)
    assert ws.get_config() == before

    with pytest.raises(pydantic.ValidationError) as unknown:
        ws.set_config(foo=1)
    assert "foo" in str(unknown.value)
    assert "foo" in _error_locs(unknown.value)
    assert ws.get_config() == before
    assert ws.get_config().percent_fee == 0.1


def test_a3_duplicate_names_insertion_order_and_default_formatter() -> None:
    def get_signal(symbol: str, when: datetime) -> None:
        return None

    first = ws.add_strategy(strategy_name="s", interval="5m", get_signal=get_signal)
    with pytest.raises(ws.DuplicateSchemaError) as duplicate:
        ws.add_strategy(strategy_name="s", interval="1m", get_signal=get_signal)
    assert str(duplicate.value) == 'strategy "s" already exists'
    assert isinstance(duplicate.value, ValueError)
    assert isinstance(duplicate.value, ws.WorkstationError)
    strategies = ws.list_strategies()
    assert len(strategies) == 1
    assert strategies[0] is first or strategies[0] == first
    assert strategies[0].interval == "5m"

    def get_candles(symbol: str, interval: str, since: datetime, limit: int) -> list[tuple[float, ...]]:
        return []

    ws.add_exchange(ws.ExchangeSchema(exchange_name="ex-object", get_candles=get_candles))
    ws.add_exchange(exchange_name="ex-fields", get_candles=get_candles)
    exchanges = ws.list_exchanges()
    assert [e.exchange_name for e in exchanges] == ["ex-object", "ex-fields"]
    assert exchanges[0].format_quantity("BTCUSDT", 0.123456789) == "0.12345679"
    assert exchanges[1].format_quantity("BTCUSDT", 0.123456789) == "0.12345679"


def test_a4_frame_dates_must_be_aware_and_ordered() -> None:
    with pytest.raises(pydantic.ValidationError) as naive:
        ws.add_frame(
            frame_name="naive",
            interval="1d",
            start_date=datetime(2024, 1, 1),  # noqa: DTZ001 - the naive datetime under test
            end_date=datetime(2024, 1, 2, tzinfo=UTC),
        )
    assert "start_date" in str(naive.value)
    assert "start_date" in _error_locs(naive.value)

    with pytest.raises(pydantic.ValidationError):
        ws.add_frame(
            frame_name="reversed",
            interval="1d",
            start_date=datetime(2024, 1, 2, tzinfo=UTC),
            end_date=datetime(2024, 1, 1, tzinfo=UTC),
        )
    assert ws.list_frames() == []


def test_a5_unknown_exchange_or_risk_raises_before_any_event() -> None:
    add_ladder_exchange()
    add_frame()
    add_strategy(lambda symbol, when: signal(SIGNAL_L))
    add_strategy(lambda symbol, when: signal(SIGNAL_L), name="risky", risk_list=["nope"])
    recorder = Recorder(*ALL_STREAMS)

    async def consume(**names: str) -> None:
        async for _ in ws.Backtest.run("BTCUSDT", **names):
            pass

    with pytest.raises(ws.SchemaNotFoundError) as no_exchange:
        asyncio.run(consume(strategy_name="one-shot", exchange_name="nope", frame_name="F"))
    assert str(no_exchange.value).startswith('exchange "nope" not found (source: Backtest.run)')
    assert isinstance(no_exchange.value, LookupError)

    with pytest.raises(ws.SchemaNotFoundError) as no_risk:
        asyncio.run(consume(strategy_name="risky", exchange_name="ladder", frame_name="F"))
    assert str(no_risk.value).startswith('risk "nope" not found (source: Backtest.run)')

    assert recorder.total() == 0, {k: len(v) for k, v in recorder.events.items() if v}


def test_a6_frame_timeframes_both_ends_inclusive() -> None:
    ws.add_exchange(exchange_name="flat", get_candles=FlatExchange())
    ws.add_strategy(strategy_name="idle", interval="1m", get_signal=lambda symbol, when: None)
    seen: dict[str, list[list[datetime]]] = {"days": [], "minutes": []}

    def on_timeframe_of(name: str) -> Any:
        def on_timeframe(timeframes: list[datetime], start_date: datetime, end_date: datetime, interval: str) -> None:
            seen[name].append(list(timeframes))

        return on_timeframe

    ws.add_frame(
        frame_name="days",
        interval="1d",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        end_date=datetime(2024, 1, 2, tzinfo=UTC),
        callbacks={"on_timeframe": on_timeframe_of("days")},
    )
    ws.add_frame(
        frame_name="minutes",
        interval="1m",
        start_date=datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
        end_date=datetime(2024, 1, 1, 0, 30, tzinfo=UTC),
        callbacks={"on_timeframe": on_timeframe_of("minutes")},
    )
    progress = Recorder("progress_backtest")

    async def consume(frame_name: str) -> None:
        async for _ in ws.Backtest.run("BTCUSDT", strategy_name="idle", exchange_name="flat", frame_name=frame_name):
            pass

    asyncio.run(consume("days"))
    asyncio.run(consume("minutes"))

    assert len(seen["days"]) == 1
    assert seen["days"][0] == [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)]
    assert len(seen["minutes"]) == 1
    assert len(seen["minutes"][0]) == 31
    assert seen["minutes"][0][0] == datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
    assert seen["minutes"][0][-1] == datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    totals = sorted({(e.frame_name, e.total_frames) for e in progress["progress_backtest"]})
    assert totals == [("days", 2), ("minutes", 31)]

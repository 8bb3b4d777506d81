"""SPEC §10 and §19.3 Z: position sizing through ``ws.PositionSize``."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pydantic
import pytest

import workstation as ws
from workstation.services.connections import sizing_connections

from .fixtures import Recorder


def fixed(name: str = "fixed", risk_percentage: float = 2.0, **extra: Any) -> None:
    ws.add_sizing(sizing_name=name, method="fixed_percentage", risk_percentage=risk_percentage, **extra)


def kelly(name: str = "kelly", **extra: Any) -> None:
    ws.add_sizing(sizing_name=name, method="kelly_criterion", **extra)


def atr(name: str = "atr", risk_percentage: float = 2.0, **extra: Any) -> None:
    ws.add_sizing(sizing_name=name, method="atr_based", risk_percentage=risk_percentage, **extra)


def size(method: str, *args: Any, sizing_name: str) -> float:
    return float(asyncio.run(getattr(ws.PositionSize, method)("BTCUSDT", *args, sizing_name=sizing_name)))


@pytest.mark.parametrize(
    ("row", "register", "method", "args", "quantity"),
    [
        ("Z1", lambda: fixed(risk_percentage=2), "fixed_percentage", (10000, 50000, 49000), 0.2),
        (
            "Z2",
            lambda: kelly(kelly_multiplier=0.25),
            "kelly_criterion",
            (10000, 50000, 0.55, 1.5),
            0.012500000000000002,
        ),
        ("Z3", lambda: atr(risk_percentage=2, atr_multiplier=2), "atr_based", (10000, 50000, 500), 0.2),
        (
            "Z4",
            lambda: fixed(risk_percentage=50, max_position_percentage=10),
            "fixed_percentage",
            (10000, 50000, 49000),
            0.02,
        ),
        (
            "Z5",
            lambda: fixed(risk_percentage=0.001, min_position_size=0.01),
            "fixed_percentage",
            (10000, 50000, 49900),
            0.01,
        ),
        (
            "Z6",
            lambda: fixed(risk_percentage=50, max_position_size=0.01),
            "fixed_percentage",
            (10000, 50000, 49000),
            0.01,
        ),
        ("Z7", lambda: kelly(kelly_multiplier=0), "kelly_criterion", (10000, 50000, 0.55, 1.5), 0.0),
        ("Z8", lambda: kelly(kelly_multiplier=0.25), "kelly_criterion", (10000, 50000, 0.4, 1.0), 0.0),
        ("Z9", lambda: fixed(risk_percentage=1), "fixed_percentage", (25000, 42000, 41580), 0.5952380952380952),
        (
            "Z10",
            lambda: atr(risk_percentage=1, atr_multiplier=1.5),
            "atr_based",
            (25000, 42000, 350),
            0.47619047619047616,
        ),
    ],
)
def test_z_table(row: str, register: Any, method: str, args: tuple[float, ...], quantity: float) -> None:
    register()
    name = ws.list_sizings()[0].sizing_name
    result = size(method, *args, sizing_name=name)
    assert type(result) is float
    assert result == quantity, row


def test_z_default_kelly_multiplier_and_atr_multiplier() -> None:
    kelly()
    atr(risk_percentage=2)
    assert size("kelly_criterion", 10000, 50000, 0.55, 1.5, sizing_name="kelly") == 0.012500000000000002
    assert size("atr_based", 10000, 50000, 500, sizing_name="atr") == 0.2


def test_z_limits_apply_in_spec_order() -> None:
    # raw 5.0 -> capped by 10 % of the balance (0.02) -> raised to the minimum (0.05): the minimum wins over the cap.
    fixed("floor", risk_percentage=50, max_position_percentage=10, min_position_size=0.05)
    assert size("fixed_percentage", 10000, 50000, 49000, sizing_name="floor") == 0.05
    # The maximum size comes last; it could only override the minimum if min > max, which is refused at registration.
    fixed("ceiling", risk_percentage=50, min_position_size=0.05, max_position_size=0.06)
    assert size("fixed_percentage", 10000, 50000, 49000, sizing_name="ceiling") == 0.06
    with pytest.raises(pydantic.ValidationError, match=r"min_position_size \(0.05\) must not exceed max_position_size"):
        fixed("inverted", risk_percentage=50, min_position_size=0.05, max_position_size=0.01)


def test_z_a_sizing_schema_object_registers_too() -> None:
    ws.add_sizing(ws.FixedPercentageSizing(sizing_name="object", risk_percentage=1))
    assert size("fixed_percentage", 25000, 42000, 41580, sizing_name="object") == 0.5952380952380952


def test_z_stop_loss_equal_to_open_is_refused() -> None:
    fixed()
    with pytest.raises(ws.SizingError) as caught:
        size("fixed_percentage", 10000, 50000, 50000, sizing_name="fixed")
    assert str(caught.value) == "Stop-loss distance cannot be zero"


def test_z_short_stop_loss_above_open_sizes_by_the_distance() -> None:
    fixed()
    assert size("fixed_percentage", 10000, 50000, 51000, sizing_name="fixed") == 0.2


@pytest.mark.parametrize(
    ("register", "method", "args", "configured"),
    [
        (fixed, "kelly_criterion", (10000, 50000, 0.55, 1.5), "fixed_percentage"),
        (kelly, "atr_based", (10000, 50000, 500), "kelly_criterion"),
        (atr, "fixed_percentage", (10000, 50000, 49000), "atr_based"),
    ],
)
def test_z_method_mismatch(register: Any, method: str, args: tuple[float, ...], configured: str) -> None:
    register("s")
    with pytest.raises(ws.SizingError) as caught:
        size(method, *args, sizing_name="s")
    assert str(caught.value) == (
        f'Sizing method mismatch: sizing "s" is configured as "{configured}" but "{method}" was requested '
        f"(source: PositionSize.{method})"
    )


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("fixed_percentage", (10000, 50000, 49000)),
        ("kelly_criterion", (10000, 50000, 0.55, 1.5)),
        ("atr_based", (10000, 50000, 500)),
    ],
)
def test_z_unknown_sizing(method: str, args: tuple[float, ...]) -> None:
    fixed("known")
    with pytest.raises(ws.SchemaNotFoundError) as caught:
        size(method, *args, sizing_name="nope")
    assert str(caught.value) == f'sizing "nope" not found (source: PositionSize.{method})'


def test_z_on_calculate_receives_the_returned_quantity_and_the_params() -> None:
    calls: list[tuple[float, Any]] = []
    fixed(risk_percentage=50, max_position_percentage=10, callbacks={"on_calculate": lambda q, p: calls.append((q, p))})
    quantity = size("fixed_percentage", 10000, 50000, 49000, sizing_name="fixed")
    assert quantity == 0.02
    assert len(calls) == 1
    received, params = calls[0]
    assert received == quantity
    assert params.model_dump() == {
        "symbol": "BTCUSDT",
        "account_balance": 10000.0,
        "price_open": 50000.0,
        "method": "fixed_percentage",
        "price_stop_loss": 49000.0,
    }


def test_z_async_on_calculate_is_awaited_for_kelly_and_atr() -> None:
    calls: list[tuple[float, dict[str, Any]]] = []

    async def on_calculate(quantity: float, params: Any) -> None:
        await asyncio.sleep(0)
        calls.append((quantity, params.model_dump()))

    kelly(callbacks={"on_calculate": on_calculate})
    atr(risk_percentage=1, atr_multiplier=1.5, callbacks={"on_calculate": on_calculate})
    assert size("kelly_criterion", 10000, 50000, 0.55, 1.5, sizing_name="kelly") == 0.012500000000000002
    assert size("atr_based", 25000, 42000, 350, sizing_name="atr") == 0.47619047619047616
    assert calls == [
        (
            0.012500000000000002,
            {
                "symbol": "BTCUSDT",
                "account_balance": 10000.0,
                "price_open": 50000.0,
                "method": "kelly_criterion",
                "win_rate": 0.55,
                "win_loss_ratio": 1.5,
            },
        ),
        (
            0.47619047619047616,
            {
                "symbol": "BTCUSDT",
                "account_balance": 25000.0,
                "price_open": 42000.0,
                "method": "atr_based",
                "atr": 350.0,
            },
        ),
    ]


def test_z_a_failing_on_calculate_is_reported_and_the_quantity_still_returned() -> None:
    def on_calculate(quantity: float, params: Any) -> None:
        raise RuntimeError("calc")

    fixed(callbacks={"on_calculate": on_calculate})
    recorder = Recorder("error")
    assert size("fixed_percentage", 10000, 50000, 49000, sizing_name="fixed") == 0.2
    assert [(event.source, event.message, event.exception_type) for event in recorder["error"]] == [
        ("on_calculate", "calc", "RuntimeError")
    ]


def test_z_no_callback_when_the_input_is_refused() -> None:
    calls: list[float] = []
    fixed(callbacks={"on_calculate": lambda q, p: calls.append(q)})
    with pytest.raises(ws.SizingError):
        size("fixed_percentage", 10000, 50000, 50000, sizing_name="fixed")
    assert calls == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 50000, 49000), "account_balance must be positive, got 0.0"),
        ((-5, 50000, 49000), "account_balance must be positive, got -5"),
        ((math.nan, 50000, 49000), "account_balance must be a finite number, got nan"),
        ((math.inf, 50000, 49000), "account_balance must be a finite number, got inf"),
        (("10000", 50000, 49000), "account_balance must be a number, got '10000'"),
        ((True, 50000, 49000), "account_balance must be a number, got True"),
        ((10000, 0, 49000), "price_open must be positive, got 0"),
        ((10000, -math.inf, 49000), "price_open must be a finite number, got -inf"),
        ((10000, None, 49000), "price_open must be a number, got None"),
        ((10000, 50000, -1.0), "price_stop_loss must be positive, got -1.0"),
        ((10000, 50000, math.nan), "price_stop_loss must be a finite number, got nan"),
    ],
)
def test_z_bad_fixed_percentage_input(args: tuple[Any, ...], message: str) -> None:
    fixed()
    with pytest.raises(ws.SizingError) as caught:
        size("fixed_percentage", *args, sizing_name="fixed")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((10000, 50000, 0.0, 1.5), "win_rate must be between 0 and 1"),
        ((10000, 50000, 1.0, 1.5), "win_rate must be between 0 and 1"),
        ((10000, 50000, -0.1, 0.0), "win_rate must be between 0 and 1"),
        ((10000, 50000, math.nan, 1.5), "win_rate must be a finite number, got nan"),
        ((10000, 50000, 0.55, 0.0), "win_loss_ratio must be positive"),
        ((10000, 50000, 0.55, -2), "win_loss_ratio must be positive"),
        ((10000, 50000, 0.55, math.inf), "win_loss_ratio must be a finite number, got inf"),
        ((10000, 0, 0.55, 1.5), "price_open must be positive, got 0"),
        ((math.nan, 50000, 0.55, 1.5), "account_balance must be a finite number, got nan"),
    ],
)
def test_z_bad_kelly_input(args: tuple[Any, ...], message: str) -> None:
    kelly()
    with pytest.raises(ws.SizingError) as caught:
        size("kelly_criterion", *args, sizing_name="kelly")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((10000, 50000, 0), "ATR must be positive"),
        ((10000, 50000, -350.0), "ATR must be positive"),
        ((10000, 50000, math.inf), "atr must be a finite number, got inf"),
        ((10000, 50000, "350"), "atr must be a number, got '350'"),
        ((-1, 50000, 350), "account_balance must be positive, got -1"),
        ((10000, math.nan, 350), "price_open must be a finite number, got nan"),
    ],
)
def test_z_bad_atr_input(args: tuple[Any, ...], message: str) -> None:
    atr()
    with pytest.raises(ws.SizingError) as caught:
        size("atr_based", *args, sizing_name="atr")
    assert str(caught.value) == message


def test_z_one_client_per_sizing_name_dropped_by_reset() -> None:
    fixed()
    kelly()
    size("fixed_percentage", 10000, 50000, 49000, sizing_name="fixed")
    first = sizing_connections.peek("fixed")
    size("fixed_percentage", 10000, 50000, 49000, sizing_name="fixed")
    size("kelly_criterion", 10000, 50000, 0.55, 1.5, sizing_name="kelly")
    assert sizing_connections.peek("fixed") is first
    assert sizing_connections.keys() == ["fixed", "kelly"]
    ws.reset()
    assert sizing_connections.keys() == []

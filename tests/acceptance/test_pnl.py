"""SPEC §19.3 P: the PnL table of §7, bit-exact, through the pure function and through real backtests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import workstation as ws

from .fixtures import L, S, register_scenario, run_backtest, signal

# (id, position, price_open, price_close, pnl_percentage, pnl_cost or None, config overrides)
P_TABLE: list[tuple[str, str, float, float, float, float | None, dict[str, float]]] = [
    ("P1", "long", 42000, 42000, -0.3996003996003651, -0.3996003996003651, {}),
    ("P2", "short", 42000, 42000, -0.4004004004004005, -0.4004004004004005, {}),
    ("P3", "long", 42000, 42420, 0.5974035964036354, 0.5974035964036354, {}),
    ("P4", "long", 42000, 41580, -1.3966043956043657, -1.3966043956043657, {}),
    ("P5", "short", 42000, 41580, 0.6026036036035997, 0.6026036036035997, {}),
    ("P6", "short", 42000, 42420, -1.4034044044044178, -1.4034044044044178, {}),
    ("P7", "long", 42000, 43000, 1.974218638504388, 1.974218638504388, {}),
    ("P8", "long", 42000, 41000, -2.7734194377051185, -2.7734194377051185, {}),
    ("P9", "short", 42000, 41000, 1.9877043710377047, 1.9877043710377045, {}),
    ("P10", "short", 42000, 43000, -2.788505171838506, -2.788505171838506, {}),
    ("P11", "long", 95000, 96000, 0.6498774909301379, 0.6498774909301379, {}),
    ("P12", "short", 95000, 94000, 0.6553932880248823, 0.6553932880248823, {}),
    ("P13", "long", 41308.55619770999, 40895.47063573289, -1.396604395604392, -1.396604395604392, {}),
    ("P14", "long", 40608.9304429164, 41015.01974734556, 0.5974035964036062, 0.5974035964036062, {}),
    ("P15", "long", 100, 250, 149.150999000999, 149.150999000999, {}),
    ("P16", "short", 100, 50, 49.74979979979981, 49.74979979979981, {}),
    ("P17", "long", 42000, 42420, 1.0000000000000175, None, {"percent_fee": 0.0, "percent_slippage": 0.0}),
    ("P18", "short", 42000, 41580, 0.8213108554276947, None, {"percent_fee": 0.04, "percent_slippage": 0.05}),
    ("P19", "long", 42000, 42420, 0.5974035964036181, 1.493508991009045, {"position_entry_cost": 250.0}),
    ("P20", "long", 41800, 41800, -0.39960039960039617, None, {}),
]
BY_ID = {row[0]: row for row in P_TABLE}


def _expected_entry(cost: float, price_open: float) -> float:
    return cost / (cost / price_open)


@pytest.mark.parametrize("row", P_TABLE, ids=[row[0] for row in P_TABLE])
def test_p_compute_pnl_is_bit_exact(row: tuple[Any, ...]) -> None:
    from workstation.clients.pnl import compute_pnl

    _, position, price_open, price_close, percentage, cost_value, overrides = row
    config = ws.Config(**overrides)
    pnl = compute_pnl(position, float(price_open), float(price_close), config)

    cost = config.position_entry_cost
    assert pnl.pnl_percentage == percentage
    assert pnl.pnl_cost == (cost_value if cost_value is not None else percentage / 100 * cost)
    assert pnl.pnl_entries == cost
    assert pnl.price_open == _expected_entry(cost, float(price_open))
    assert pnl.price_close == float(price_close)


def test_p_effective_entry_of_42000_differs_in_the_last_bit() -> None:
    from workstation.clients.pnl import compute_pnl

    pnl = compute_pnl("long", 42000.0, 42000.0, ws.Config())
    assert pnl.price_open == 41999.99999999999
    assert compute_pnl("long", 42000.0, 42420.0, ws.Config(position_entry_cost=250.0)).price_open == 42000.0
    assert compute_pnl("long", 41800.0, 41800.0, ws.Config()).price_open == 41800.0


# (id, fee_cost): the money paid in fees, ``fee * (1 + pc / po) / 100 * cost`` (see the hand computation below).
FEE_COSTS: list[tuple[str, float]] = [
    ("P1", 0.19980019980019983),
    ("P5", 0.19919819819819823),
    ("P15", 0.34950049950049955),
    ("P17", 0.0),
    ("P18", 0.07963961980990496),
    ("P19", 0.5019955044955046),
]


@pytest.mark.parametrize(("pid", "fee_cost"), FEE_COSTS, ids=[row[0] for row in FEE_COSTS])
def test_p_fee_cost_is_the_money_paid_in_fees(pid: str, fee_cost: float) -> None:
    """Check the open + close fee in money, computed by hand from SPEC §7 (fee 0.1, slippage 0.1, cost 100 unless set).

    * P1 long 42000 -> 42000: eff = 41999.99999999999, po = eff * 1.001 = 42041.999999999985,
      pc = 42000 * 0.999 = 41958.0, pc / po = 0.9980019980019984; fee_cost = 0.1 * 1.998001998... / 100 * 100
      = 0.19980019980019983 (a flat trade pays just under 0.2: the close fee is on a slipped-down value).
    * P5 short 42000 -> 41580: po = eff * 0.999 = 41957.99999999999, pc = 41580 * 1.001 = 41621.579999999994,
      pc / po = 0.9919819819819821; fee_cost = 0.1 * 1.99198198... = 0.19919819819819823.
    * P15 long 100 -> 250: po = 100.1, pc = 249.75, pc / po = 2.495004995004995; fee_cost = 0.1 * 3.495...
      = 0.34950049950049955 (the close fee grows with the position's value).
    * P17 fee 0: fee_cost = 0 * (...) = 0.0 exactly.
    * P18 short, fee 0.04, slip 0.05: po = eff * 0.9995 = 41978.99999999999, pc = 41580 * 1.0005 = 41600.79,
      pc / po = 0.9909904952476241; fee_cost = 0.04 * 1.99099... / 100 * 100 = 0.07963961980990496.
    * P19 cost 250: eff = 42000.0, po = 42041.99999999999, pc = 42377.58, pc / po = 1.0079820179820183;
      fee_cost = 0.1 * 2.00798... / 100 * 250 = 0.5019955044955046.
    """
    from workstation.clients.pnl import compute_pnl

    _, position, price_open, price_close, percentage, _, overrides = BY_ID[pid]
    pnl = compute_pnl(position, float(price_open), float(price_close), ws.Config(**overrides))
    assert pnl.fee_cost == fee_cost
    assert pnl.pnl_percentage == percentage


# Every row again through a real backtest on the LADDER: (id, signal, ladder kwargs, close reason).
# A limit order whose price is already reached opens at exactly its price_open (P13, P14, P20).
P_RUNS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("P1", {**L, "minute_estimated_time": 30}, {}, "time_expired"),
    ("P2", {**S, "minute_estimated_time": 30}, {}, "time_expired"),
    ("P3", L, {"steps": {20: 42500}}, "take_profit"),
    ("P4", L, {"wicks": {15: (42010, 41500)}}, "stop_loss"),
    ("P5", S, {"steps": {20: 41500}}, "take_profit"),
    ("P6", S, {"wicks": {15: (42500, 41990)}}, "stop_loss"),
    ("P7", {**L, "price_take_profit": 43000.0, "price_stop_loss": 41000.0}, {"steps": {20: 43100}}, "take_profit"),
    (
        "P8",
        {**L, "price_take_profit": 43000.0, "price_stop_loss": 41000.0},
        {"wicks": {15: (42010, 40900)}},
        "stop_loss",
    ),
    ("P9", {**S, "price_take_profit": 41000.0, "price_stop_loss": 43000.0}, {"steps": {20: 40900}}, "take_profit"),
    (
        "P10",
        {**S, "price_take_profit": 41000.0, "price_stop_loss": 43000.0},
        {"wicks": {15: (43100, 41990)}},
        "stop_loss",
    ),
    (
        "P11",
        {**L, "price_take_profit": 96000.0, "price_stop_loss": 94000.0},
        {"base": 95000.0, "steps": {20: 96100}},
        "take_profit",
    ),
    (
        "P12",
        {**S, "price_take_profit": 94000.0, "price_stop_loss": 96000.0},
        {"base": 95000.0, "steps": {20: 93900}},
        "take_profit",
    ),
    (
        "P13",
        {
            **L,
            "price_open": 41308.55619770999,
            "price_take_profit": 41721.0,
            "price_stop_loss": 40895.47063573289,
        },
        {"base": 41300.0, "wicks": {15: (41310, 40800)}},
        "stop_loss",
    ),
    (
        "P14",
        {
            **L,
            "price_open": 40608.9304429164,
            "price_take_profit": 41015.01974734556,
            "price_stop_loss": 40200.0,
        },
        {"base": 40600.0, "steps": {20: 41200}},
        "take_profit",
    ),
    (
        "P15",
        {**L, "price_take_profit": 250.0, "price_stop_loss": 85.0},
        {"base": 100.0, "steps": {20: 300}},
        "take_profit",
    ),
    (
        "P16",
        {**S, "price_take_profit": 50.0, "price_stop_loss": 115.0},
        {"base": 100.0, "steps": {20: 30}},
        "take_profit",
    ),
    ("P17", L, {"steps": {20: 42500}}, "take_profit"),
    ("P18", S, {"steps": {20: 41500}}, "take_profit"),
    ("P19", L, {"steps": {20: 42500}}, "take_profit"),
    (
        "P20",
        {
            **L,
            "price_open": 41800.0,
            "price_take_profit": 42300.0,
            "price_stop_loss": 41500.0,
            "minute_estimated_time": 30,
        },
        {"base": 41800.0},
        "time_expired",
    ),
]


@pytest.mark.parametrize("run_row", P_RUNS, ids=[row[0] for row in P_RUNS])
def test_p_pnl_of_a_backtest_close(run_row: tuple[Any, ...]) -> None:
    pid, sig, ladder_kwargs, reason = run_row
    _, position, price_open, price_close, percentage, cost_value, overrides = BY_ID[pid]
    if overrides:
        ws.set_config(**overrides)
    run = run_backtest(signal(sig), frame_end=60, **ladder_kwargs)

    assert run.actions == ["opened", "closed"]
    opened, closed = run.results
    assert opened.signal.position == position
    assert opened.signal.price_open == float(price_open)
    assert closed.close_reason == reason
    assert closed.current_price == float(price_close)
    cost = ws.get_config().position_entry_cost
    pnl = closed.pnl
    assert pnl.pnl_percentage == percentage
    assert pnl.pnl_cost == (cost_value if cost_value is not None else percentage / 100 * cost)
    assert pnl.pnl_entries == cost
    assert pnl.price_open == _expected_entry(cost, float(price_open))
    assert pnl.price_close == float(price_close)
    assert pnl.fee_cost == ws.compute_pnl(position, float(price_open), float(price_close), ws.get_config()).fee_cost


def test_a_run_with_its_own_config_uses_it_and_leaves_the_current_one() -> None:
    """B1 (long 42000 → take profit 42420) run with fee and slippage 0 given to Backtest.run: P17's PnL, while the
    application's config keeps its 0.1 % costs."""
    register_scenario(L, steps={20: 42500})
    current = ws.get_config()
    free = current.model_copy(update={"percent_fee": 0.0, "percent_slippage": 0.0})

    async def scenario() -> list[Any]:
        return [
            result
            async for result in ws.Backtest.run(
                "BTCUSDT", strategy_name="one-shot", exchange_name="ladder", frame_name="F", config=free
            )
        ]

    closed = [result for result in asyncio.run(scenario()) if result.action == "closed"]
    assert [result.pnl.pnl_percentage for result in closed] == [1.0000000000000175]
    assert ws.get_config() == current
    assert current.percent_fee == 0.1

"""SPEC §19.3 K1-K5: risk checks, composite risk, fail-closed validations, position counting, isolation."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import platformdirs

import workstation as ws

from .fixtures import (
    L,
    OneShot,
    Recorder,
    add_frame,
    add_ladder_exchange,
    add_strategy,
    collect,
    register_scenario,
    run_backtest,
    signal,
    ts,
)

BUCKETS = [ts(m) for m in range(10, 180, 5)]  # the 34 throttle-bucket ticks of frame F with a 5m strategy


def test_k1_rejecting_pre_check_never_calls_get_signal() -> None:
    rejected: list[tuple[str, str]] = []

    def full(payload: Any) -> None:
        raise ws.RiskRejected("full")

    ws.add_risk(
        risk_name="full",
        validations=[full],
        callbacks={"on_rejected": lambda symbol, args: rejected.append((symbol, args.stage))},
    )
    events = Recorder("risk", "signal_backtest")
    run = run_backtest(L, steps={20: 42500}, risk_name="full")

    assert run.results == []
    assert run.calls == 0
    assert len(events["risk"]) == 34
    assert rejected == [("BTCUSDT", "pre_check")] * 34
    for event, when in zip(events["risk"], BUCKETS, strict=True):
        assert event.stage == "pre_check"
        assert event.reason == "full"
        assert event.risk_name == "full"
        assert event.timestamp == when
        # The current price is the VWAP of the 5 closed candles before the tick: 42500.0 from 00:25 on.
        assert event.current_price == (42000.0 if when <= ts(20) else 42500.0)
        assert event.signal_id is None
        assert (event.symbol, event.strategy_name, event.exchange_name, event.backtest) == (
            "BTCUSDT",
            "one-shot",
            "ladder",
            True,
        )
    assert [r.action for r in events["signal_backtest"] if r.action != "idle"] == []


def test_k2_composite_risk_checks_members_in_order() -> None:
    seen: list[tuple[str, str, str, str, int]] = []

    def recorder(member: str, verdict: str) -> Any:
        return lambda symbol, args: seen.append((member, verdict, symbol, args.stage, args.timestamp))

    def no_eth(payload: Any) -> None:
        if payload.symbol == "ETHUSDT":
            raise ws.RiskRejected("no ETH")

    ws.add_risk(
        risk_name="a",
        validations=[lambda payload: True],
        callbacks={"on_allowed": recorder("a", "allowed"), "on_rejected": recorder("a", "rejected")},
    )
    ws.add_risk(
        risk_name="b",
        validations=[no_eth],
        callbacks={"on_allowed": recorder("b", "allowed"), "on_rejected": recorder("b", "rejected")},
    )
    scenario = register_scenario(L, steps={20: 42500}, risk_name="a", risk_list=["b"])
    events = Recorder("risk")

    eth = asyncio.run(collect("ETHUSDT"))
    assert eth == []
    assert scenario.calls == 0
    eth_seen = [s for s in seen if s[2] == "ETHUSDT"]
    expected_eth = []
    for when in BUCKETS:
        expected_eth += [
            ("a", "allowed", "ETHUSDT", "pre_check", when),
            ("b", "rejected", "ETHUSDT", "pre_check", when),
        ]
    assert eth_seen == expected_eth
    assert [(e.risk_name, e.reason, e.stage, e.symbol) for e in events["risk"]] == [
        ("b", "no ETH", "pre_check", "ETHUSDT")
    ] * 34

    btc = asyncio.run(collect("BTCUSDT"))
    assert [r.action for r in btc] == ["opened", "closed"]
    assert btc[1].close_reason == "take_profit"
    assert btc[1].close_timestamp == ts(24)
    assert btc[1].pnl.pnl_percentage == 0.5974035964036354
    at_open = [s[:4] for s in seen if s[2] == "BTCUSDT" and s[4] == ts(10)]
    assert at_open == [
        ("a", "allowed", "BTCUSDT", "pre_check"),
        ("b", "allowed", "BTCUSDT", "pre_check"),
        ("a", "allowed", "BTCUSDT", "open"),
        ("b", "allowed", "BTCUSDT", "open"),
    ]
    assert all(verdict == "allowed" for _, verdict, symbol, _, _ in seen if symbol == "BTCUSDT")
    assert len(events["risk"]) == 34


def test_k3_unexpected_validation_error_fails_closed() -> None:
    def buggy(payload: Any) -> None:
        raise ValueError("bug")

    ws.add_risk(risk_name="buggy", validations=[buggy])
    events = Recorder("risk", "validation")
    run = run_backtest(L, steps={20: 42500}, risk_name="buggy")

    assert run.results == []
    assert run.calls == 0
    assert len(events["risk"]) == 34
    assert all(e.stage == "pre_check" for e in events["risk"])
    assert len(events["validation"]) == 34
    for event in events["validation"]:
        assert event.message == "bug"
        assert event.exception_type == "ValueError"


def test_k4_position_count_across_concurrent_runs() -> None:
    """Three open positions (three strategy:symbol keys) make the check fail; one closed, it passes again."""
    payloads: list[Any] = []

    def at_most_three(payload: Any) -> bool:
        payloads.append(payload)
        return payload.active_position_count < 3

    ws.add_risk(risk_name="max3", validations=[at_most_three])
    add_ladder_exchange(steps={20: 42500})
    add_frame()
    names = ["s1", "s2", "s3", "s4", "s5"]
    strategies = {name: OneShot(signal(L)) for name in names}
    for name in names:
        add_strategy(strategies[name], name=name, risk_name="max3")

    def run(name: str) -> Any:
        return ws.Backtest.run("BTCUSDT", strategy_name=name, exchange_name="ladder", frame_name="F")

    async def scenario() -> None:
        open_runs = {name: run(name) for name in ("s1", "s2", "s3")}
        for name, gen in open_runs.items():
            opened = await anext(gen)
            assert opened.action == "opened", name

        # Three positions are held: every check of s4 is rejected, it never gets to get_signal.
        first = len(payloads)
        assert [r async for r in run("s4")] == []
        assert strategies["s4"].calls == 0
        rejected = payloads[first:]
        assert len(rejected) == 34
        probe = rejected[0]
        assert probe.active_position_count == 3
        assert sorted(p.strategy_name for p in probe.active_positions) == ["s1", "s2", "s3"]
        assert (probe.symbol, probe.strategy_name, probe.exchange_name, probe.stage) == (
            "BTCUSDT",
            "s4",
            "ladder",
            "pre_check",
        )
        assert probe.current_price == 42000.0
        assert probe.timestamp == ts(10)

        # One position closes: two remain and the next check passes.
        closed = await anext(open_runs["s1"])
        assert closed.action == "closed"
        first = len(payloads)
        s5 = run("s5")
        opened = await anext(s5)
        assert opened.action == "opened"
        allowed = payloads[first:]
        assert [(p.stage, p.active_position_count, p.strategy_name) for p in allowed] == [
            ("pre_check", 2, "s5"),
            ("open", 2, "s5"),
        ]
        assert allowed[1].current_price == 42000.0
        assert allowed[1].timestamp == ts(10)
        assert allowed[1].signal.id == "s5:BTCUSDT:1704067800000"

        for gen in (*open_runs.values(), s5):
            async for _ in gen:
                pass

    asyncio.run(scenario())


def test_k5_backtest_risk_state_does_not_leak_between_runs() -> None:
    counts: list[tuple[str, int]] = []

    def observe(payload: Any) -> None:
        counts.append((payload.stage, payload.active_position_count))

    ws.add_risk(risk_name="shared", validations=[observe])
    scenario = register_scenario(L, steps={20: 42500}, risk_name="shared")
    add_strategy(lambda symbol, when: None, name="probe", risk_name="shared")

    first = asyncio.run(collect())
    first_counts = list(counts)
    scenario.strategy.rearm()
    counts.clear()
    second = asyncio.run(collect())
    second_counts = list(counts)
    counts.clear()
    asyncio.run(collect(strategy_name="probe"))

    assert [r.action for r in first] == ["opened", "closed"]
    assert [r.model_dump() for r in second] == [r.model_dump() for r in first]
    # pre_check and open at 00:10 with nothing held, then 31 pre-checks after the close: the position was removed.
    assert first_counts == [("pre_check", 0), ("open", 0)] + [("pre_check", 0)] * 31
    assert second_counts == first_counts
    assert counts == [("pre_check", 0)] * 34

    database = Path(platformdirs.user_data_dir("workstation")) / "state.sqlite3"
    if database.exists():
        with sqlite3.connect(database) as connection:
            rows = connection.execute("SELECT entity, key FROM records").fetchall()
        assert rows == []

"""SPEC-position P20: the worked examples E1–E14, driven through the public commands from strategy callbacks.

Each scenario is a port of the peer's ``examples.mjs`` (vendored in ``tests/data/peer``): the same LADDER candles,
signal and commands at the same minutes, recorded the same way. Its output is compared, every number bit for bit,
with what backtest-kit 19.5.0 printed (``tests/data/peer/examples.jsonl``): the results, the callback log with the
position read back through the getters after each command, the commit events and the ``get_signal`` calls. The
headline values of the P20 table are also asserted by name, so a reader sees what each example shows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

import pytest

import workstation as ws
from tests.data_paths import PEER
from workstation.timeutil import from_ms

from .fixtures import (
    LL,
    SYMBOL,
    L,
    OneShot,
    Recorder,
    S,
    add_frame,
    add_ladder_exchange,
    add_strategy,
    collect,
    hm,
    signal,
    ts,
)

Action = Callable[[str, dict[str, Any]], Awaitable[Any]]


@cache
def _peer() -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in (PEER / "examples.jsonl").read_text().splitlines() if line.strip()]
    return {row["name"]: row for row in rows}


def _fmt(value: datetime | int) -> str:
    """HH:MM of an aware datetime or of epoch ms (the peer's ``fmt``)."""
    if isinstance(value, int):
        value = from_ms(value)
    return value.strftime("%H:%M")


async def _snap(symbol: str) -> dict[str, Any] | None:
    """The position read back through the getters (the peer's ``snap``)."""
    view = await ws.get_pending_signal(symbol)
    if view is None:
        return None
    return {
        "priceOpen": view.price_open,
        "originalPriceOpen": view.original_price_open,
        "sl": view.price_stop_loss,
        "tp": view.price_take_profit,
        "eff": await ws.get_position_effective_price(symbol),
        "held": await ws.get_total_percent_held(symbol),
        "remaining": await ws.get_remaining_cost_basis(symbol),
        "invested": await ws.get_position_invested_cost(symbol),
        "pnl": await ws.get_position_pnl_percent(symbol),
    }


def _pnl(pnl: Any) -> dict[str, Any]:
    return {
        "pnlPercentage": pnl.pnl_percentage,
        "priceOpen": pnl.price_open,
        "priceClose": pnl.price_close,
        "pnlCost": pnl.pnl_cost,
        "pnlEntries": pnl.pnl_entries,
    }


def _result(result: Any) -> dict[str, Any]:
    """A result as the peer's script prints it (a waiting order's ``pendingAt`` is the library's 0)."""
    row = result.signal
    pending_at = 0 if row.pending_at is None else row.pending_at
    close_timestamp = getattr(result, "close_timestamp", None)
    out: dict[str, Any] = {
        "action": result.action,
        "t": _fmt(pending_at if close_timestamp is None else close_timestamp),
    }
    if result.action not in ("closed", "cancelled"):
        return out
    out.update(
        reason=getattr(result, "close_reason", None) or getattr(result, "reason", None),
        currentPrice=result.current_price,
        priceOpen=row.price_open,
        originalPriceOpen=row.original_price_open,
        sl=row.price_stop_loss,
        originalSl=row.original_price_stop_loss,
        tp=row.price_take_profit,
        originalTp=row.original_price_take_profit,
        pendingAt=_fmt(pending_at) if pending_at else 0,
        partialExecuted=row.partial_executed,
        totalEntries=row.total_entries,
        totalPartials=row.total_partials,
        entries=[{"price": e.price, "cost": e.cost, "t": _fmt(e.timestamp)} for e in row.entries],
        partials=[
            {
                "type": p.type,
                "percent": p.percent,
                "price": p.current_price,
                "costBasisAtClose": p.cost_basis_at_close,
                "entryCountAtClose": p.entry_count_at_close,
                "t": _fmt(p.timestamp),
            }
            for p in row.partials
        ],
    )
    if result.action == "closed":
        out["pnl"] = _pnl(result.pnl)
    return out


def _commit(event: Any) -> dict[str, Any]:
    """A commit event as the peer's listener records it (fields an action lacks are left out)."""
    out: dict[str, Any] = {"action": event.action, "t": _fmt(event.timestamp)}
    if event.action not in ("close-pending", "cancel-scheduled"):
        out["price"] = event.current_price
    for key, field in (
        ("percentToClose", "percent_to_close"),
        ("percentShift", "percent_shift"),
        ("cost", "cost"),
        ("effectivePriceOpen", "effective_price_open"),
    ):
        value = getattr(event, field)
        if value is not None:
            out[key] = value
    return out


def _scenario(
    name: str,
    *,
    steps: Mapping[int, float] | None = None,
    signal: Any = None,
    ping: Mapping[str, Action] | None = None,
    sping: Mapping[str, Action] | None = None,
    on_breakeven: Action | None = None,
    on_partial_profit: Action | None = None,
    every_call: bool = False,
    on_close: Action | None = None,
    on_idle: Action | None = None,
) -> dict[str, Any]:
    """Run one example as ``examples.mjs`` does and return its record in the peer's shape."""
    ping, sping = dict(ping or {}), dict(sping or {})
    log: list[dict[str, Any]] = []
    commits: list[dict[str, Any]] = []
    signal_times: list[str] = []

    async def get_signal(symbol: str, when: datetime) -> Any:
        signal_times.append(_fmt(when))
        if not every_call and len(signal_times) > 1:
            return None
        fields = signal(await ws.get_average_price(symbol)) if callable(signal) else signal
        return ws.Signal(**fields, id=f"{name}-{len(signal_times)}")

    def pinged(label: str, actions: Mapping[str, Action], *, read_back: bool) -> Callable[..., Awaitable[None]]:
        """A ping callback running the action of its minute, logged as the peer logs it (``read_back``: ``after``)."""

        async def on_ping(symbol: str, data: Any, price: float, when: datetime, backtest: bool) -> None:
            action = actions.get(_fmt(when))
            if action is None:
                return
            entry = {"cb": label, "t": _fmt(when), "price": price, "avg": await ws.get_average_price(symbol)}
            result = await action(symbol, {"data": data, "price": price, "when": when})
            if result is not None:
                entry["result"] = result
            if read_back:
                entry["after"] = await _snap(symbol)
            log.append(entry)

        return on_ping

    async def breakeven(symbol: str, data: Any, price: float, when: datetime, backtest: bool) -> None:
        entry: dict[str, Any] = {
            "cb": "onBreakeven",
            "t": _fmt(when),
            "price": price,
            "avg": await ws.get_average_price(symbol),
            "dataPriceOpen": data.price_open,
        }
        if on_breakeven is not None:
            entry["result"] = await on_breakeven(symbol, {"data": data, "price": price, "when": when})
        log.append(entry)

    async def partial_profit(
        symbol: str, data: Any, percent: float, price: float, when: datetime, backtest: bool
    ) -> None:
        if on_partial_profit is not None:
            result = await on_partial_profit(symbol, {"data": data, "pct": percent, "price": price, "when": when})
            log.append({"cb": "onPartialProfit", "t": _fmt(when), "pct": percent, "price": price, "result": result})

    async def close(symbol: str, data: Any, price: float, when: datetime, backtest: bool) -> None:
        if on_close is not None:
            result = await on_close(symbol, {"data": data, "price": price, "when": when})
            log.append({"cb": "onClose", "t": _fmt(when), "result": result})

    async def idle(symbol: str, price: float, when: datetime, backtest: bool) -> None:
        if on_idle is not None:
            result = await on_idle(symbol, {"price": price, "when": when})
            if result is not None:
                log.append({"cb": "onIdle", "t": _fmt(when), "result": result})

    add_ladder_exchange(42000.0, steps)
    add_frame()
    add_strategy(
        get_signal,
        callbacks={
            "on_active_ping": pinged("onActivePing", ping, read_back=True),
            "on_schedule_ping": pinged("onSchedulePing", sping, read_back=False),
            "on_breakeven": breakeven,
            "on_partial_profit": partial_profit,
            "on_close": close,
            "on_idle": idle,
        },
    )
    unsubscribe = ws.listen_commit(lambda event: commits.append(_commit(event)))
    try:
        results = asyncio.run(collect())
    finally:
        unsubscribe()
    record: dict[str, Any] = {
        "name": name,
        "results": [_result(r) for r in results],
        "log": log,
        "commitEvents": commits,
        "getSignalCalls": len(signal_times),
        "errors": [],
    }
    if every_call:
        record["getSignalTimes"] = signal_times
    return record


def _check(record: dict[str, Any]) -> dict[str, Any]:
    """Assert the record equals the peer's, part by part (the first difference is the one reported)."""
    expected = _peer()[record["name"]]
    for part in ("results", "log", "commitEvents", "getSignalCalls", "getSignalTimes"):
        assert record.get(part) == expected.get(part), part
    return record


async def _breakeven_check(sym: str, ctx: dict[str, Any]) -> dict[str, bool]:
    return {"getBreakeven": await ws.get_breakeven(sym, ctx["price"]), "commit": await ws.commit_breakeven(sym)}


async def _entries_and_partials(sym: str, ctx: dict[str, Any]) -> dict[str, Any]:
    return {"entries": await ws.get_position_entries(sym), "partials": await ws.get_position_partials(sym)}


async def _pause(sym: str, ctx: dict[str, Any]) -> dict[str, Any]:
    await ws.set_strategy_paused(sym, True)
    return {"paused": await ws.get_strategy_paused(sym), "pnl": ctx["data"].pnl.pnl_percentage}


async def _resume_at_00_40(sym: str, ctx: dict[str, Any]) -> str | None:
    if _fmt(ctx["when"]) != "00:40":
        return None
    await ws.set_strategy_paused(sym, False)
    return "resumed"


async def _revenue_percent(sym: str, ctx: dict[str, Any]) -> dict[str, float]:
    return {"revenuePercent": ctx["pct"]}


#: The scenarios of ``examples.mjs``: candles, signal and the commands issued at each minute.
EXAMPLES: dict[str, dict[str, Any]] = {
    "E1-partial-profit-then-tp": dict(
        steps={15: 42200, 30: 42500},
        signal=L,
        ping={
            "00:20": lambda sym, ctx: ws.commit_partial_profit(sym, 40),
            "00:25": lambda sym, ctx: ws.commit_partial_profit(sym, 50),
        },
    ),
    "E2-dca-then-stop": dict(
        steps={15: 41800, 40: 41500},
        signal=L,
        ping={
            "00:25": lambda sym, ctx: ws.commit_average_buy(sym),
            "00:26": lambda sym, ctx: ws.commit_average_buy(sym),
        },
    ),
    "E3-trailing-stop": dict(
        steps={15: 42300, 40: 42050},
        signal=L,
        ping={
            "00:25": lambda sym, ctx: ws.commit_trailing_stop(sym, -0.5, 42300),
            "00:26": lambda sym, ctx: ws.commit_trailing_stop(sym, -0.3, 42300),
            "00:27": lambda sym, ctx: ws.commit_trailing_stop(sym, -1.2, 42300),
            "00:28": lambda sym, ctx: ws.commit_trailing_stop(sym, -1.8, 42300),
        },
    ),
    "E4-breakeven": dict(
        steps={15: 42300, 30: 41995},
        signal=L,
        on_breakeven=lambda sym, ctx: ws.commit_breakeven(sym),
        ping={"00:20": _breakeven_check},
    ),
    "E5-trailing-take": dict(
        steps={15: 42200, 40: 42250},
        signal=L,
        ping={
            "00:30": lambda sym, ctx: ws.commit_trailing_take(sym, -0.5, 42200),
            "00:31": lambda sym, ctx: ws.commit_trailing_take(sym, -0.2, 42200),
        },
    ),
    "E6-close-pending": dict(
        steps={15: 42100},
        signal=L,
        ping={
            "00:30": lambda sym, ctx: ws.commit_close_pending(sym, id="c1", note="manual"),
            "00:31": lambda sym, ctx: ws.commit_partial_profit(sym, 10),
        },
    ),
    "E7-activate-scheduled": dict(
        signal=LL,
        sping={"00:20": lambda sym, ctx: ws.commit_activate_scheduled(sym, id="a1")},
    ),
    "E8-cancel-scheduled": dict(
        signal=LL,
        sping={"00:20": lambda sym, ctx: ws.commit_cancel_scheduled(sym, id="k1")},
    ),
    "E9-full-close-by-partials": dict(
        steps={15: 42200},
        signal=L,
        ping={
            "00:20": lambda sym, ctx: ws.commit_partial_profit(sym, 60),
            "00:21": lambda sym, ctx: ws.commit_partial_profit_cost(sym, 40),
        },
    ),
    "E10-dca-partials-pnl": dict(
        steps={15: 41800, 30: 42200, 45: 42500},
        signal=L,
        ping={
            "00:22": lambda sym, ctx: ws.commit_partial_loss(sym, 25),
            "00:25": lambda sym, ctx: ws.commit_average_buy(sym, 50),
            "00:36": lambda sym, ctx: ws.commit_partial_profit_cost(sym, 50),
            "00:40": _entries_and_partials,
        },
    ),
    "E11-short-cost-variants": dict(
        steps={15: 41700, 30: 41900},
        signal=S,
        ping={
            "00:20": lambda sym, ctx: ws.commit_trailing_stop_cost(sym, 41950),
            "00:21": lambda sym, ctx: ws.commit_trailing_take_cost(sym, 41650),
            "00:22": lambda sym, ctx: ws.commit_partial_profit_cost(sym, 30),
        },
    ),
    "E12-pause": dict(
        steps={12: 41500},
        every_call=True,
        signal=lambda p: {
            "position": "long",
            "price_take_profit": p * 1.01,
            "price_stop_loss": p * 0.99,
            "minute_estimated_time": 60,
        },
        on_close=_pause,
        on_idle=_resume_at_00_40,
    ),
    "E13-B1-progress": dict(
        steps={20: 42500},
        signal=L,
        on_partial_profit=_revenue_percent,
    ),
    "E14-commit-price-is-previous-vwap": dict(
        steps={15: 42050, 16: 42100, 17: 42150, 18: 42200, 19: 42250, 20: 42300},
        signal=L,
        ping={"00:19": lambda sym, ctx: ws.commit_partial_profit(sym, 50)},
    ),
}


def _example(name: str) -> dict[str, Any]:
    """Run the example ``name`` and check it against the peer's record."""
    return _check(_scenario(name, **EXAMPLES[name]))


def _closed(record: dict[str, Any]) -> dict[str, Any]:
    closed = [r for r in record["results"] if r["action"] in ("closed", "cancelled")]
    return closed[0]


def test_e1_partial_profits_then_take_profit() -> None:
    record = _example("E1-partial-profit-then-tp")
    closed = _closed(record)
    assert (closed["reason"], closed["t"], closed["currentPrice"]) == ("take_profit", "00:33", 42420)
    assert [(p["percent"], p["costBasisAtClose"]) for p in closed["partials"]] == [(40, 100), (50, 60)]
    assert closed["partialExecuted"] == 70
    assert closed["pnl"]["pnlPercentage"] == 0.23183546453550524
    assert [(e["cb"], e["t"]) for e in record["log"]][-1] == ("onBreakeven", "00:30")


def test_e2_averaging_in_then_stop_loss() -> None:
    record = _example("E2-dca-then-stop")
    assert [entry["result"] for entry in record["log"]] == [True, False]
    closed = _closed(record)
    assert closed["priceOpen"] == 41899.761336515505
    assert closed["pnl"]["pnlPercentage"] == -1.1604718702350083
    assert (closed["pnl"]["pnlCost"], closed["pnl"]["pnlEntries"]) == (-2.3209437404700166, 200)


def test_e3_trailing_stop() -> None:
    record = _example("E3-trailing-stop")
    pings = [e for e in record["log"] if e["cb"] == "onActivePing"]
    assert [(e["result"], e["after"]["sl"]) for e in pings] == [
        (True, 41790.0),
        (False, 41790.0),
        (True, 42084.0),
        (False, 42084.0),
    ]
    closed = _closed(record)
    assert (closed["reason"], closed["currentPrice"]) == ("stop_loss", 42084.0)
    assert closed["pnl"]["pnlPercentage"] == -0.2001996003995719


def test_e4_breakeven() -> None:
    record = _example("E4-breakeven")
    assert [(e["cb"], e["t"], e["result"]) for e in record["log"]] == [
        ("onBreakeven", "00:19", False),
        ("onActivePing", "00:20", {"getBreakeven": True, "commit": True}),
    ]
    closed = _closed(record)
    assert (closed["reason"], closed["t"], closed["sl"]) == ("stop_loss", "00:30", 41999.99999999999)
    assert closed["pnl"]["pnlPercentage"] == -0.3996003996003824


def test_e5_trailing_take_profit() -> None:
    record = _example("E5-trailing-take")
    assert [(e["result"], e["after"]["tp"]) for e in record["log"]] == [(True, 42210.0), (False, 42210.0)]
    closed = _closed(record)
    assert (closed["reason"], closed["t"], closed["currentPrice"]) == ("take_profit", "00:40", 42210.0)
    assert closed["pnl"]["pnlPercentage"] == 0.0989015984016352


def test_e6_close_by_hand_at_the_next_candle() -> None:
    record = _example("E6-close-pending")
    closed = _closed(record)
    assert (closed["reason"], closed["t"], closed["currentPrice"]) == ("closed", "00:31", 42100)
    assert closed["pnl"]["pnlPercentage"] == -0.16221849578988634
    assert record["commitEvents"] == [{"action": "close-pending", "t": "00:31"}]
    assert [e["t"] for e in record["log"]] == ["00:30"]


def test_e7_activate_a_waiting_order() -> None:
    record = _example("E7-activate-scheduled")
    assert [(r["action"], r["t"]) for r in record["results"]] == [
        ("scheduled", "00:00"),
        ("opened", "00:21"),
        ("closed", "02:21"),
    ]
    closed = _closed(record)
    assert (closed["priceOpen"], closed["entries"]) == (41800, [{"price": 41800, "cost": 100, "t": "00:10"}])
    assert closed["pnl"]["pnlPercentage"] == 0.07743500518621182
    assert record["commitEvents"] == [{"action": "activate-scheduled", "t": "00:21", "price": 42000}]


def test_e8_cancel_a_waiting_order() -> None:
    record = _example("E8-cancel-scheduled")
    cancelled = _closed(record)
    assert (cancelled["action"], cancelled["reason"], cancelled["t"]) == ("cancelled", "user", "00:21")
    assert (cancelled["currentPrice"], cancelled["pendingAt"]) == (42000, 0)


def test_e9_full_close_by_partial_closes() -> None:
    record = _example("E9-full-close-by-partials")
    closed = _closed(record)
    assert (closed["reason"], closed["t"], closed["partialExecuted"]) == ("closed", "00:22", 100)
    assert closed["pnl"]["pnlPercentage"] == 0.07516340802059243
    assert record["log"][-1]["after"] is None


def test_e10_averaging_and_partial_closes_together() -> None:
    record = _scenario("E10-dca-partials-pnl", **EXAMPLES["E10-dca-partials-pnl"])
    # The 00:40 getter records carry our snake_case keys: compare them field by field with the peer's.
    getters = record["log"][-1]
    expected_getters = _peer()["E10-dca-partials-pnl"]["log"][-1]["result"]
    assert getters["result"]["entries"] == expected_getters["entries"]
    assert [
        {
            "type": p["type"],
            "percent": p["percent"],
            "currentPrice": p["current_price"],
            "costBasisAtClose": p["cost_basis_at_close"],
            "entryCountAtClose": p["entry_count_at_close"],
            "timestamp": p["timestamp"],
        }
        for p in getters["result"]["partials"]
    ] == expected_getters["partials"]
    getters["result"] = expected_getters
    _check(record)
    after_buy = record["log"][1]["after"]
    assert (after_buy["eff"], after_buy["held"], after_buy["remaining"]) == (41919.770773638964, 83.33333333333334, 125)
    closed = _closed(record)
    assert (closed["reason"], closed["t"], closed["partialExecuted"]) == ("take_profit", "00:48", 50)
    assert (closed["pnl"]["pnlPercentage"], closed["pnl"]["pnlCost"]) == (0.3382976516989842, 0.5074464775484763)


def test_e11_short_position_price_variants() -> None:
    record = _example("E11-short-cost-variants")
    assert [e.get("percentShift") for e in record["commitEvents"]] == [-1.1190476190476193, -0.16666666666666674, None]
    closed = _closed(record)
    assert (closed["sl"], closed["tp"], closed["reason"], closed["t"]) == (41950.0, 41650.0, "time_expired", "02:10")
    assert closed["pnl"]["pnlPercentage"] == -0.01830363697030918


def test_e12_pause_and_resume() -> None:
    record = _example("E12-pause")
    assert record["getSignalTimes"] == ["00:10", "00:41"]
    assert _closed(record)["pnl"]["pnlPercentage"] == -1.3966043956043657


def test_e13_progress_is_reported_on_every_profit_candle() -> None:
    record = _example("E13-B1-progress")
    progress = [e for e in record["log"] if e["cb"] == "onPartialProfit"]
    assert [e["pct"] for e in progress] == [1.7323708605198331e-12] * 10 + [
        23.80952380952513,
        47.61904761904853,
        71.42857142857191,
        95.23809523809533,
    ]
    assert [e["t"] for e in progress][:2] == ["00:10", "00:11"]
    closed = _closed(record)
    assert (closed["reason"], closed["t"]) == ("take_profit", "00:24")


def test_e14_commands_book_at_the_previous_minutes_price() -> None:
    record = _example("E14-commit-price-is-previous-vwap")
    assert (record["log"][0]["price"], record["log"][0]["avg"]) == (42150, 42100)
    assert [(p["price"], p["t"]) for p in _closed(record)["partials"]] == [(42100, "00:19")]


#: What backtest-kit 19.5.0 printed for two more scenarios of the ``examples.mjs`` harness (short ``S``, a step to
#: 84000 at 00:20, ``commitTrailingStop(symbol, shift, price)`` from the 00:15 ping): a first trailing move loosens the
#: stop to about twice the entry; beyond the liquidation price (83706.54520304872, P15.3) the position is liquidated
#: there (P3 step 5), short of it it stops out at its stop.
LIQUIDATION_RESULTS = {
    99.5: {
        "action": "closed", "t": "00:20", "reason": "liquidation", "currentPrice": 83706.54520304872,
        "sl": 84209.99999999999, "pnl": {"pnlPercentage": -100.00000000000006, "pnlCost": -100.00000000000007},
    },
    98: {
        "action": "closed", "t": "00:20", "reason": "stop_loss", "currentPrice": 83580,
        "sl": 83580, "pnl": {"pnlPercentage": -99.6977967967968, "pnlCost": -99.6977967967968},
    },
}  # fmt: skip


@pytest.mark.parametrize("shift", [99.5, 98])
def test_p3_a_stop_trailed_past_the_liquidation_price_is_liquidated_there(shift: float) -> None:
    record = _scenario(
        f"liquidation-{shift}",
        steps={20: 84000},
        signal=S,
        ping={"00:15": lambda sym, ctx: ws.commit_trailing_stop(sym, shift, ctx["price"])},
    )

    assert record["log"][0]["result"] is True
    closed = _closed(record)
    expected = LIQUIDATION_RESULTS[shift]
    assert {key: closed[key] for key in ("action", "t", "reason", "currentPrice", "sl")} == {
        key: expected[key] for key in ("action", "t", "reason", "currentPrice", "sl")
    }
    assert (closed["pnl"]["pnlPercentage"], closed["pnl"]["pnlCost"]) == (
        expected["pnl"]["pnlPercentage"],
        expected["pnl"]["pnlCost"],
    )


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("commit_partial_profit", lambda: ws.commit_partial_profit(SYMBOL, 10)),
        ("commit_trailing_stop_cost", lambda: ws.commit_trailing_stop_cost(SYMBOL, 41000)),
        ("commit_close_pending", lambda: ws.commit_close_pending(SYMBOL)),
        ("set_strategy_paused", lambda: ws.set_strategy_paused(SYMBOL, True)),
        ("get_position_effective_price", lambda: ws.get_position_effective_price(SYMBOL)),
    ],
)
def test_a_command_outside_a_strategy_needs_an_execution_context(name: str, call: Callable[[], Any]) -> None:
    with pytest.raises(ws.ContextError) as raised:
        asyncio.run(call())
    assert str(raised.value) == f"{name} requires an execution context"


def test_a_throwing_getter_while_flat_names_the_run() -> None:
    errors: list[str] = []

    async def get_signal(symbol: str, when: datetime) -> None:
        assert await ws.commit_partial_profit(symbol, 10) is False
        assert await ws.get_position_entries(symbol) is None
        try:
            await ws.get_position_effective_price(symbol)
        except ws.ContextError as error:
            errors.append(str(error))

    add_ladder_exchange()
    add_frame(10, 11)
    add_strategy(get_signal)
    asyncio.run(collect())
    assert errors == [
        "get_position_effective_price no pending signal for symbol=BTCUSDT strategy_name=one-shot "
        "exchange_name=ladder frame_name=F"
    ]


def test_p17_pings_breakeven_and_commit_events_of_e4() -> None:
    events = Recorder("active_ping", "breakeven_available", "commit")
    _example("E4-breakeven")
    # Every open minute that did not close the position, 00:10 to 00:29; the stop-out at 00:30 has none.
    assert [e.timestamp for e in events["active_ping"]] == [ts(minute) for minute in range(10, 30)]
    assert [(e.timestamp, e.current_price) for e in events["breakeven_available"]] == [(ts(19), 42300.0)]
    [commit] = events["commit"]
    assert (commit.action, commit.when, commit.timestamp, commit.current_price) == ("breakeven", ts(20), ts(20), 42300)
    assert (commit.signal.price_stop_loss, commit.signal.original_price_stop_loss) == (41999.99999999999, 41580.0)
    assert (commit.symbol, commit.strategy_name, commit.backtest) == ("BTCUSDT", "one-shot", True)


def test_p17_pause_events_of_e12() -> None:
    events = Recorder("pause")
    _example("E12-pause")
    assert [(e.paused, e.timestamp) for e in events["pause"]] == [(True, ts(12)), (False, ts(40)), (True, hm(1, 41))]


def test_p18_bad_input_is_refused_and_changes_nothing() -> None:
    events = Recorder("commit", "error")
    refused: dict[str, bool] = {}
    snapshots: list[dict[str, Any] | None] = []

    async def bad_commands(sym: str, ctx: dict[str, Any]) -> None:
        snapshots.append(await _snap(sym))
        nan, inf = float("nan"), float("inf")
        refused["percent above 100"] = await ws.commit_partial_profit(sym, 150)
        refused["percent 0"] = await ws.commit_partial_profit(sym, 0)
        refused["percent NaN"] = await ws.commit_partial_profit(sym, nan)
        refused["loss while in profit"] = await ws.commit_partial_loss(sym, 10)
        refused["dollars infinite"] = await ws.commit_partial_profit_cost(sym, inf)
        refused["shift NaN"] = await ws.commit_trailing_stop(sym, nan, 42200)
        refused["shift 0"] = await ws.commit_trailing_stop(sym, 0, 42200)
        refused["price infinite"] = await ws.commit_trailing_stop(sym, -0.5, inf)
        refused["stop above the price"] = await ws.commit_trailing_stop_cost(sym, 42300)
        refused["take below the price"] = await ws.commit_trailing_take_cost(sym, 42100)
        refused["no new low"] = await ws.commit_average_buy(sym)
        refused["other symbol"] = await ws.commit_partial_profit("ETHUSDT", 10)
        snapshots.append(await _snap(sym))

    _scenario("bad-input", steps={15: 42200}, signal=L, ping={"00:20": bad_commands})
    assert refused == dict.fromkeys(refused, False)
    assert len(refused) == 12
    assert snapshots[0] == snapshots[1]
    assert snapshots[0] is not None and snapshots[0]["held"] == 100
    assert events["commit"] == []
    assert events["error"] == []


def test_an_entry_cost_that_is_not_a_positive_number_is_refused() -> None:
    """19.5 does not check the cost of an averaging entry (P6); a NaN or negative one would corrupt the money held."""
    refused: dict[str, bool] = {}
    snapshots: list[dict[str, Any] | None] = []

    async def buys(sym: str, ctx: dict[str, Any]) -> None:
        snapshots.append(await _snap(sym))
        for label, cost in (("NaN", float("nan")), ("infinite", float("inf")), ("zero", 0.0), ("negative", -50.0)):
            refused[label] = await ws.commit_average_buy(sym, cost)
        snapshots.append(await _snap(sym))
        refused["$50 at a new low"] = await ws.commit_average_buy(sym, 50)

    _scenario("bad-cost", steps={15: 41800}, signal=L, ping={"00:25": buys})
    assert refused == {"NaN": False, "infinite": False, "zero": False, "negative": False, "$50 at a new low": True}
    assert snapshots[0] == snapshots[1]


def test_a_command_from_on_open_takes_the_strategy_off_the_vectorised_scan() -> None:
    async def on_open(symbol: str, row: Any, price: float, when: datetime, backtest: bool) -> None:
        assert await ws.commit_trailing_stop(symbol, -0.5, price) is True

    add_ladder_exchange(42000.0, {15: 41700})
    add_frame()
    add_strategy(OneShot(signal(L)), callbacks={"on_open": on_open})
    results = asyncio.run(collect())
    closed = results[-1]
    # Without the command the stop (41580) is never touched and the position expires at 02:10.
    assert (closed.close_reason, closed.close_timestamp, closed.current_price) == ("stop_loss", ts(15), 41790.0)
    assert (closed.signal.price_stop_loss, closed.signal.original_price_stop_loss) == (41790.0, 41580.0)

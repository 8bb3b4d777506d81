"""SPEC §19.3 R1-R3: partial profit/loss levels in backtest (event time = candle time)."""

from __future__ import annotations

from typing import Any

import workstation as ws

from .fixtures import LL, L, Recorder, run_backtest, ts

SIGNAL_ID = "one-shot:BTCUSDT:1704067800000"


def _levels(events: list[Any]) -> list[tuple[int, int]]:
    return [(e.level, e.timestamp) for e in events]


def _recording_callbacks(calls: dict[str, list[float]]) -> dict[str, Any]:
    return {
        "on_partial_profit": lambda symbol, row, percent, price, when, backtest: calls["profit"].append(percent),
        "on_partial_loss": lambda symbol, row, percent, price, when, backtest: calls["loss"].append(percent),
    }


def test_r1_profit_levels_of_b1() -> None:
    events = Recorder("partial_profit", "partial_loss")
    calls: dict[str, list[float]] = {"profit": [], "loss": []}
    run = run_backtest(L, steps={20: 42500}, callbacks=_recording_callbacks(calls))

    assert run.actions == ["opened", "closed"]
    assert _levels(events["partial_profit"]) == [
        (10, ts(20)),
        (20, ts(20)),
        (30, ts(21)),
        (40, ts(21)),
        (50, ts(22)),
        (60, ts(22)),
        (70, ts(22)),
        (80, ts(23)),
        (90, ts(23)),
    ]
    assert [e.current_price for e in events["partial_profit"]] == [42100.0] * 2 + [42200.0] * 2 + [42300.0] * 3 + [
        42400.0
    ] * 2
    for event in events["partial_profit"]:
        assert (event.symbol, event.strategy_name, event.exchange_name, event.frame_name) == (
            "BTCUSDT",
            "one-shot",
            "ladder",
            "F",
        )
        assert event.backtest is True
        assert event.signal.id == SIGNAL_ID
    # backtest-kit 19.5 (SPEC-position P14, P20 E13): progress from the effective entry, one ulp below 42000, on every
    # profit-branch candle, so the flat minutes 00:10 to 00:19 report a tiny progress too.
    assert calls["profit"] == [1.7323708605198331e-12] * 10 + [
        23.80952380952513,
        47.61904761904853,
        71.42857142857191,
        95.23809523809533,
    ]
    assert events["partial_loss"] == []
    assert calls["loss"] == []


def test_r2_profit_levels_after_a_fill() -> None:
    events = Recorder("partial_profit", "partial_loss")
    run = run_backtest(LL, steps={15: 41800, 25: 42400})

    assert run.actions == ["scheduled", "opened", "closed"]
    assert _levels(events["partial_profit"]) == [
        (10, ts(16)),
        (20, ts(16)),
        (30, ts(26)),
        (40, ts(26)),
        (50, ts(27)),
        (60, ts(27)),
        (70, ts(27)),
        (80, ts(28)),
        (90, ts(28)),
    ]
    # At 00:16 the VWAP still holds three pre-fill candles: 41920.0, 24 % of the way to TP.
    assert [e.current_price for e in events["partial_profit"][:2]] == [41920.0, 41920.0]
    assert events["partial_loss"] == []


def test_r3_loss_levels_and_constants() -> None:
    events = Recorder("partial_profit", "partial_loss")
    calls: dict[str, list[float]] = {"profit": [], "loss": []}
    run = run_backtest(
        {
            "position": "long",
            "price_open": 42100.0,
            "price_take_profit": 42600.0,
            "price_stop_loss": 41800.0,
            "minute_estimated_time": 30,
        },
        callbacks=_recording_callbacks(calls),
    )

    assert run.actions == ["opened", "closed"]
    assert _levels(events["partial_loss"]) == [(10, ts(10)), (20, ts(10)), (30, ts(10))]
    assert [e.current_price for e in events["partial_loss"]] == [42000.0] * 3
    assert events["partial_profit"] == []
    # on_partial_loss runs on every evaluation of the open phase (00:10 ... 00:39), not deduplicated.
    assert calls["loss"] == [33.33333333333333] * 30
    assert calls["profit"] == []

    assert (ws.Constant.TP_LEVEL1, ws.Constant.TP_LEVEL2, ws.Constant.TP_LEVEL3) == (30, 60, 90)
    assert (ws.Constant.SL_LEVEL1, ws.Constant.SL_LEVEL2) == (40, 80)

"""SPEC §19.5 W1-W2 and the rest of §12: the walker compares the two SMA-cross strategies on the 1-day file."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs
import pytest
from data_paths import BTC_1D_CSV

import workstation as ws
from workstation.examples.sma_cross import make_strategy
from workstation.timeutil import from_ms

from .fixtures import Recorder, hm

SYMBOL = "BTCUSDT"
MARKET = "sma-cross-market"
LIMIT = "sma-cross-limit"
EXCHANGE = "csv-exchange"
FRAME = "btc-1d"
WALKER = "w"

#: The walks rank by the average PnL: below 10 trades backtest-kit 19.5 gives no Sharpe ratio (SPEC-statistics).
MARKET_METRIC = -0.0655323985323902
LIMIT_METRIC = -0.4167518537038209
MARKET_TOTAL_PNL = -0.3931943911943412
LIMIT_TOTAL_PNL = -2.0837592685191044
MARKET_PNLS = [
    -1.396604395604392,
    -1.3966043956043943,
    0.5974035964036062,
    0.6026036036036266,
    0.597403596403602,
    0.6026036036036105,
]
LIMIT_PNLS = [-1.3966043956043763, -0.4905576773175623, -1.396604395604382, 0.5974035964036046, 0.6026036036036115]

STREAMS = (
    "walker",
    "walker_complete",
    "walker_stop",
    "progress_walker",
    "done_walker",
    "done_backtest",
    "error",
)


def register_w1(
    strategies: tuple[str, ...] = (MARKET, LIMIT),
    *,
    callbacks: Mapping[str, Any] | None = None,
    metric: str = "avg_pnl",
) -> None:
    """Register ``csv-exchange`` on btc_1d, the two SMA-cross strategies, frame 01:00-17:59 and walker ``w``."""
    ws.add_exchange(ws.make_csv_exchange(EXCHANGE, BTC_1D_CSV))
    ws.add_strategy(make_strategy({"variant": "market"}))
    ws.add_strategy(make_strategy({"variant": "limit"}))
    ws.add_frame(
        frame_name=FRAME,
        interval="1m",
        start_date=from_ms(hm(1, 0)),
        end_date=from_ms(hm(17, 59)),
    )
    ws.add_walker(
        walker_name=WALKER,
        exchange_name=EXCHANGE,
        frame_name=FRAME,
        strategies=list(strategies),
        metric=metric,
        callbacks=dict(callbacks or {}),
    )


def logging_callbacks(log: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Walker callbacks that append ``(name, *args)`` to ``log``."""

    def on_strategy_start(strategy_name: str, symbol: str) -> None:
        log.append(("start", strategy_name, symbol))

    async def on_strategy_complete(strategy_name: str, symbol: str, stats: Any, metric_value: Any) -> None:
        log.append(("complete", strategy_name, symbol, stats.total_pnl, metric_value))

    def on_strategy_error(strategy_name: str, symbol: str, error: Exception) -> None:
        log.append(("error", strategy_name, symbol, type(error).__name__, str(error)))

    def on_complete(results: Any) -> None:
        log.append(("on_complete", results.best_strategy, results.best_metric, results.strategies_tested))

    return {
        "on_strategy_start": on_strategy_start,
        "on_strategy_complete": on_strategy_complete,
        "on_strategy_error": on_strategy_error,
        "on_complete": on_complete,
    }


async def walk(symbol: str = SYMBOL, walker_name: str = WALKER) -> list[ws.WalkerContract]:
    """Consume ``ws.Walker.run`` and return every yielded contract."""
    return [contract async for contract in ws.Walker.run(symbol, walker_name=walker_name)]


def test_w1_compares_both_strategies_and_picks_the_best() -> None:
    log: list[tuple[Any, ...]] = []
    register_w1(callbacks=logging_callbacks(log))
    recorded = Recorder(*STREAMS)

    contracts = asyncio.run(walk())

    assert [c.strategy_name for c in contracts] == [MARKET, LIMIT]
    assert [c.metric_value for c in contracts] == [MARKET_METRIC, LIMIT_METRIC]
    assert [c.stats.total_pnl for c in contracts] == [MARKET_TOTAL_PNL, LIMIT_TOTAL_PNL]
    assert [[r.pnl.pnl_percentage for r in c.stats.signal_list] for c in contracts] == [MARKET_PNLS, LIMIT_PNLS]
    assert [(c.best_strategy, c.best_metric) for c in contracts] == [(MARKET, MARKET_METRIC)] * 2
    assert [(c.strategies_tested, c.total_strategies) for c in contracts] == [(1, 2), (2, 2)]
    assert {(c.walker_name, c.exchange_name, c.frame_name, c.symbol, c.metric) for c in contracts} == {
        (WALKER, EXCHANGE, FRAME, SYMBOL, "avg_pnl")
    }
    assert recorded["walker"] == contracts
    assert log == [
        ("start", MARKET, SYMBOL),
        ("complete", MARKET, SYMBOL, MARKET_TOTAL_PNL, MARKET_METRIC),
        ("start", LIMIT, SYMBOL),
        ("complete", LIMIT, SYMBOL, LIMIT_TOTAL_PNL, LIMIT_METRIC),
        ("on_complete", MARKET, MARKET_METRIC, 2),
    ]
    assert recorded["progress_walker"] == [
        ws.WalkerProgress(
            walker_name=WALKER,
            exchange_name=EXCHANGE,
            frame_name=FRAME,
            symbol=SYMBOL,
            total_strategies=2,
            processed_strategies=tested,
            progress=progress,
        )
        for tested, progress in ((1, 0.5), (2, 1.0))
    ]
    [results] = recorded["walker_complete"]
    assert results == ws.WalkerResults(
        walker_name=WALKER,
        symbol=SYMBOL,
        exchange_name=EXCHANGE,
        frame_name=FRAME,
        metric="avg_pnl",
        total_strategies=2,
        strategies_tested=2,
        best_strategy=MARKET,
        best_metric=MARKET_METRIC,
        best_stats=contracts[0].stats,
    )
    assert recorded["done_backtest"] == []
    assert recorded["done_walker"] == []
    assert recorded["walker_stop"] == []
    assert recorded["error"] == []


def test_w1_each_strategy_keeps_its_backtest_data() -> None:
    register_w1()
    contracts = asyncio.run(walk())

    async def read() -> tuple[Any, Any, Any, Any]:
        market = await ws.Backtest.get_data(SYMBOL, MARKET)
        limit = await ws.Backtest.get_data(SYMBOL, LIMIT)
        return market, limit, await ws.Backtest.get_series(SYMBOL, MARKET), await ws.Backtest.get_series(SYMBOL, LIMIT)

    market, limit, market_series, limit_series = asyncio.run(read())
    assert (market, limit) == (contracts[0].stats, contracts[1].stats)
    assert (market.total_signals, limit.total_signals) == (6, 5)
    assert market_series.trade_pnl.tolist() == MARKET_PNLS
    assert limit_series.trade_pnl.tolist() == LIMIT_PNLS
    assert (market_series.frame_start, market_series.frame_end) == (hm(1, 0), hm(17, 59))


def test_w1_get_data_lists_the_strategies_in_completion_order() -> None:
    register_w1()
    contracts = asyncio.run(walk())

    data = asyncio.run(ws.Walker.get_data(SYMBOL, WALKER))
    assert isinstance(data, ws.WalkerStatistics)
    assert data.strategy_results == [
        ws.WalkerStrategyResult(strategy_name=MARKET, stats=contracts[0].stats, metric_value=MARKET_METRIC),
        ws.WalkerStrategyResult(strategy_name=LIMIT, stats=contracts[1].stats, metric_value=LIMIT_METRIC),
    ]
    assert (data.best_strategy, data.best_metric, data.strategies_tested, data.total_strategies) == (
        MARKET,
        MARKET_METRIC,
        2,
        2,
    )
    assert data.best_stats == contracts[0].stats
    assert (data.walker_name, data.symbol, data.exchange_name, data.frame_name, data.metric) == (
        WALKER,
        SYMBOL,
        EXCHANGE,
        FRAME,
        "avg_pnl",
    )


W1_REPORT = [
    "# Walker Comparison Report: w",
    "",
    "**Symbol:** BTCUSDT",
    "**Exchange:** csv-exchange",
    "**Frame:** btc-1d",
    "**Optimization Metric:** avg_pnl",
    "**Strategies Tested:** 2",
    "",
    "## Best Strategy: sma-cross-market",
    "",
    "**Best avg_pnl:** -0.07",
    "**Total Signals:** 6",
    "",
    "## Top Strategies Comparison",
    "",
    "| Rank | Strategy | avg_pnl | Total Signals | Win Rate | Avg PNL | Total PNL | Sharpe Ratio | Std Dev |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    "| 1 | sma-cross-market | -0.07 | 6 | 66.67% | -0.07% | -0.39% | N/A | N/A |",
    "| 2 | sma-cross-limit | -0.42 | 5 | 40.00% | -0.42% | -2.08% | N/A | N/A |",
    "",
    "## All Signals (PNL Table)",
    "",
    "| Strategy | Signal ID | Symbol | Position | PNL (net) | Close Reason | Open Time | Close Time |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    "| sma-cross-market | market-1704075900000 | BTCUSDT | LONG | -1.40% | stop_loss | 2024-01-01T02:25:00.000Z"
    " | 2024-01-01T03:53:00.000Z |",
    "| sma-cross-market | market-1704083700000 | BTCUSDT | LONG | -1.40% | stop_loss | 2024-01-01T04:35:00.000Z"
    " | 2024-01-01T06:07:00.000Z |",
    "| sma-cross-market | market-1704092700000 | BTCUSDT | LONG | +0.60% | take_profit | 2024-01-01T07:05:00.000Z"
    " | 2024-01-01T09:53:00.000Z |",
    "| sma-cross-market | market-1704107400000 | BTCUSDT | SHORT | +0.60% | take_profit | 2024-01-01T11:10:00.000Z"
    " | 2024-01-01T14:33:00.000Z |",
    "| sma-cross-market | market-1704126600000 | BTCUSDT | LONG | +0.60% | take_profit | 2024-01-01T16:30:00.000Z"
    " | 2024-01-01T16:45:00.000Z |",
    "| sma-cross-market | market-1704130500000 | BTCUSDT | SHORT | +0.60% | take_profit | 2024-01-01T17:35:00.000Z"
    " | 2024-01-01T17:49:00.000Z |",
    "| sma-cross-limit | limit-1704075900000 | BTCUSDT | LONG | -1.40% | stop_loss | 2024-01-01T02:46:00.000Z"
    " | 2024-01-01T04:07:00.000Z |",
    "| sma-cross-limit | limit-1704083700000 | BTCUSDT | LONG | -0.49% | time_expired | 2024-01-01T05:21:00.000Z"
    " | 2024-01-01T09:21:00.000Z |",
    "| sma-cross-limit | limit-1704109800000 | BTCUSDT | LONG | -1.40% | stop_loss | 2024-01-01T11:58:00.000Z"
    " | 2024-01-01T14:31:00.000Z |",
    "| sma-cross-limit | limit-1704126600000 | BTCUSDT | LONG | +0.60% | take_profit | 2024-01-01T16:30:00.000Z"
    " | 2024-01-01T16:42:00.000Z |",
    "| sma-cross-limit | limit-1704130500000 | BTCUSDT | SHORT | +0.60% | take_profit | 2024-01-01T17:38:00.000Z"
    " | 2024-01-01T17:48:00.000Z |",
    "",
    "**Note:** Higher values are better for all metrics except Standard Deviation (lower is better).",
]


def test_w1_report_line_by_line() -> None:
    register_w1()
    asyncio.run(walk())

    report = asyncio.run(ws.Walker.get_report(SYMBOL, WALKER))
    assert report.split("\n") == W1_REPORT


def test_w1_report_table_keeps_walker_top_n_rows() -> None:
    register_w1()
    asyncio.run(walk())
    ws.set_config(walker_top_n=1)

    lines = asyncio.run(ws.Walker.get_report(SYMBOL, WALKER)).split("\n")
    table = lines[lines.index("## Top Strategies Comparison") + 2 : lines.index("## All Signals (PNL Table)") - 1]
    assert table == W1_REPORT[15:18]
    assert len([line for line in lines if line.startswith("| sma-cross-")]) == 11


def test_w1_dump_writes_the_report(tmp_path: Path) -> None:
    register_w1()
    asyncio.run(walk())

    default = asyncio.run(ws.Walker.dump(SYMBOL, WALKER))
    assert default == Path(platformdirs.user_data_dir("workstation")) / "reports" / "walker" / "BTCUSDT_w.md"
    assert default.read_text(encoding="utf-8") == "\n".join(W1_REPORT)
    chosen = asyncio.run(ws.Walker.dump(SYMBOL, WALKER, tmp_path / "out" / "walk.md"))
    assert chosen == tmp_path / "out" / "walk.md"
    assert chosen.read_text(encoding="utf-8") == "\n".join(W1_REPORT)


def test_w1_metric_total_pnl_ranks_by_total_pnl() -> None:
    register_w1((LIMIT, MARKET), metric="total_pnl")
    contracts = asyncio.run(walk())

    assert [(c.strategy_name, c.metric_value) for c in contracts] == [
        (LIMIT, LIMIT_TOTAL_PNL),
        (MARKET, MARKET_TOTAL_PNL),
    ]
    assert [(c.best_strategy, c.best_metric) for c in contracts] == [
        (LIMIT, LIMIT_TOTAL_PNL),
        (MARKET, MARKET_TOTAL_PNL),
    ]
    lines = asyncio.run(ws.Walker.get_report(SYMBOL, WALKER)).split("\n")
    assert lines[10] == "**Best total_pnl:** -0.39"
    assert lines[17:19] == [
        "| 1 | sma-cross-market | -0.39 | 6 | 66.67% | -0.07% | -0.39% | N/A | N/A |",
        "| 2 | sma-cross-limit | -2.08 | 5 | 40.00% | -0.42% | -2.08% | N/A | N/A |",
    ]


def test_w2_stop_inside_on_strategy_complete_ends_the_walk_after_the_first() -> None:
    log: list[tuple[Any, ...]] = []
    callbacks = logging_callbacks(log)
    record_complete = callbacks["on_strategy_complete"]

    async def on_strategy_complete(strategy_name: str, symbol: str, stats: Any, metric_value: Any) -> None:
        await record_complete(strategy_name, symbol, stats, metric_value)
        await ws.Walker.stop(symbol, WALKER)

    callbacks["on_strategy_complete"] = on_strategy_complete
    register_w1(callbacks=callbacks)
    recorded = Recorder(*STREAMS, "signal_backtest")

    async def main() -> None:
        done = asyncio.Event()
        ws.listen_done_walker(lambda event: done.set())
        stop = ws.Walker.background(SYMBOL, walker_name=WALKER)
        assert ws.Walker.background(SYMBOL, walker_name=WALKER) is stop
        assert [status.status for status in ws.Walker.list()] == ["pending"]
        await asyncio.wait_for(done.wait(), timeout=30)
        await asyncio.sleep(0.05)

    asyncio.run(main())

    assert log == [
        ("start", MARKET, SYMBOL),
        ("complete", MARKET, SYMBOL, MARKET_TOTAL_PNL, MARKET_METRIC),
        ("on_complete", MARKET, MARKET_METRIC, 1),
    ]
    assert {result.strategy_name for result in recorded["signal_backtest"]} == {MARKET}
    assert recorded["walker_stop"] == [
        ws.WalkerStopEvent(symbol=SYMBOL, strategy_name=name, walker_name=WALKER) for name in (MARKET, LIMIT)
    ]
    assert [c.strategy_name for c in recorded["walker"]] == [MARKET]
    assert [p.progress for p in recorded["progress_walker"]] == [0.5]
    [results] = recorded["walker_complete"]
    assert (results.strategies_tested, results.total_strategies, results.best_strategy, results.best_metric) == (
        1,
        2,
        MARKET,
        MARKET_METRIC,
    )
    [done] = recorded["done_walker"]
    assert (done.symbol, done.strategy_name, done.walker_name, done.exchange_name, done.frame_name, done.backtest) == (
        SYMBOL,
        WALKER,
        WALKER,
        EXCHANGE,
        FRAME,
        True,
    )
    assert recorded["done_backtest"] == []
    assert recorded["error"] == []
    assert [(s.symbol, s.strategy_name, s.status) for s in ws.Walker.list()] == [(SYMBOL, WALKER, "fulfilled")]
    data = asyncio.run(ws.Walker.get_data(SYMBOL, WALKER))
    assert [r.strategy_name for r in data.strategy_results] == [MARKET]
    assert data.strategies_tested == 1


def test_stop_while_a_backtest_runs_resolves_its_current_signal_and_reports_it() -> None:
    register_w1()
    recorded = Recorder(*STREAMS, "progress_backtest")
    yielded: list[str] = []

    def on_result(result: Any) -> None:
        yielded.append(f"{result.strategy_name}:{result.action}")
        if result.action == "opened":
            ws.Walker.stop(SYMBOL, WALKER)

    ws.listen_signal_backtest(lambda result: on_result(result) if result.action != "idle" else None)
    contracts = asyncio.run(walk())

    assert yielded == [f"{MARKET}:opened", f"{MARKET}:closed"]
    [contract] = contracts
    assert [r.pnl.pnl_percentage for r in contract.stats.signal_list] == MARKET_PNLS[:1]
    assert (contract.strategy_name, contract.metric_value, contract.best_strategy, contract.strategies_tested) == (
        MARKET,
        MARKET_PNLS[0],
        MARKET,
        1,
    )
    assert recorded["progress_backtest"][-1].progress == 1.0
    assert [p.progress for p in recorded["progress_walker"]] == [0.5]
    [results] = recorded["walker_complete"]
    assert (results.strategies_tested, results.best_strategy, results.best_metric) == (1, MARKET, MARKET_PNLS[0])
    assert len(recorded["walker_stop"]) == 2
    assert recorded["error"] == []


@pytest.mark.parametrize(
    ("symbol", "strategy_name", "walker_name", "tested"),
    [
        (SYMBOL, LIMIT, WALKER, [MARKET]),
        ("ETHUSDT", LIMIT, WALKER, [MARKET, LIMIT]),
        (SYMBOL, LIMIT, "other", [MARKET, LIMIT]),
        (SYMBOL, MARKET, WALKER, [MARKET, LIMIT]),
    ],
)
def test_a_walker_stop_event_for_a_strategy_not_started_ends_the_walk_there(
    symbol: str, strategy_name: str, walker_name: str, tested: list[str]
) -> None:
    def on_strategy_complete(name: str, walked_symbol: str, stats: Any, value: Any) -> None:
        if name == MARKET:
            stop = ws.WalkerStopEvent(symbol=symbol, strategy_name=strategy_name, walker_name=walker_name)
            ws.events.walker_stop.emit(stop)

    register_w1(callbacks={"on_strategy_complete": on_strategy_complete})
    recorded = Recorder(*STREAMS)

    contracts = asyncio.run(walk())

    assert [c.strategy_name for c in contracts] == tested
    [results] = recorded["walker_complete"]
    assert results.strategies_tested == len(tested)


def test_a_stop_before_the_walk_starts_runs_no_strategy() -> None:
    log: list[tuple[Any, ...]] = []
    register_w1(callbacks=logging_callbacks(log))
    recorded = Recorder(*STREAMS)

    async def main() -> None:
        done = asyncio.Event()
        ws.listen_done_walker(lambda event: done.set())
        stop = ws.Walker.background(SYMBOL, walker_name=WALKER)
        await stop()
        await asyncio.wait_for(done.wait(), timeout=30)

    asyncio.run(main())
    assert log == [("on_complete", None, None, 0)]
    assert recorded["walker"] == []
    [results] = recorded["walker_complete"]
    assert (results.strategies_tested, results.best_strategy, results.best_stats) == (0, None, None)
    assert len(recorded["done_walker"]) == 1


def test_a_walk_runs_beside_a_backtest_of_the_same_pair_and_neither_touches_the_other() -> None:
    """Runs never collide (issue 13): a backtest of MARKET on the pair is mid-way when the walk backtests MARKET too.

    The walk no longer fails with ``RunAlreadyActiveError``: both strategies are ranked with their own figures, and
    the standalone run, resumed afterwards, ends with exactly the trades it would have had alone.
    """
    log: list[tuple[Any, ...]] = []
    register_w1(callbacks=logging_callbacks(log))
    recorded = Recorder(*STREAMS)

    async def main() -> tuple[list[ws.WalkerContract], list[ws.ClosedResult], ws.BacktestStatistics]:
        standalone = ws.Backtest.run(SYMBOL, strategy_name=MARKET, exchange_name=EXCHANGE, frame_name=FRAME)
        first = await anext(standalone)
        assert first.action == "opened"
        contracts = await walk()
        rest = [result async for result in standalone]
        closed = [result for result in rest if isinstance(result, ws.ClosedResult)]
        return contracts, closed, await standalone.get_data()

    contracts, closed, standalone_data = asyncio.run(main())

    assert [(c.strategy_name, c.metric_value) for c in contracts] == [(MARKET, MARKET_METRIC), (LIMIT, LIMIT_METRIC)]
    assert contracts[0].stats.total_pnl == MARKET_TOTAL_PNL
    assert [result.pnl.pnl_percentage for result in closed] == MARKET_PNLS
    assert (standalone_data.total_pnl, standalone_data.avg_pnl) == (MARKET_TOTAL_PNL, MARKET_METRIC)
    assert [entry[0] for entry in log] == ["start", "complete", "start", "complete", "on_complete"]
    assert recorded["error"] == []
    [results] = recorded["walker_complete"]
    assert (results.strategies_tested, results.best_strategy, results.best_metric) == (2, MARKET, MARKET_METRIC)


def test_a_failing_walker_callback_is_reported_and_the_walk_goes_on() -> None:
    def on_strategy_start(strategy_name: str, symbol: str) -> None:
        raise RuntimeError(f"cannot start {strategy_name}")

    register_w1(callbacks={"on_strategy_start": on_strategy_start})
    recorded = Recorder(*STREAMS)

    contracts = asyncio.run(walk())

    assert [(c.strategy_name, c.metric_value) for c in contracts] == [(MARKET, MARKET_METRIC), (LIMIT, LIMIT_METRIC)]
    assert [(e.source, e.message, e.strategy_name) for e in recorded["error"]] == [
        ("on_strategy_start", f"cannot start {MARKET}", MARKET),
        ("on_strategy_start", f"cannot start {LIMIT}", LIMIT),
    ]
    assert len(recorded["walker_complete"]) == 1


def test_a_walker_callback_that_exits_ends_the_walk_not_the_application() -> None:
    def on_strategy_start(strategy_name: str, symbol: str) -> None:
        sys.exit(2)

    register_w1(callbacks={"on_strategy_start": on_strategy_start})

    with pytest.raises(ws.StrategyAbortedError) as caught:
        asyncio.run(walk())

    assert str(caught.value) == 'walker "w" raised SystemExit: 2 in on_strategy_start; its run was ended'
    assert (caught.value.strategy_name, caught.value.where) == (MARKET, "on_strategy_start")


def test_a_strategy_without_a_metric_value_never_wins_and_ties_keep_the_earlier() -> None:
    ws.add_strategy(strategy_name="quiet", interval="5m", get_signal=lambda symbol, when: None)
    twin = make_strategy({"variant": "market"}).model_copy(update={"strategy_name": "twin"})
    ws.add_strategy(twin)
    register_w1(("quiet", MARKET, "twin"))

    contracts = asyncio.run(walk())

    assert [(c.strategy_name, c.metric_value, c.best_strategy, c.best_metric) for c in contracts] == [
        ("quiet", None, None, None),
        (MARKET, MARKET_METRIC, MARKET, MARKET_METRIC),
        ("twin", MARKET_METRIC, MARKET, MARKET_METRIC),
    ]
    lines = asyncio.run(ws.Walker.get_report(SYMBOL, WALKER)).split("\n")
    assert [line.split(" | ")[:3] for line in lines[17:20]] == [
        ["| 1", MARKET, "-0.07"],
        ["| 2", "twin", "-0.07"],
        ["| 3", "quiet", "N/A"],
    ]
    assert lines[19] == "| 3 | quiet | N/A | 0 | N/A | N/A | N/A | N/A | N/A |"


def test_the_walk_uses_the_config_of_its_start() -> None:
    async def on_strategy_complete(strategy_name: str, symbol: str, stats: Any, metric_value: Any) -> None:
        ws.set_config(percent_fee=0.2, walker_top_n=5)

    register_w1(callbacks={"on_strategy_complete": on_strategy_complete})
    contracts = asyncio.run(walk())

    assert ws.get_config().percent_fee == 0.2
    assert [c.stats.total_pnl for c in contracts] == [MARKET_TOTAL_PNL, LIMIT_TOTAL_PNL]


@pytest.mark.parametrize(
    ("walker_name", "message"),
    [
        (
            "nope",
            'walker "nope" not found (source: Walker.run); registered: ["w", "bad-exchange", "bad-frame", '
            '"bad-strategy", "bad-risk"]',
        ),
        ("bad-exchange", 'exchange "nope" not found (source: Walker.run); registered: ["csv-exchange"]'),
        ("bad-frame", 'frame "nope" not found (source: Walker.run); registered: ["btc-1d"]'),
        (
            "bad-strategy",
            'strategy "nope" not found (source: Walker.run); registered: ["sma-cross-market", "sma-cross-limit", '
            '"risky"]',
        ),
        ("bad-risk", 'risk "nope" not found (source: Walker.run); registered: []'),
    ],
)
def test_every_name_is_checked_before_anything_starts(walker_name: str, message: str) -> None:
    register_w1()
    asyncio.run(walk())
    ws.add_strategy(
        make_strategy({"variant": "limit"}).model_copy(update={"strategy_name": "risky", "risk_name": "nope"})
    )
    for name, exchange_name, frame_name, strategy_name in (
        ("bad-exchange", "nope", FRAME, LIMIT),
        ("bad-frame", EXCHANGE, "nope", LIMIT),
        ("bad-strategy", EXCHANGE, FRAME, "nope"),
        ("bad-risk", EXCHANGE, FRAME, "risky"),
    ):
        ws.add_walker(
            walker_name=name, exchange_name=exchange_name, frame_name=frame_name, strategies=[MARKET, strategy_name]
        )
    recorded = Recorder(*STREAMS, "signal_backtest", "progress_backtest")

    with pytest.raises(ws.SchemaNotFoundError) as caught:
        ws.Walker.run(SYMBOL, walker_name=walker_name)
    assert str(caught.value) == message

    async def in_background() -> None:
        ws.Walker.background(SYMBOL, walker_name=walker_name)

    with pytest.raises(ws.SchemaNotFoundError) as caught:
        asyncio.run(in_background())
    assert str(caught.value) == message
    assert recorded.total() == 0
    assert [(s.strategy_name, s.status) for s in ws.Walker.list()] == [(WALKER, "ready")]
    assert asyncio.run(ws.Backtest.get_data(SYMBOL, MARKET)).total_pnl == MARKET_TOTAL_PNL
    assert asyncio.run(ws.Walker.get_data(SYMBOL, WALKER)).strategies_tested == 2


def test_a_second_walk_of_the_same_pair_is_refused_while_one_runs() -> None:
    register_w1()

    async def main() -> tuple[list[ws.WalkerContract], Any]:
        running = ws.Walker.run(SYMBOL, walker_name=WALKER)
        first = await anext(running)
        with pytest.raises(ws.RunAlreadyActiveError) as caught:
            ws.Walker.run(SYMBOL, walker_name=WALKER)
        during = await ws.Walker.get_data(SYMBOL, WALKER)
        rest = [contract async for contract in running]
        return [first, *rest], (str(caught.value), during)

    contracts, (message, during) = asyncio.run(main())
    assert message == "Walker run for BTCUSDT:w is already active"
    assert [c.strategy_name for c in contracts] == [MARKET, LIMIT]
    assert (during.strategies_tested, during.best_strategy, during.best_stats) == (1, MARKET, contracts[0].stats)
    assert [r.strategy_name for r in during.strategy_results] == [MARKET]
    again = asyncio.run(walk())
    assert [c.metric_value for c in again] == [MARKET_METRIC, LIMIT_METRIC]
    assert len(asyncio.run(ws.Walker.get_data(SYMBOL, WALKER)).strategy_results) == 2


def test_a_stop_outside_a_walk_only_announces_it_and_the_next_walk_runs_in_full() -> None:
    register_w1()
    recorded = Recorder(*STREAMS)

    ws.Walker.stop(SYMBOL, WALKER)
    assert [(e.symbol, e.strategy_name, e.walker_name) for e in recorded["walker_stop"]] == [
        (SYMBOL, MARKET, WALKER),
        (SYMBOL, LIMIT, WALKER),
    ]
    assert ws.Walker.list() == []
    assert [c.strategy_name for c in asyncio.run(walk())] == [MARKET, LIMIT]

    ws.Walker.stop(SYMBOL, WALKER)
    assert [c.strategy_name for c in asyncio.run(walk())] == [MARKET, LIMIT]
    with pytest.raises(ws.SchemaNotFoundError) as caught:
        ws.Walker.stop(SYMBOL, "nope")
    assert str(caught.value) == 'walker "nope" not found (source: Walker.stop); registered: ["w"]'


def test_nothing_recorded_is_an_error_naming_the_pair() -> None:
    register_w1()
    for read in (ws.Walker.get_data, ws.Walker.get_report, ws.Walker.dump):
        with pytest.raises(ws.WorkstationError) as caught:
            asyncio.run(read(SYMBOL, WALKER))
        assert str(caught.value) == "no walker data for BTCUSDT:w yet"


def test_background_needs_a_running_loop() -> None:
    register_w1()
    with pytest.raises(RuntimeError):
        ws.Walker.background(SYMBOL, walker_name=WALKER)
    assert ws.Walker.list() == []


def test_clear_forgets_walks() -> None:
    register_w1()
    asyncio.run(walk())
    ws.Walker.clear()
    with pytest.raises(ws.WorkstationError):
        asyncio.run(ws.Walker.get_data(SYMBOL, WALKER))
    assert ws.Walker.list() == []

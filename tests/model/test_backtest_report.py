"""Backtest report storage, markdown report and dump (SPEC §11.1, §11.2, §19.3 S4)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import platformdirs
import pytest
from signal_factory import result_fields

from workstation.models.results import ClosedResult, CloseReason, Pnl
from workstation.models.signal import Position, SignalRow
from workstation.reports.backtest import (
    CLOSED_SIGNAL_COLUMNS,
    BacktestReportStorage,
    closed_signal_cells,
    performance_summary_lines,
    report_key,
)
from workstation.reports.dump import default_report_path, dump_report
from workstation.reports.statistics import compute_backtest_statistics

T0 = 1704067200000
MINUTE = 60_000
EMPTY_REPORT = "# Backtest Report: one-shot (BTCUSDT)\n\nNo signals closed yet."


def make_signal(
    signal_id: str,
    *,
    position: Position = "long",
    note: str = "",
    take_profit: float = 42420.0,
    stop_loss: float = 41580.0,
    pending_at: int = T0,
    strategy_name: str = "one-shot",
) -> SignalRow:
    return SignalRow(
        id=signal_id,
        position=position,
        note=note,
        price_open=42000.0,
        price_take_profit=take_profit,
        price_stop_loss=stop_loss,
        minute_estimated_time=1440,
        symbol="BTCUSDT",
        exchange_name="ladder",
        strategy_name=strategy_name,
        frame_name="F",
        scheduled_at=pending_at,
        pending_at=pending_at,
        is_scheduled=False,
    )


def make_closed(
    signal: SignalRow,
    *,
    pnl: float,
    close_timestamp: int,
    close_price: float = 42420.0,
    close_reason: CloseReason = "take_profit",
    backtest: bool = True,
) -> ClosedResult:
    return ClosedResult(
        **(result_fields(signal, close_timestamp, close_price) | {"backtest": backtest}),
        signal=signal,
        close_reason=close_reason,
        close_timestamp=close_timestamp,
        pnl=Pnl(
            pnl_percentage=pnl,
            pnl_cost=pnl,
            pnl_entries=100.0,
            price_open=42000.0,
            price_close=close_price,
            fee_cost=0.2,
        ),
    )


def simple_closed(index: int, *, strategy_name: str = "one-shot", backtest: bool = True) -> ClosedResult:
    signal = make_signal(f"sig-{index}", pending_at=T0 + index * MINUTE, strategy_name=strategy_name)
    return make_closed(signal, pnl=0.5974035964036354, close_timestamp=T0 + (index + 30) * MINUTE, backtest=backtest)


def test_report_key_names_the_mode() -> None:
    assert report_key("BTCUSDT", "one-shot", True) == "BTCUSDT:one-shot:backtest"
    assert report_key("BTCUSDT", "one-shot", False) == "BTCUSDT:one-shot:live"


def test_s4_no_signals() -> None:
    storage = BacktestReportStorage()
    stats = storage.get_data("BTCUSDT", "one-shot")
    assert (stats.total_signals, stats.win_count, stats.loss_count) == (0, 0, 0)
    assert stats.signal_list == []
    assert stats.win_rate is None
    assert stats.sharpe_ratio is None
    assert stats.recovery_factor is None
    assert storage.get_report("BTCUSDT", "one-shot", max_rows=250) == EMPTY_REPORT


def test_s4_three_hundred_closed_signals_show_the_last_250() -> None:
    storage = BacktestReportStorage()
    for index in range(300):
        storage.add_closed(simple_closed(index))

    stats = storage.get_data("BTCUSDT", "one-shot")
    assert stats.total_signals == 300
    assert len(stats.signal_list) == 300
    assert stats.win_count == 300

    lines = storage.get_report("BTCUSDT", "one-shot", max_rows=250).split("\n")
    rows = [line for line in lines if line.startswith("| sig-")]
    assert len(rows) == 250
    assert rows[0].startswith("| sig-50 |")
    assert rows[-1].startswith("| sig-299 |")
    assert lines.count("Showing the last 250 of 300 closed signals.") == 1
    showing = lines.index("Showing the last 250 of 300 closed signals.")
    assert lines[showing - 1] == ""
    assert lines[showing + 1] == "**Total signals:** 300"


def test_no_showing_line_when_every_signal_fits() -> None:
    storage = BacktestReportStorage()
    for index in range(3):
        storage.add_closed(simple_closed(index))
    report = storage.get_report("BTCUSDT", "one-shot", max_rows=3)
    assert "Showing" not in report
    assert report.count("| sig-") == 3
    truncated = storage.get_report("BTCUSDT", "one-shot", max_rows=1)
    assert "Showing the last 1 of 3 closed signals." in truncated.split("\n")


def test_full_report_line_by_line() -> None:
    storage = BacktestReportStorage()
    take_profit = make_signal("sig-1", note="breakout | retest\nsecond line", pending_at=T0 + 10 * MINUTE)
    stop_loss = make_signal(
        "sig-2", position="short", take_profit=41580.0, stop_loss=42420.0, pending_at=T0 + 80 * MINUTE
    )
    storage.add_closed(make_closed(take_profit, pnl=0.5974035964036354, close_timestamp=T0 + 70 * MINUTE))
    storage.add_closed(
        make_closed(
            stop_loss,
            pnl=-1.4034044044044178,
            close_timestamp=T0 + 80 * MINUTE + 90_000,  # 1.5 minutes: rounds half up to 2
            close_reason="stop_loss",
        )
    )

    expected = [
        "# Backtest Report: one-shot (BTCUSDT)",
        "",
        "| Signal ID | Symbol | Position | Note | Open Price | Close Price | Take Profit | Stop Loss | PNL (net) "
        "| Close Reason | Duration (min) | Open Time | Close Time |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        "| sig-1 | BTCUSDT | LONG | breakout \\| retest second line | 42000.00000000 USD | 42420.00000000 USD "
        "| 42420.00000000 USD | 41580.00000000 USD | +0.60% | take_profit | 60 | 2024-01-01T00:10:00.000Z "
        "| 2024-01-01T01:10:00.000Z |",
        "| sig-2 | BTCUSDT | SHORT |  | 42000.00000000 USD | 42420.00000000 USD | 41580.00000000 USD "
        "| 42420.00000000 USD | -1.40% | stop_loss | 2 | 2024-01-01T01:20:00.000Z | 2024-01-01T01:21:30.000Z |",
        "",
        "**Total signals:** 2",
        "**Win rate:** 50.00% (1W / 1L) (higher is better)",
        "**Average PNL:** -0.40% (higher is better)",
        "**Total PNL:** -0.81% (higher is better)",
        "**Standard Deviation Per Trade:** N/A",
        "**Sharpe Ratio:** N/A",
        "**Annualized Sharpe Ratio:** N/A",
        "**Certainty Ratio:** N/A",
        "**Expected Yearly Returns:** N/A",
        "**Avg Peak PNL:** N/A",
        "**Avg Max Drawdown PNL:** N/A",
        "**Sortino Ratio:** N/A",
        "**Calmar Ratio:** N/A",
        "**Recovery Factor:** N/A",
        "**Expectancy:** N/A",
        "**Median PNL:** -0.403%",
        "**Avg Duration:** 30.8 min",
        "**Avg Win Duration:** 60.0 min",
        "**Avg Loss Duration:** 1.5 min",
        "**Avg Consecutive Win PNL:** +0.597% (higher is better)",
        "**Avg Consecutive Loss PNL:** -1.403% (closer to 0 is better)",
        "**Trend:** N/A",
        "**Trend Strength:** N/A",
        "**Trend Confidence (R²):** N/A",
        "**Buyer Pressure:** N/A",
        "**Seller Pressure:** N/A",
        "**Buyer Strength:** N/A",
        "**Seller Strength:** N/A",
        "**Pressure Imbalance:** N/A",
        "**Median Step Size:** N/A",
    ]
    report = storage.get_report("BTCUSDT", "one-shot", max_rows=250)
    assert report.split("\n") == expected
    assert not report.endswith("\n")


def test_none_statistics_print_na_in_place_of_value_and_unit() -> None:
    lines = performance_summary_lines(compute_backtest_statistics([]))
    # backtest-kit 19.5 prints N/A alone, without the direction.
    assert lines == [line.split(":** ")[0] + ":** N/A" for line in lines]
    assert [line.split(":** ")[0] for line in lines] == [
        "**Win rate",
        "**Average PNL",
        "**Total PNL",
        "**Standard Deviation Per Trade",
        "**Sharpe Ratio",
        "**Annualized Sharpe Ratio",
        "**Certainty Ratio",
        "**Expected Yearly Returns",
        "**Avg Peak PNL",
        "**Avg Max Drawdown PNL",
        "**Sortino Ratio",
        "**Calmar Ratio",
        "**Recovery Factor",
        "**Expectancy",
        "**Median PNL",
        "**Avg Duration",
        "**Avg Win Duration",
        "**Avg Loss Duration",
        "**Avg Consecutive Win PNL",
        "**Avg Consecutive Loss PNL",
        "**Trend",
        "**Trend Strength",
        "**Trend Confidence (R²)",
        "**Buyer Pressure",
        "**Seller Pressure",
        "**Buyer Strength",
        "**Seller Strength",
        "**Pressure Imbalance",
        "**Median Step Size",
    ]


@pytest.mark.parametrize(
    ("duration_ms", "minutes"),
    [(0, "0"), (29_999, "0"), (30_000, "1"), (89_999, "1"), (90_000, "2"), (60 * MINUTE, "60")],
)
def test_duration_column_rounds_half_up(duration_ms: int, minutes: str) -> None:
    result = make_closed(make_signal("sig-d"), pnl=1.0, close_timestamp=T0 + duration_ms)
    cells = closed_signal_cells(result)
    assert len(cells) == len(CLOSED_SIGNAL_COLUMNS)
    assert cells[CLOSED_SIGNAL_COLUMNS.index("Duration (min)")] == minutes


def test_keys_separate_strategies_and_modes() -> None:
    storage = BacktestReportStorage()
    storage.add_closed(simple_closed(0))
    storage.add_closed(simple_closed(1, strategy_name="other"))
    storage.add_closed(simple_closed(2, backtest=False))

    assert [r.signal.id for r in storage.get_data("BTCUSDT", "one-shot").signal_list] == ["sig-0"]
    assert [r.signal.id for r in storage.get_data("BTCUSDT", "other").signal_list] == ["sig-1"]
    live = storage.get_data("BTCUSDT", "one-shot", backtest=False)
    assert [r.signal.id for r in live.signal_list] == ["sig-2"]


def test_clear_forgets_one_key_and_clear_all_every_key() -> None:
    storage = BacktestReportStorage()
    storage.add_closed(simple_closed(0))
    storage.add_closed(simple_closed(1, strategy_name="other"))
    storage.add_closed(simple_closed(2, backtest=False))

    storage.clear("BTCUSDT", "one-shot")
    assert storage.get_data("BTCUSDT", "one-shot").total_signals == 0
    assert storage.get_data("BTCUSDT", "other").total_signals == 1
    assert storage.get_data("BTCUSDT", "one-shot", backtest=False).total_signals == 1

    storage.clear("BTCUSDT", "unknown")  # clearing an empty key is harmless
    storage.clear_all()
    assert storage.get_data("BTCUSDT", "other").total_signals == 0
    assert storage.get_data("BTCUSDT", "one-shot", backtest=False).total_signals == 0


def test_add_closed_refuses_a_signal_without_pending_at() -> None:
    storage = BacktestReportStorage()
    unfilled = simple_closed(0).model_copy(
        update={"signal": make_signal("sig-u").model_copy(update={"pending_at": None})}
    )
    with pytest.raises(ValueError, match="sig-u"):
        storage.add_closed(unfilled)
    assert storage.get_data("BTCUSDT", "one-shot").total_signals == 0


def test_get_report_refuses_a_cap_below_one() -> None:
    with pytest.raises(ValueError, match="max_rows"):
        BacktestReportStorage().get_report("BTCUSDT", "one-shot", max_rows=0)


def test_dump_to_a_given_path_creates_directories(tmp_path: Path) -> None:
    target = tmp_path / "out" / "nested" / "report.md"
    written = asyncio.run(dump_report("# Title\n\nbody", "backtest", "BTCUSDT", "one-shot", str(target)))
    assert written == target
    assert target.read_text(encoding="utf-8") == "# Title\n\nbody"


def test_dump_replaces_an_existing_report_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old", encoding="utf-8")
    asyncio.run(dump_report("new ünïcode", "backtest", "BTCUSDT", "one-shot", target))
    assert target.read_bytes() == "new ünïcode".encode()
    assert [path.name for path in tmp_path.rglob("*") if path.name.endswith(".tmp")] == []


def test_dump_defaults_to_the_user_data_dir(tmp_path: Path) -> None:
    # conftest points platformdirs.user_data_dir into tmp_path; the path must be resolved at call time.
    expected = Path(platformdirs.user_data_dir("workstation")) / "reports" / "backtest" / "BTCUSDT_one-shot.md"
    assert expected.is_relative_to(tmp_path)
    assert default_report_path("backtest", "BTCUSDT", "one-shot") == expected
    written = asyncio.run(dump_report(EMPTY_REPORT, "backtest", "BTCUSDT", "one-shot", None))
    assert written == expected
    assert expected.read_text(encoding="utf-8") == EMPTY_REPORT


def test_dump_raises_when_the_file_cannot_be_written(tmp_path: Path) -> None:
    directory = tmp_path / "taken"
    directory.mkdir()
    with pytest.raises(IsADirectoryError):
        asyncio.run(dump_report("text", "backtest", "BTCUSDT", "one-shot", directory))
    assert directory.is_dir()
    assert list(directory.iterdir()) == []
    assert [path.name for path in tmp_path.rglob("*") if path.name.endswith(".tmp")] == []


def test_closed_results_are_the_statistics_signal_list_without_computing_them() -> None:
    storage = BacktestReportStorage()
    closed = [
        make_closed(make_signal(f"s{index}"), pnl=pnl, close_timestamp=T0 + MINUTE)
        for index, pnl in enumerate([1.0, -2.0])
    ]
    for result in closed:
        storage.add_closed(result)

    assert (
        storage.closed_results("BTCUSDT", "one-shot") == closed == storage.get_data("BTCUSDT", "one-shot").signal_list
    )
    assert storage.closed_results("BTCUSDT", "one-shot", backtest=False) == []
    storage.closed_results("BTCUSDT", "one-shot").clear()  # a copy: the storage keeps its results
    assert len(storage.closed_results("BTCUSDT", "one-shot")) == 2

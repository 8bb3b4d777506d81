"""ws.statistics_figures: the one list of a run's figures that the markdown, the HTML page and the window show."""

from __future__ import annotations

from test_backtest_report import MINUTE, T0, make_closed, make_signal

import workstation as ws
from workstation.reports.backtest import performance_summary_lines
from workstation.reports.series import compute_run_series
from workstation.reports.statistics import compute_backtest_statistics


def s1_run() -> tuple[ws.BacktestStatistics, ws.RunSeries]:
    closed = [
        make_closed(make_signal(f"s{index}"), pnl=pnl, close_timestamp=T0 + duration * MINUTE)
        for index, (pnl, duration) in enumerate([(1.5, 60), (-0.8, 120), (2.2, 30), (-1.1, 90)])
    ]
    statistics = compute_backtest_statistics(closed, 1)
    series = compute_run_series(
        closed,
        symbol="BTCUSDT",
        strategy_name="one-shot",
        exchange_name="demo",
        frame_start=T0,
        frame_end=T0 + 179 * MINUTE,
        first_close=100.0,
        last_close=110.0,
    )
    return statistics, series


def test_the_figures_of_s1_with_their_numbers_texts_and_directions() -> None:
    """S1 (SPEC §19.3): pnls [1.5, −0.8, 2.2, −1.1]; the numbers are the statistics', the texts SPEC §11.2's."""
    statistics, series = s1_run()
    figures = {figure.label: figure for figure in ws.statistics_figures(statistics, series)}

    assert len(figures) == 27
    assert (figures["Win rate"].value, figures["Win rate"].text) == (50.0, "50.00% (2W / 2L)")
    assert (figures["Total PNL"].value, figures["Total PNL"].text) == (1.8000000000000003, "+1.80%")
    assert (figures["Sharpe Ratio"].text, figures["Sharpe Ratio"].direction) == ("0.316", "higher is better")
    assert (figures["Max Drawdown"].text, figures["Max Drawdown"].direction) == ("1.10%", "lower is better")
    assert figures["Cancelled signals"].text == "1"
    assert figures["Buy & Hold Return"].text == "+10.00%"
    assert figures["Total PNL"].measure.change(-0.5) == "-0.50 pp"


def test_without_series_the_five_series_figures_are_left_out() -> None:
    statistics, _ = s1_run()
    labels = [figure.label for figure in ws.statistics_figures(statistics)]
    assert len(labels) == 22
    assert labels[-1] == "Total Fees"


def test_the_markdown_summary_prints_the_spec_figures_of_the_same_list() -> None:
    statistics, _ = s1_run()
    assert performance_summary_lines(statistics) == [
        "**Win rate:** 50.00% (2W / 2L) (higher is better)",
        "**Average PNL:** +0.45% (higher is better)",
        "**Total PNL:** +1.80% (higher is better)",
        "**Standard Deviation:** 1.426% (lower is better)",
        "**Sharpe Ratio:** 0.316 (higher is better)",
        "**Annualized Sharpe Ratio:** 6.030 (higher is better)",
        "**Certainty Ratio:** 1.947 (higher is better)",
        "**Expected Yearly Returns:** +3153.60% (higher is better)",
        "**Max Drawdown:** 1.10% (lower is better)",
    ]

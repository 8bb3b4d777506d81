"""ws.statistics_figures: the one list of a run's figures that the markdown, the HTML page and the window show."""

from __future__ import annotations

import json

from data_paths import PEER
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
    statistics = compute_backtest_statistics(closed)
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
    """S1 (SPEC §19.3): pnls [1.5, −0.8, 2.2, −1.1]; the numbers are the statistics', the texts backtest-kit 19.5's.

    Four trades are too few for 19.5's ratios: they are N/A, and a figure that is N/A prints nothing else.
    """
    statistics, series = s1_run()
    figures = {figure.label: figure for figure in ws.statistics_figures(statistics, series)}

    assert len(figures) == 43
    assert (figures["Win rate"].value, figures["Win rate"].text) == (50.0, "50.00% (2W / 2L)")
    assert (figures["Total PNL"].value, figures["Total PNL"].text) == (1.8, "+1.80%")
    assert (figures["Sharpe Ratio"].text, figures["Sharpe Ratio"].direction) == ("N/A", "higher is better")
    assert figures["Avg Max Drawdown PNL"].direction == "closer to 0 is better"
    assert (figures["Median PNL"].value, figures["Median PNL"].text) == (0.35, "+0.350%")
    assert figures["Avg Duration"].text == "75.0 min"
    assert (figures["Trend"].value, figures["Trend"].text) == (None, "N/A")
    assert figures["Buy & Hold Return"].text == "+10.00%"
    assert figures["Total PNL"].measure.change(-0.5) == "-0.50 pp"
    assert figures["Avg Duration"].measure.change(-1.25) == "-1.2 min"


def test_the_price_profile_figures_of_twelve_trades() -> None:
    """The probe's ``annualised`` trades (SPEC-statistics §3): every 19.5 figure has a value, the trend a label."""
    [scenario] = [
        json.loads(line) for line in (PEER / "stats" / "probe.jsonl").read_text().splitlines() if '"annualised"' in line
    ]
    closed = [
        make_closed(make_signal(f"p{index}", pending_at=opened), pnl=pnl, close_timestamp=at, close_price=price)
        for index, (opened, at, pnl, price, _, _) in enumerate(scenario["trades"])
    ]
    figures = {figure.label: figure.text for figure in ws.statistics_figures(compute_backtest_statistics(closed))}
    assert figures["Trend"] == "bullish"
    assert figures["Trend Strength"] == "+0.214%/day"
    assert figures["Trend Confidence (R²)"] == "0.965"
    assert (figures["Buyer Pressure"], figures["Seller Pressure"]) == ("72.7%", "27.3%")
    assert (figures["Buyer Strength"], figures["Seller Strength"]) == ("88.5%", "11.5%")
    assert figures["Pressure Imbalance"] == "+0.769"
    assert figures["Median Step Size"] == "0.721%"
    assert figures["Annualized Sharpe Ratio"] == "4.756"
    # This factory's trades carry no excursions: there is no peak or fall to average.
    assert figures["Avg Max Drawdown PNL"] == "N/A"


def test_without_series_the_five_series_figures_are_left_out() -> None:
    statistics, _ = s1_run()
    labels = [figure.label for figure in ws.statistics_figures(statistics)]
    assert len(labels) == 38
    assert labels[-1] == "Total Fees"


def test_the_markdown_summary_prints_backtest_kit_19_5s_figures_of_the_same_list() -> None:
    statistics, _ = s1_run()
    assert performance_summary_lines(statistics) == [
        "**Win rate:** 50.00% (2W / 2L) (higher is better)",
        "**Average PNL:** +0.45% (higher is better)",
        "**Total PNL:** +1.80% (higher is better)",
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
        "**Median PNL:** +0.350%",
        "**Avg Duration:** 75.0 min",
        "**Avg Win Duration:** 45.0 min",
        "**Avg Loss Duration:** 105.0 min",
        "**Avg Consecutive Win PNL:** +1.850% (higher is better)",
        "**Avg Consecutive Loss PNL:** -0.950% (closer to 0 is better)",
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

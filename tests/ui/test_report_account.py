"""The reports read the account first: its figures, its equity in money and its drawdown, then per trade."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from account_factory import account
from PySide6.QtCore import QByteArray
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication
from test_statistics_widgets import run
from test_trade_table import four_trades

import workstation as ws
from workstation.reports.backtest import backtest_report
from workstation.reports.figures import account_figures
from workstation.reports.html import render_backtest_html
from workstation.reports.svg_charts import (
    ACCOUNT_EQUITY_COLOUR,
    BUY_AND_HOLD_COLOUR,
    LOSS_COLOUR,
    account_drawdown_svg,
    account_equity_svg,
)

SHOTS = Path("/tmp/money")
DAY = 1440

#: 10,000 → 10,500 after a day → 10,200 after two (300 below the 10,500 peak: 2.857 %) → 10,400 after three.
WEEK = account(
    10_000.0,
    [(0, 10_000.0), (DAY, 10_500.0), (2 * DAY, 10_200.0), (3 * DAY, 10_400.0)],
    max_drawdown_percent=300 / 10_500 * 100,
    max_drawdown_money=300.0,
    exposure_percent=52.5,
    fees_paid=0.8,
)


def headings(html: str) -> list[str]:
    return re.findall(r"<h2>([^<]*)</h2>", html)


def section_rows(html: str, section_id: str) -> list[list[str]]:
    """The rows of every table in the section, in order."""
    section = html.split(f'id="{section_id}">', 1)[1].split("</section>", 1)[0]
    bodies = re.findall(r"<tbody>(.*?)</tbody>", section, flags=re.DOTALL)
    rows = [row for body in bodies for row in body.split("</tr>") if "<tr>" in row]
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in rows]


def svg_image(svg: str, name: str) -> QImage:
    data = QByteArray(svg.encode())
    renderer = QSvgRenderer(data)
    assert renderer.isValid()
    size = renderer.defaultSize()
    image = QImage(size.width(), size.height(), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    SHOTS.mkdir(exist_ok=True)
    image.save(str(SHOTS / name))
    return image


def colour_count(image: QImage, colour: str) -> int:
    wanted = QColor(colour).rgb()
    return sum(image.pixel(x, y) == wanted for x in range(0, image.width()) for y in range(0, image.height(), 2))


def test_the_account_comes_first_then_the_per_trade_figures() -> None:
    statistics, series = run(four_trades())

    html = render_backtest_html(statistics, series, WEEK)

    assert headings(html)[:5] == [
        "Account",
        "Equity",
        "Drawdown (% of the equity peak)",
        "Per trade (% of each position)",
        "Cumulative net PnL % of the trades",
    ]
    assert section_rows(html, "account") == [
        ["Net profit", "+400.00", "higher is better"],
        ["Return", "+4.00%", "higher is better"],
        [
            "Max drawdown",
            "2.86%",
            "lower is better",
        ],
        ["Max drawdown (money)", "300.00", "lower is better"],
        ["CAGR", "N/A", "higher is better"],
        ["Exposure", "52.50%", ""],
        ["Fees paid", "0.80", "lower is better"],
        ["Sharpe ratio (daily)", "N/A", "higher is better"],
        ["Sortino ratio (daily)", "N/A", "higher is better"],
        ["Longest drawdown (days)", "0.0", "lower is better"],
        ["Starting balance → final equity", "10,000.00 → 10,400.00", "higher is better"],
        ["Equity spent", "never", ""],
    ]
    per_trade = section_rows(html, "per-trade")
    assert per_trade[0] == ["Total signals", "4", ""]
    labels = [row[0] for row in per_trade]
    # The account's net profit and exposure stand for the series' money and exposure figures.
    assert "Net PNL (money)" not in labels and "Exposure" not in labels


def test_a_run_without_an_account_starts_with_the_per_trade_figures() -> None:
    statistics, series = run(four_trades())

    html = render_backtest_html(statistics, series)

    assert headings(html)[:2] == ["Per trade (% of each position)", "Cumulative net PnL % of the trades"]
    assert 'id="account"' not in html
    assert ["Net PNL (money)", "+3.34", "higher is better"] in section_rows(html, "per-trade")


def test_equity_in_money_and_drawdown_are_drawn(qapp: QApplication) -> None:
    """The equity line spans the plot in its colour; the drawdown reaches 2.857 % × 1.08 of the plot's depth."""
    equity = svg_image(account_equity_svg(WEEK), "html_account_equity.png")
    drawdown = svg_image(account_drawdown_svg(WEEK), "html_account_drawdown.png")

    assert colour_count(equity, ACCOUNT_EQUITY_COLOUR) > 300
    assert colour_count(drawdown, LOSS_COLOUR) > 100
    assert 'aria-label="Equity in money, marked to market daily and at each trade"' in account_equity_svg(WEEK)


def test_buy_and_hold_follows_the_price_whole_on_the_equity_s_scale(qapp: QApplication) -> None:
    """The starting balance held is a path through each marked value (10,000, 10,200, 9,000, 7,000), not a straight
    line to its last, nor cut at the equity's range (10,000 to 10,500): the scale takes in its fall to 7,000, so the
    line runs whole to the chart's lowest value."""
    held = tuple(
        ws.EquityPoint(timestamp=point.timestamp, value=value)
        for point, value in zip(WEEK.equity_curve, (10_000.0, 10_200.0, 9_000.0, 7_000.0), strict=True)
    )
    svg = account_equity_svg(WEEK.model_copy(update={"buy_and_hold_curve": held}))
    held_path = re.search(rf'<path d="([^"]*)" fill="none" stroke="{BUY_AND_HOLD_COLOUR}"', svg)
    equity_path = re.search(rf'<path d="([^"]*)" fill="none" stroke="{ACCOUNT_EQUITY_COLOUR}"', svg)
    assert held_path is not None and equity_path is not None
    assert "M" not in held_path.group(1)[1:]  # one stroke, never lifted
    points = [tuple(map(float, point.split())) for point in re.split("[ML]", held_path.group(1))[1:]]
    equity_points = [tuple(map(float, point.split())) for point in re.split("[ML]", equity_path.group(1))[1:]]
    assert [x for x, _ in points] == [x for x, _ in equity_points]
    assert points[0] == equity_points[0]
    # Linear in value: 10,200 lies a fifth as far above 10,000 as 9,000 below it, 7,000 three times as far ...
    height = [y - points[0][1] for _, y in points]
    assert height[1] == pytest.approx(-height[2] / 5, abs=0.15) and height[3] == pytest.approx(3 * height[2], abs=0.15)
    # ... and 7,000, the lowest value drawn, sits 6 % of the value range above the chart's bottom edge (260 px).
    image = svg_image(svg, "html_account_buy_and_hold.png")
    orange = [
        y
        for x in range(64, 940, 4)
        for y in range(image.height())
        if QColor(image.pixel(x, y)).name() == BUY_AND_HOLD_COLOUR
    ]
    assert orange and max(orange) > points[2][1]


def test_the_html_legend_writes_where_the_balance_held_ended() -> None:
    held = tuple(
        ws.EquityPoint(timestamp=point.timestamp, value=value)
        for point, value in zip(WEEK.equity_curve, (10_000.0, 10_200.0, 9_000.0, 7_000.0), strict=True)
    )
    html = render_backtest_html(*run(four_trades()), WEEK.model_copy(update={"buy_and_hold_curve": held}))
    assert "the starting balance held in the asset: 7,000.00 at the end, buy &amp; hold -30.00%" in html


def test_the_markdown_report_reads_the_account_first() -> None:
    statistics, _ = run(four_trades())

    lines = backtest_report(statistics, "BTCUSDT", "one-shot", max_rows=250, account=WEEK).split("\n")

    assert lines[:18] == [
        "# Backtest Report: one-shot (BTCUSDT)",
        "",
        "## Account",
        "",
        "**Net profit:** +400.00 (higher is better)",
        "**Return:** +4.00% (higher is better)",
        "**Max drawdown:** 2.86% (lower is better)",
        "**Max drawdown (money):** 300.00 (lower is better)",
        "**CAGR:** N/A (higher is better)",
        "**Exposure:** 52.50%",
        "**Fees paid:** 0.80 (lower is better)",
        "**Sharpe ratio (daily):** N/A (higher is better)",
        "**Sortino ratio (daily):** N/A (higher is better)",
        "**Longest drawdown (days):** 0.0 (lower is better)",
        "**Starting balance → final equity:** 10,000.00 → 10,400.00 (higher is better)",
        "**Equity spent:** never",
        "",
        "## Per trade (% of each position)",
    ]
    # Then SPEC §11.2's report as it reads without an account, from its table on.
    spec = backtest_report(statistics, "BTCUSDT", "one-shot", max_rows=250).split("\n")
    assert lines[18:] == spec[1:]


def test_a_spent_account_says_when_it_stopped_opening_positions() -> None:
    spent = WEEK.model_copy(update={"equity_spent_at": WEEK.equity_curve[2].timestamp})

    [figure] = [figure for figure in account_figures(spent) if figure.label == "Equity spent"]

    assert figure.text == "2024-01-03 00:00 UTC"
    assert figure.note == "The balance could not pay for another position: the run opened none after."

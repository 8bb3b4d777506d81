"""HTML report, CSV trade list and report files (dump formats, safe default names, atomic writes, errors)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import platformdirs
import pytest
from test_backtest_report import MINUTE, T0, make_closed, make_signal

import workstation as ws
from workstation.models.series import RunSeries
from workstation.reports.dump import default_report_path, dump_report, file_name_part
from workstation.reports.html import render_backtest_html
from workstation.reports.series import compute_run_series
from workstation.reports.statistics import compute_backtest_statistics
from workstation.reports.svg_charts import EQUITY_COLOUR, nice_ticks
from workstation.reports.trades_csv import trade_list_csv

DAY = 1440 * MINUTE


class Tables(HTMLParser):
    """Collect the text of every table cell, per table class, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            name = dict(attrs).get("class") or ""
            self._table = self.tables.setdefault(name, [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def two_trades() -> list:
    first = make_closed(
        make_signal("a<1>", note='<script>alert("x")</script> & co'), pnl=1.5, close_timestamp=T0 + 60 * MINUTE
    )
    second = make_closed(
        make_signal("b-2", position="short", pending_at=T0 + 40 * DAY),
        pnl=-0.5,
        close_timestamp=T0 + 40 * DAY + 30 * MINUTE,
        close_price=41580.0,
        close_reason="stop_loss",
    )
    return [first, second]


def series_of(trades: list, symbol: str = "BTCUSDT") -> RunSeries:
    return compute_run_series(
        trades,
        symbol=symbol,
        strategy_name="one-shot",
        exchange_name="demo",
        frame_start=T0,
        frame_end=T0 + 45 * DAY,
        first_close=100.0,
        last_close=110.0,
    )


def render(trades: list, symbol: str = "BTCUSDT") -> str:
    return render_backtest_html(compute_backtest_statistics(trades), series_of(trades, symbol))


def tables_of(page: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


def test_the_page_escapes_every_text_of_the_run() -> None:
    page = render(two_trades(), symbol="<b>&BTC")

    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert "<title>Backtest Report: one-shot (&lt;b&gt;&amp;BTC)</title>" in page
    assert "a&lt;1&gt;" in page and "a<1>" not in page


def test_the_page_references_nothing_outside_itself() -> None:
    page = render(two_trades())

    assert re.search(r"https?:|\bsrc\s*=|\bhref\s*=|url\(|@import|@font-face|<script|<link", page, re.I) is None
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")


def test_the_statistics_table_shows_the_spec_figures() -> None:
    rows = tables_of(render(two_trades()))["statistics"]

    # backtest-kit 19.5's figures, in its report's order; two trades are too few for its ratios.
    assert rows[:12] == [
        ["Figure", "Value", ""],
        ["Total signals", "2", ""],
        ["Win rate", "50.00% (1W / 1L)", "higher is better"],
        ["Average PNL", "+0.50%", "higher is better"],
        ["Total PNL", "+1.00%", "higher is better"],
        ["Standard Deviation Per Trade", "N/A", "lower is better"],
        ["Sharpe Ratio", "N/A", "higher is better"],
        ["Annualized Sharpe Ratio", "N/A", "higher is better"],
        ["Certainty Ratio", "N/A", "higher is better"],
        ["Expected Yearly Returns", "N/A", "higher is better"],
        ["Avg Peak PNL", "N/A", "higher is better"],
        ["Avg Max Drawdown PNL", "N/A", "closer to 0 is better"],
    ]
    assert rows[16:21] == [
        ["Median PNL", "+0.500%", ""],
        ["Avg Duration", "45.0 min", ""],
        ["Avg Win Duration", "60.0 min", ""],
        ["Avg Loss Duration", "30.0 min", ""],
        ["Avg Consecutive Win PNL", "+1.500%", "higher is better"],
    ]
    assert rows[30] == ["Median Step Size", "N/A", ""]
    extra = {row[0]: row[1] for row in rows[32:]}
    assert extra["Profit Factor"] == "3.000"
    assert extra["Best Trade"] == "+1.50%"
    assert extra["Worst Trade"] == "-0.50%"
    assert extra["Net PNL (money)"] == "+1.00"
    assert extra["Buy & Hold Return"] == "+10.00%"


def test_the_monthly_table_has_a_row_per_year_and_colours_by_sign() -> None:
    page = render(two_trades())
    rows = tables_of(page)["months"]

    assert rows == [
        ["Year", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Total"],
        ["2024", "+1.50%", "-0.50%", *[""] * 10, "+1.00%"],
    ]
    assert '<td class="num pos">+1.50%</td><td class="num neg">-0.50%</td>' in page


def test_the_trade_list_has_the_markdown_columns_and_one_row_per_trade() -> None:
    rows = tables_of(render(two_trades()))["trades"]

    assert rows[0][:4] == ["Signal ID", "Symbol", "Position", "Note"]
    assert rows[1] == [
        "a<1>",
        "BTCUSDT",
        "LONG",
        '<script>alert("x")</script> & co',
        "42000.00000000 USD",
        "42420.00000000 USD",
        "42420.00000000 USD",
        "41580.00000000 USD",
        "+1.50%",
        "take_profit",
        "60",
        "2024-01-01T00:00:00.000Z",
        "2024-01-01T01:00:00.000Z",
    ]
    assert [row[0] for row in rows[1:]] == ["a<1>", "b-2"]


def test_the_equity_curve_steps_at_each_close_in_its_colour() -> None:
    page = render(two_trades())
    equity = page[page.index('<section id="equity">') : page.index('<section id="underwater">')]

    path = re.search(rf'<path d="([^"]+)" fill="none" stroke="{EQUITY_COLOUR}"', equity)
    assert path is not None
    # From zero at the left edge: one horizontal then one vertical move per trade, then on to the right edge.
    assert re.fullmatch(r"M[\d.]+ [\d.]+(H[\d.]+V[\d.]+){2}H[\d.]+", path.group(1))
    assert "buy &amp; hold +10.00%" in equity


def test_the_worst_drawdowns_list_one_not_yet_recovered() -> None:
    """+1.5 closes at 01:00, then −0.5 on 2024-02-10 00:30: the curve's peak 1.5 is the start, 1.0 the trough,
    and the curve never regains 1.5."""
    rows = tables_of(render(two_trades()))["drawdowns"]

    assert rows == [
        ["Rank", "Depth", "Start", "Trough", "Recovery", "Length (days)"],
        ["1", "-0.50%", "2024-01-01T01:00:00.000Z", "2024-02-10T00:30:00.000Z", "not recovered", "N/A"],
    ]


def test_a_recovered_drawdown_has_its_length_in_days() -> None:
    """+1.0 (day 1), −0.5 (day 2), +1.0 (day 4): 1.0 → 0.5 → 1.5 regains the peak at day 4, 3.0 days after day 1."""
    trades = [
        make_closed(make_signal(name, pending_at=T0 + (day - 1) * DAY), pnl=pnl, close_timestamp=T0 + day * DAY)
        for name, pnl, day in (("a", 1.0, 1), ("b", -0.5, 2), ("c", 1.0, 4))
    ]
    rows = tables_of(render(trades))["drawdowns"]

    assert rows[1] == [
        "1",
        "-0.50%",
        "2024-01-02T00:00:00.000Z",
        "2024-01-03T00:00:00.000Z",
        "2024-01-05T00:00:00.000Z",
        "3.0",
    ]


def test_the_pnl_breakdown_by_close_reason_and_side() -> None:
    rows = tables_of(render(two_trades()))["breakdown"]

    assert rows == [
        ["Close reason", "Net PnL"],
        ["take_profit", "+1.50%"],
        ["stop_loss", "-0.50%"],
        ["Side", "Net PnL"],
        ["long", "+1.50%"],
        ["short", "-0.50%"],
    ]


def test_a_run_without_trades_still_renders_every_section() -> None:
    page = render([])

    assert page.count("No closed trades") == 5  # three charts, the PnL breakdown and the monthly table
    assert "No drawdown." in page
    assert "No signals closed yet." in page
    assert tables_of(page)["statistics"][1] == ["Total signals", "0", ""]


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(-113.97, 6.2) == [-100.0, -75.0, -50.0, -25.0, 0.0]
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]


def test_the_csv_has_every_field_of_the_closed_result() -> None:
    text = trade_list_csv(two_trades()[:1])
    rows = list(csv.reader(io.StringIO(text)))

    assert text.endswith("\r\n")
    assert rows[0] == [
        "symbol", "strategy_name", "exchange_name", "frame_name", "backtest", "timestamp", "current_price", "action",
        "signal.id", "signal.position", "signal.note", "signal.price_open", "signal.price_take_profit",
        "signal.price_stop_loss", "signal.minute_estimated_time", "signal.symbol", "signal.exchange_name",
        "signal.strategy_name", "signal.frame_name", "signal.scheduled_at", "signal.pending_at", "signal.is_scheduled",
        "signal.original_price_open", "signal.original_price_take_profit", "signal.original_price_stop_loss",
        "signal.entries", "signal.partials", "signal.partial_executed", "signal.pnl", "signal.peak_profit",
        "signal.max_drawdown", "signal.total_entries", "signal.total_partials",
        "close_reason", "close_timestamp",
        "pnl.pnl_percentage", "pnl.pnl_cost", "pnl.pnl_entries", "pnl.price_open", "pnl.price_close", "pnl.fee_cost",
        "partial_pnl",
    ]  # fmt: skip
    assert rows[1] == [
        "BTCUSDT", "one-shot", "ladder", "F", "True", "1704070800000", "42420.0", "closed",
        "a<1>", "long", '<script>alert("x")</script> & co', "42000.0", "42420.0", "41580.0", "1440", "BTCUSDT",
        "ladder", "one-shot", "F", "1704067200000", "1704067200000", "False",
        "42000.0", "42420.0", "41580.0", "[]", "[]", "0.0", "", "", "", "0", "0",
        "take_profit", "1704070800000",
        "1.5", "1.5", "100.0", "42000.0", "42420.0", "0.2", "[]",
    ]  # fmt: skip
    assert len(rows) == 2


def test_the_csv_of_no_trades_is_the_header_alone() -> None:
    assert trade_list_csv([]).count("\r\n") == 1


def test_file_names_percent_encode_what_a_file_name_cannot_hold() -> None:
    assert file_name_part("BTC/USDT") == "BTC%2FUSDT"
    assert file_name_part("a\\b:c%d\ne") == "a%5Cb%3Ac%25d%0Ae"
    assert file_name_part("ÉTH-usd_1") == "ÉTH-usd_1"


def test_the_default_path_of_a_slashed_symbol_is_one_file_in_the_kind_folder() -> None:
    folder = Path(platformdirs.user_data_dir("workstation")) / "reports" / "backtest"

    assert default_report_path("backtest", "BTC/USDT", "a:b", "html") == folder / "BTC%2FUSDT_a%3Ab.html"
    assert default_report_path("backtest", "BTCUSDT", "one-shot") == folder / "BTCUSDT_one-shot.md"
    written = asyncio.run(dump_report("x", "backtest", "BTC/USDT", "s", None, extension="csv"))
    assert written == folder / "BTC%2FUSDT_s.csv"
    assert [path.name for path in folder.iterdir()] == ["BTC%2FUSDT_s.csv"]


def test_a_path_under_a_file_raises_naming_the_report_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep")
    target = blocker / "sub" / "report.html"

    with pytest.raises(NotADirectoryError) as caught:
        asyncio.run(dump_report("text", "backtest", "BTCUSDT", "s", target))
    assert caught.value.filename == str(target)
    assert str(target) in str(caught.value)
    assert blocker.read_text() == "keep"


def test_a_directory_path_raises_is_a_directory_naming_it(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as caught:
        asyncio.run(dump_report("text", "backtest", "BTCUSDT", "s", tmp_path))
    assert caught.value.filename == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_neither_a_temporary_nor_a_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("previous")

    def refuse(*_args: object) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / ".report.html.tmp"))

    monkeypatch.setattr("workstation.atomic_file.os.replace", refuse)
    with pytest.raises(PermissionError) as caught:
        asyncio.run(dump_report("new", "backtest", "BTCUSDT", "s", target))
    assert caught.value.filename == str(target)
    assert [path.name for path in tmp_path.iterdir()] == ["report.html"]
    assert target.read_text() == "previous"


def test_dump_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match=r"^format must be one of 'md', 'html', 'csv', got 'pdf'$"):
        asyncio.run(ws.Backtest.dump("BTCUSDT", "one-shot", format="pdf"))


def test_dump_writes_markdown_and_csv_by_format(tmp_path: Path) -> None:
    markdown = asyncio.run(ws.Backtest.dump("BTC/USDT", "one-shot", tmp_path / "r.md"))
    trades = asyncio.run(ws.Backtest.dump("BTC/USDT", "one-shot", format="csv"))

    assert markdown.read_text() == "# Backtest Report: one-shot (BTC/USDT)\n\nNo signals closed yet."
    assert trades.name == "BTC%2FUSDT_one-shot.csv"
    assert trades.read_text().startswith("symbol,strategy_name,")

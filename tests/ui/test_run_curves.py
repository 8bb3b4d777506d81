"""Equity/underwater curves and the PnL histogram of a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pixels import painted
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import DARK_PALETTE, LIGHT_PALETTE, EquityCurves, PnlHistogram
from ui.charts.curves import step_edges

SHOTS = Path("/tmp/ui_shots")
FRAME_START = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HOUR = 3_600_000


def run_series(pnl: list[float], buy_and_hold: float | None = 3.5) -> ws.RunSeries:
    trade_pnl = np.array(pnl, dtype=np.float64)
    equity = np.cumsum(trade_pnl)
    underwater = equity - np.maximum.accumulate(np.concatenate(([0.0], equity)))[1:]
    counts, edges = np.histogram(trade_pnl, bins="fd") if len(pnl) else (np.array([]), np.array([]))
    close_times = FRAME_START + (np.arange(len(pnl), dtype=np.int64) + 1) * 6 * HOUR
    return ws.RunSeries(
        symbol="BTCUSDT",
        strategy_name="s",
        exchange_name="demo",
        frame_start=FRAME_START,
        frame_end=FRAME_START + (len(pnl) + 2) * 6 * HOUR,
        first_close=None,
        last_close=None,
        close_times=close_times,
        trade_pnl=trade_pnl,
        trade_pnl_money=trade_pnl,
        step_times=close_times,
        equity=equity,
        equity_money=equity,
        underwater=underwater,
        worst_drawdowns=[],
        histogram_edges=edges,
        histogram_counts=counts.astype(np.int64),
        monthly_returns=ws.MonthlyReturns(years=[], table=np.empty((0, 12)), year_totals=[]),
        pnl_by_close_reason={},
        pnl_by_side={},
        buy_and_hold=buy_and_hold,
        exposure=None,
        average_holding_minutes=None,
        longest_flat_minutes=None,
    )


def count_colour(image: QImage, color: str) -> int:
    wanted = QColor(color)
    return sum(
        image.pixelColor(x, y) == wanted for x in range(0, image.width(), 2) for y in range(0, image.height(), 2)
    )


def test_the_equity_curve_steps_from_zero_at_each_close() -> None:
    series = run_series([1.0, -0.5, 2.0])
    edges, values = step_edges(series)
    assert (edges * 1000).astype(np.int64).tolist() == [
        FRAME_START,
        FRAME_START + 6 * HOUR,
        FRAME_START + 12 * HOUR,
        FRAME_START + 18 * HOUR,
        FRAME_START + 30 * HOUR + 60_000,
    ]
    assert values.tolist() == [0.0, 1.0, 0.5, 2.5]


def test_the_equity_curve_steps_at_a_partial_close_too() -> None:
    # The first position realised 0.4 points at a partial close three hours before its close.
    series = run_series([1.0, -0.5]).model_copy(
        update={
            "step_times": FRAME_START + np.array([3, 6, 12], dtype=np.int64) * HOUR,
            "equity": np.array([0.4, 1.0, 0.5]),
        }
    )
    edges, values = step_edges(series)
    assert (edges * 1000).astype(np.int64).tolist() == [
        FRAME_START,
        FRAME_START + 3 * HOUR,
        FRAME_START + 6 * HOUR,
        FRAME_START + 12 * HOUR,
        FRAME_START + 24 * HOUR + 60_000,
    ]
    assert values.tolist() == [0.0, 0.4, 1.0, 0.5]


def test_equity_curves_draw_the_series_and_clear_on_none(qtbot: QtBot) -> None:
    curves = EquityCurves()
    qtbot.addWidget(curves)
    curves.set_series(run_series([1.0, -0.5, 2.0], buy_and_hold=3.5))
    assert curves.equity_curve.yData.tolist() == [0.0, 1.0, 0.5, 2.5]
    assert curves.underwater_curve.yData.tolist() == [0.0, 0.0, -0.5, 0.0]
    assert curves.buy_and_hold_curve.yData.tolist() == [0.0, 3.5]
    curves.set_series(run_series([1.0], buy_and_hold=None))
    assert curves.buy_and_hold_curve.getData() == (None, None)
    curves.set_series(run_series([]))  # a run without trades: flat at 0 over the frame
    assert curves.equity_curve.yData.tolist() == [0.0]
    curves.set_series(None)
    assert curves.equity_curve.getData() == (None, None)


def test_histogram_splits_losing_and_winning_bins(qtbot: QtBot) -> None:
    histogram = PnlHistogram()
    qtbot.addWidget(histogram)
    series = run_series([-2.0, -1.5, -1.0, -0.2, 0.3, 0.8, 1.2, 1.9, 2.5, 3.0])
    histogram.set_series(series)
    edges = series.histogram_edges
    centres = (edges[:-1] + edges[1:]) / 2
    assert histogram.loss_bars.opts["height"].tolist() == series.histogram_counts[centres < 0].tolist()
    assert histogram.win_bars.opts["height"].tolist() == series.histogram_counts[centres >= 0].tolist()
    assert histogram.loss_bars.opts["x0"].tolist() == edges[:-1][centres < 0].tolist()
    histogram.set_series(None)
    assert len(histogram.win_bars.opts["height"]) == 0


def test_curves_screenshot_shows_equity_drawdown_and_histogram_colours(qtbot: QtBot) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    series = run_series((rng.normal(0.15, 1.0, 120)).round(3).tolist(), buy_and_hold=6.0)
    for palette, name in ((DARK_PALETTE, "curves"), (LIGHT_PALETTE, "curves_light")):
        page = QWidget()
        qtbot.addWidget(page)
        layout = QVBoxLayout(page)
        curves = EquityCurves(palette=palette)
        histogram = PnlHistogram(palette=palette)
        layout.addWidget(curves, 2)
        layout.addWidget(histogram, 1)
        curves.set_series(series)
        histogram.set_series(series)
        page.resize(1100, 800)
        page.show()
        qtbot.waitExposed(page)
        image = page.grab().toImage()
        image.save(str(SHOTS / f"{name}.png"))
        curve_image = curves.grab().toImage()
        assert count_colour(curve_image, palette.win) > 50  # the equity line
        assert count_colour(curve_image, palette.loss) > 20  # the underwater outline
        bars_image = histogram.grab().toImage()
        assert count_colour(bars_image, palette.loss) > 20
        assert count_colour(bars_image, palette.win) > 20


def test_the_legend_is_written_in_the_theme_s_text_colour(qtbot: QtBot) -> None:
    """Light theme: the legend's names were pyqtgraph's default grey on white, hard to read; dark as well."""
    for palette in (DARK_PALETTE, LIGHT_PALETTE):
        curves = EquityCurves(palette=palette)
        qtbot.addWidget(curves)
        curves.resize(800, 500)
        curves.set_series(run_series([1.0, -0.5, 2.0], buy_and_hold=3.5))
        curves.show()
        qtbot.waitExposed(curves)
        image = curves.graphics.grab().toImage()
        for _sample, label in curves.legend.items:
            area = curves.graphics.mapFromScene(label.sceneBoundingRect()).boundingRect()
            # The strokes of the letters are the palette's text colour, as the axes' numbers are.
            assert painted(image.copy(area), palette.foreground) > 10, (palette.background, label.text)


def test_buy_and_hold_follows_the_price_and_the_equity_sets_the_scale(qtbot: QtBot) -> None:
    """The starting balance held is drawn where the account marked it (not a straight line to its last value), and
    the equity's own range decides the scale: the asset's fall to 7,000 is clipped, its last value in the legend."""
    day = 24 * HOUR
    curve = tuple(
        ws.EquityPoint(timestamp=FRAME_START + n * day, value=value)
        for n, value in enumerate((10_000.0, 10_050.0, 10_020.0, 10_080.0))
    )
    held = tuple(
        ws.EquityPoint(timestamp=FRAME_START + n * day, value=value)
        for n, value in enumerate((10_000.0, 9_300.0, 9_900.0, 7_000.0))
    )
    account = ws.AccountReport(
        starting_balance=10_000.0,
        final_equity=10_080.0,
        net_profit=80.0,
        return_percent=0.8,
        max_drawdown_percent=30 / 10_050 * 100,
        max_drawdown_money=30.0,
        cagr_percent=None,
        exposure_percent=50.0,
        fees_paid=1.0,
        sharpe_ratio=None,
        sortino_ratio=None,
        longest_drawdown_days=1.0,
        equity_spent_at=None,
        trades=(),
        balance_curve=curve,
        equity_curve=curve,
        buy_and_hold_curve=held,
    )
    curves = EquityCurves()
    qtbot.addWidget(curves)
    curves.resize(800, 500)
    curves.set_series(None, account)
    curves.show()
    qtbot.waitExposed(curves)
    assert curves.buy_and_hold_curve.yData.tolist() == [10_000.0, 9_300.0, 9_900.0, 7_000.0]
    assert curves.buy_and_hold_curve.xData.tolist() == [(FRAME_START + n * day) / 1000 for n in range(4)]
    assert sorted(label.text for _sample, label in curves.legend.items) == ["Buy and hold: 7,000.00", "Equity"]
    assert not curves.scale_to_buy_and_hold.isChecked()
    curves.equity_plot.vb.updateAutoRange()
    low, high = curves.equity_plot.vb.viewRange()[1]
    # The equity spans 10,000 to 10,080: the view stays around it, not down to the 7,000 the asset fell to.
    assert 9_900 < low < 10_000
    assert 10_080 < high < 10_200
    curves.grab().save(str(SHOTS / "equity_buy_and_hold.png"))

    # Scaled to buy and hold on request: the view takes in its fall to 7,000, the legend keeps both names.
    curves.scale_to_buy_and_hold.setChecked(True)
    curves.equity_plot.vb.updateAutoRange()
    low, high = curves.equity_plot.vb.viewRange()[1]
    assert 6_800 < low < 7_000
    assert 10_080 < high < 10_300
    assert sorted(label.text for _sample, label in curves.legend.items) == ["Buy and hold: 7,000.00", "Equity"]
    curves.grab().save(str(SHOTS / "equity_buy_and_hold_scaled.png"))
    curves.scale_to_buy_and_hold.setChecked(False)
    curves.equity_plot.vb.updateAutoRange()
    assert 9_900 < curves.equity_plot.vb.viewRange()[1][0] < 10_000

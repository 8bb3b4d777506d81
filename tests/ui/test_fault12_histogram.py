"""Fault 12: the PnL histogram has enough bins to read 100 trades that closed at their take profit or stop loss."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.charts import PnlHistogram
from workstation.reports.series import pnl_histogram

#: 60 take profits at +0.6 % and 40 stop losses at −0.4 %: Freedman–Diaconis alone gave 3 bins, the middle one empty.
TP_AND_SL = np.array([0.6] * 60 + [-0.4] * 40)


def test_a_hundred_trades_at_two_levels_get_ten_bins() -> None:
    edges, counts = pnl_histogram(TP_AND_SL)
    assert np.round(edges, 10).tolist() == [-0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert counts.tolist() == [40, 0, 0, 0, 0, 0, 0, 0, 0, 60]


def test_spread_out_trades_keep_the_finer_freedman_diaconis_bins() -> None:
    pnl = np.linspace(-2.0, 2.0, 100) ** 3
    edges, counts = pnl_histogram(pnl)
    fd_counts, fd_edges = np.histogram(pnl, bins="fd")
    assert len(counts) == len(fd_counts) == 19
    assert edges.tolist() == fd_edges.tolist()


def test_the_window_draws_every_bin(qtbot: QtBot) -> None:
    edges, counts = pnl_histogram(TP_AND_SL)
    series = ws.RunSeries.model_construct(histogram_edges=edges, histogram_counts=counts)
    histogram = PnlHistogram()
    qtbot.addWidget(histogram)
    histogram.set_series(series)
    assert histogram.loss_bars.opts["height"].tolist() == [40, 0, 0, 0]
    assert histogram.win_bars.opts["height"].tolist() == [0, 0, 0, 0, 0, 60]

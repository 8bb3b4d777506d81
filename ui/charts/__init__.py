"""Charts of a run tab: candles with trade marks, equity and drawdown curves, the PnL histogram (DESIGN §3.15)."""

from ui.charts.aggregate import TIMEFRAMES, resample
from ui.charts.candle_chart import CandleChart
from ui.charts.candle_item import DARK_PALETTE, LIGHT_PALETTE, ChartPalette
from ui.charts.curves import EquityCurves, PnlHistogram
from ui.charts.marks import SignalMarks

__all__ = [
    "DARK_PALETTE",
    "LIGHT_PALETTE",
    "TIMEFRAMES",
    "CandleChart",
    "ChartPalette",
    "EquityCurves",
    "PnlHistogram",
    "SignalMarks",
    "resample",
]

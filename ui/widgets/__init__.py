"""Tables of a backtest run (trades, statistics, monthly returns) and the side-by-side comparison of runs."""

from ui.widgets.comparison import ComparisonView, run_title
from ui.widgets.monthly_table import MonthlyReturnsTable
from ui.widgets.statistics_table import StatisticsTable
from ui.widgets.trade_table import TradeFilterProxy, TradeTableModel, TradeTableView

__all__ = [
    "ComparisonView",
    "MonthlyReturnsTable",
    "StatisticsTable",
    "TradeFilterProxy",
    "TradeTableModel",
    "TradeTableView",
    "run_title",
]

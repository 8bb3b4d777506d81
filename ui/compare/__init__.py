"""Comparing runs: strategies side by side (walker), a parameter sweep (optimizer), one strategy over many symbols
(heat). Each view takes ``open_backtest``, which opens one backtest of what it shows in a run tab.
"""

from ui.compare.heat_view import HeatView
from ui.compare.optimizer_view import OptimizerView
from ui.compare.walker_view import WalkerView

__all__ = ["HeatView", "OptimizerView", "WalkerView"]

"""The live view: live and paper runs, the chart of the one in front, partial levels, blotter, restore banner."""

from ui.live.blotter import LiveBlotter, LiveBlotterModel
from ui.live.chart import LiveChart
from ui.live.feed import LiveFeed
from ui.live.panel import LivePanel
from ui.live.paper_dialog import PaperTradingDialog
from ui.live.partial_levels import PartialLevelsPanel
from ui.live.restore_banner import RestoreBanner
from ui.live.strategies_table import LiveStrategiesModel, LiveStrategiesTable

__all__ = [
    "LiveBlotter",
    "LiveBlotterModel",
    "LiveChart",
    "LiveFeed",
    "LivePanel",
    "LiveStrategiesModel",
    "LiveStrategiesTable",
    "PaperTradingDialog",
    "PartialLevelsPanel",
    "RestoreBanner",
]

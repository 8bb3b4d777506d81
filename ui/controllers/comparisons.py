"""The comparisons of the Compare menu: the walker, the optimizer and the portfolio heatmap, one tab each.

Closing a comparison's tab only takes it out of the tabs, so its settings, results and any run going on stay for the
next time it is opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QTabWidget, QWidget

import workstation as ws
from ui.charts.candle_item import ChartPalette
from ui.compare import HeatView, OptimizerView, WalkerView
from ui.controllers.tabs import show_in_front

ComparisonView = WalkerView | OptimizerView | HeatView


class ComparisonController(QObject):
    """Open the comparison views as tabs, keep them between openings and stop their work when the window closes.

    Signals
    -------
    error_raised(str, str)
        A comparison failed: a one-line title and the details for the Log dock.
    """

    error_raised = Signal(str, str)

    def __init__(
        self, tabs: QTabWidget, open_backtest: Callable[[ws.BacktestRequest], object], parent: QWidget
    ) -> None:
        super().__init__(parent)
        self._tabs = tabs
        self.walker_view = WalkerView(open_backtest)
        self.optimizer_view = OptimizerView(open_backtest)
        self.heat_view = HeatView(open_backtest)
        #: The views by the name of their tab.
        self.views: dict[str, ComparisonView] = {
            "Walker": self.walker_view,
            "Optimizer": self.optimizer_view,
            "Heat": self.heat_view,
        }
        for view in self.views.values():
            view.error_raised.connect(self.error_raised)

    def open(self, name: str) -> ComparisonView:
        """Show the comparison ``name`` (``Walker``, ``Optimizer``, ``Heat``) as a tab in front; return its view."""
        view = self.views[name]
        show_in_front(self._tabs, view, name)
        return view

    def owns(self, page: QWidget) -> bool:
        """Tell whether ``page`` is one of the comparison views (kept when its tab closes)."""
        return any(page is view for view in self.views.values())

    @property
    def running(self) -> bool:
        """Tell whether any comparison is still working."""
        return any(view.running for view in self.views.values())

    def refresh_choices(self) -> None:
        """Offer the strategies and exchanges registered since (a strategy file was loaded)."""
        for view in self.views.values():
            view.refresh_choices()

    def set_palette(self, palette: ChartPalette) -> None:
        """Draw the comparisons' charts in ``palette`` (a theme change)."""
        self.walker_view.set_palette(palette)

    def close_workers(self) -> None:
        """Stop the optimizer's worker processes kept between sweeps."""
        self.optimizer_view.close_workers()

    async def shutdown(self) -> None:
        """Stop every comparison and wait for them to end (the window is closing)."""
        # Together, and one failing to stop does not keep the others running.
        await asyncio.gather(*(view.shutdown() for view in self.views.values()), return_exceptions=True)

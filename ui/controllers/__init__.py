"""The main window's areas of work, each handed to its own controller: runs, stored runs and comparisons."""

from ui.controllers.background import BackgroundTasks
from ui.controllers.comparisons import ComparisonController
from ui.controllers.history import HistoryController
from ui.controllers.runs import RunController

__all__ = ["BackgroundTasks", "ComparisonController", "HistoryController", "RunController"]

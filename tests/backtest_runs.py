"""Backtests run from the window as the Run button does, and the same requests run by the engine alone to compare."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import qasync

import workstation as ws
from ui.app import demo_request
from ui.backtest.run_tab import RunTab
from ui.main_window import MainWindow
from workstation.clients.strategy import Result

RSI_REVERSION_FEBRUARY = demo_request(
    29, start=datetime(2024, 2, 1, tzinfo=UTC), symbol="ETHUSDT", strategy_name="rsi-reversion"
)
"""The run issue 13 reported faults 1 and 12 on: rsi-reversion on the demo ETHUSDT candles of February 2024."""


def run_together(qloop: qasync.QEventLoop, window: MainWindow, *requests: ws.BacktestRequest) -> list[RunTab]:
    """Start each request in its own tab of ``window`` at once; run the loop until all of their runs have ended.

    The runs end inside one turn of the loop, as in the window: none is left stepping between two turns.
    """
    tabs = [window.runs.start(request) for request in requests]
    tasks = [window.runs.task_of(tab) for tab in tabs]
    assert None not in tasks, "a run tab started no run"
    qloop.run_until_complete(asyncio.gather(*(task for task in tasks if task is not None)))
    return tabs


def run_to_end(qloop: qasync.QEventLoop, window: MainWindow, request: ws.BacktestRequest) -> RunTab:
    """Start ``request`` in a new tab of ``window`` and run the loop until its run has ended; return the tab."""
    [tab] = run_together(qloop, window, request)
    return tab


def shown_trades(tab: RunTab) -> list[ws.ClosedResult]:
    """The closed results the tab's trade table shows, top to bottom."""
    model = tab.trades.model
    return [model.result_at(row) for row in range(model.rowCount())]


async def engine_results(request: ws.BacktestRequest) -> list[Result]:
    """Every result of ``request`` run headlessly, with its own costs, the application's config left as it was."""
    prepared = await ws.prepare_backtest(request)
    return [result async for result in prepared.run()]


async def engine_trades(request: ws.BacktestRequest) -> list[ws.ClosedResult]:
    """The closed results of ``request`` run headlessly (see :func:`engine_results`)."""
    return [result for result in await engine_results(request) if isinstance(result, ws.ClosedResult)]

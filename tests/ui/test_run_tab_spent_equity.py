"""A run tab whose run spent its equity says when, in the warning colour, and its trades stop there."""

from __future__ import annotations

import os
from pathlib import Path

import qasync
from backtest_runs import engine_trades, run_to_end, shown_trades

from ui.app import demo_request
from ui.main_window import MainWindow

#: Two days of the demo at 101 with the fixed cost of 100: the first trade loses 1.40 and leaves 99.60.
SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
SPENDING = demo_request(days=2).model_copy(update={"starting_balance": 101.0})


def test_the_status_line_says_when_the_equity_was_spent(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    tab = run_to_end(qloop, window, SPENDING)
    alone = qloop.run_until_complete(engine_trades(SPENDING))
    assert len(alone) == 1
    assert shown_trades(tab) == alone
    assert tab.status.text() == (
        "Finished · 1 closed signals · equity spent on 2024-01-01 01:21 UTC: no position opened after it"
    )
    assert tab.status.warning
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / "run_tab_equity_spent.png"))

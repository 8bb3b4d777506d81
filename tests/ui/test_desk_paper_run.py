"""The desk during a paper run: the live engine sends its orders through a SignalBroker to a real OrderDesk on a real
PaperVenue, and the window's docks, chart and blotter show them as they happen.

The market (tests/desk_market.py, rising by 2 a minute here) opens at 42000 at 00:00. A one-shot long opens at 00:10
with a stop loss at 41780 and a take profit at 42300, which candle 145 reaches (high 42010 + 2 × 145). The replay
clock plays 100 minutes a second; the screenshots are taken while the position is open, after 01:00.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qasync
from desk_market import MINUTE, T0, candles
from loop_helpers import on_loop, wait_until

import workstation as ws
from ui.main_window import MainWindow
from workstation.brokers.paper_venue import PaperVenue

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
SYMBOL = "BTCUSDT"
STRATEGY = "one-shot"
HISTORY = 720


def save(widget: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert widget.grab().save(str(path))
    return path


class PaperRun:
    """A one-shot long on a replayed market, a paper venue on the same candles and a desk in front of it."""

    def __init__(self, journal: Path) -> None:
        # Twelve hours before T0 too: the live chart reads that much history.
        self.candles = candles(HISTORY + 200, first=-HISTORY, rise=2.0)
        self.clock = ws.ReplayClock(datetime.fromtimestamp((T0 + 10 * MINUTE) / 1000, tz=UTC), speed=6000)
        ws.add_exchange(ws.make_replay_exchange("replayed", self.candles, self.clock))
        fired: list[ws.Signal] = []

        def get_signal(symbol: str, when: datetime) -> ws.Signal | None:
            if fired:
                return None
            fired.append(
                ws.Signal(
                    position="long", price_take_profit=42300.0, price_stop_loss=41780.0, minute_estimated_time=900
                )
            )
            return fired[0]

        ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=get_signal)
        self.venue = PaperVenue(
            candles=self.read, clock=self.clock.now_ms, balances={"USDT": 1000.0}, percent_fee=0.1, percent_slippage=0
        )
        self.desk = ws.OrderDesk(self.venue, limits=ws.RiskLimits(), journal_path=journal, clock=self.clock.now_ms)

    async def read(self, symbol: str, since: int, until: int) -> np.ndarray:
        stamps = self.candles["timestamp"]
        served: np.ndarray = self.candles[(stamps >= since) & (stamps < until)]
        return served

    def minute(self) -> float:
        return (self.clock.now_ms() - T0) / MINUTE


@pytest.fixture
def paper_run(tmp_path: Path, qloop: qasync.QEventLoop) -> Iterator[PaperRun]:
    """The run's parts (listed before ``window``: the desk's journal is closed after the window's teardown)."""
    run = PaperRun(tmp_path / "desk.sqlite3")
    yield run
    qloop.run_until_complete(run.desk.aclose())


def test_the_desk_shows_a_paper_run_s_orders_fills_and_position_as_they_happen(
    paper_run: PaperRun, window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    desk = paper_run.desk
    assert window.attach_desk(desk) is None
    wait_until(qloop, lambda: window.desk.opened)
    until = datetime.fromtimestamp((T0 + 170 * MINUTE) / 1000, tz=UTC)
    on_loop(
        qloop,
        lambda: ws.Live.background(
            SYMBOL,
            strategy_name=STRATEGY,
            exchange_name="replayed",
            clock=paper_run.clock,
            until=until,
            broker=ws.SignalBroker(desk),
        ),
    )
    view = window.desk
    # The position is open: its entry filled, its stop loss and take profit rest on the paper venue.
    wait_until(qloop, lambda: paper_run.minute() >= 60)
    view.refresh_soon()
    wait_until(qloop, lambda: view.fills_model.rowCount() == 1 and len(view.orders_model.open_orders()) == 2)
    entry = view.orders_model.rows()[-1]
    assert (entry.side, entry.type, entry.purpose, entry.strategy_name, entry.status) == (
        "buy",
        "market",
        "entry",
        STRATEGY,
        "closed",
    )
    assert sorted(order.type for order in view.orders_model.open_orders()) == ["stop_loss", "take_profit"]
    (position,) = view.positions_model.rows()
    assert (position.strategy_name, position.symbol, position.amount) == (STRATEGY, SYMBOL, entry.filled)
    # The Live tab follows the run: the chart draws its resting orders and its fill.
    wait_until(qloop, lambda: window.live_panel.chart.key == (SYMBOL, STRATEGY))
    window.desk.chart_orders.redraw()
    assert [label.split(" @ ")[0] for label in view.chart_orders.shown_labels()] == [
        f"SELL TAKE PROFIT {position.amount:g}",
        f"SELL STOP LOSS {position.amount:g}",
    ]
    actions = [line[3] for line in window.live_panel.blotter.model.texts()]
    assert "OPENED" in actions and "ORDER FILLED" in actions and actions.count("ORDER OPEN") == 2
    window.docks["orders"].raise_()
    window.docks["account"].raise_()
    save(window, "desk_paper_run_dark.png")
    window.apply_theme("light")
    save(window, "desk_paper_run_light.png")

    # The take profit fills at candle 145: the run closes its position, nothing rests, the account holds USDT only.
    wait_until(qloop, lambda: not any(status.status == "pending" for status in ws.Live.list()), timeout=60)
    view.refresh_soon()
    wait_until(qloop, lambda: view.fills_model.rowCount() == 2 and not view.orders_model.open_orders())
    assert view.positions_model.rowCount() == 0
    assert [row[0] for row in view.balances_model.texts()] == ["USDT"]
    save(window, "desk_paper_run_after_light.png")

"""Fault 12: a ranking never shows a figure twice ("Sharpe ratio" beside "Sharpe"): the metric's column is it."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.compare.sweep_results import SweepRowsModel, rows_csv
from ui.compare.walker_ranking import RankedStrategy, WalkerRankingModel

ROW = ws.OptimizerRow(
    rank=1,
    index=0,
    params={"fast": 10},
    metric_value=0.25,
    total_signals=12,
    win_rate=58.3,
    total_pnl=3.5,
    sharpe_ratio=0.25,
    avg_fall_pnl=-1.5,
    return_percent=1.2,
    max_drawdown_percent=2.5,
)


@pytest.mark.parametrize(
    ("metric", "headers", "texts"),
    [
        (
            "sharpe_ratio",
            ["Rank", "Strategy", "Sharpe ratio", "Trades", "Win rate", "Return", "Max DD", "Total PnL"],
            ["1", "s", "0.250", "12", "58.30%", "+1.20%", "-2.50%", "+3.50%"],
        ),
        (
            "total_pnl",
            ["Rank", "Strategy", "Total PnL", "Trades", "Win rate", "Return", "Max DD", "Sharpe"],
            ["1", "s", "+3.50%", "12", "58.30%", "+1.20%", "-2.50%", "0.250"],
        ),
        (
            "certainty_ratio",
            ["Rank", "Strategy", "Certainty ratio", "Trades", "Win rate", "Return", "Max DD", "Total PnL", "Sharpe"],
            ["1", "s", "0.800", "12", "58.30%", "+1.20%", "-2.50%", "+3.50%", "0.250"],
        ),
    ],
)
def test_the_walker_ranking_shows_each_figure_once(
    qtbot: QtBot, metric: str, headers: list[str], texts: list[str]
) -> None:
    model = WalkerRankingModel()
    model.start(metric)
    value = {"sharpe_ratio": 0.25, "total_pnl": 3.5, "certainty_ratio": 0.8}[metric]
    model.add(RankedStrategy("s", value, 12, 58.3, 3.5, 0.25, -1.5, return_percent=1.2, max_drawdown_percent=2.5))
    assert model.headers() == headers
    assert model.columnCount() == len(headers)
    assert model.texts(0) == texts
    assert model.headers()[model.pnl_column()] == "Total PnL"


def test_the_sweep_table_and_its_csv_show_each_figure_once() -> None:
    model = SweepRowsModel()
    model.start(["fast"], "sharpe_ratio")
    model.set_rows([ROW])
    assert model.headers() == [
        "Rank", "fast", "Sharpe ratio", "Trades", "Win rate", "Return", "Max DD", "Total PnL", "Error"
    ]  # fmt: skip
    assert model.texts(0) == ["1", "10", "0.250", "12", "58.30%", "+1.20%", "-2.50%", "+3.50%", ""]
    assert model.headers()[model.pnl_column()] == "Total PnL"
    assert rows_csv([ROW], ["fast"], "sharpe_ratio").splitlines() == [
        "rank,index,fast,sharpe_ratio,total_signals,win_rate,return_percent,max_drawdown_percent,total_pnl,error",
        "1,0,10,0.25,12,58.3,1.2,2.5,3.5,",
    ]

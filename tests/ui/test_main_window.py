"""The main window end to end: run from the form, trades equal the engine's, stop, close during a run, history,
comparison, strategy-file errors, engine errors, themes and screenshots with pixel facts.

Every test drives a real ``MainWindow`` on a qasync loop, with its settings and history in ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import qasync
from backtest_runs import engine_trades, run_to_end, run_together, shown_trades
from child_python import run_python, run_workstation
from loop_helpers import wait_until
from PySide6.QtCore import QModelIndex, QSettings, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.app import _report_to, demo_request, start_demo
from ui.charts import DARK_PALETTE, LIGHT_PALETTE
from ui.main_window import MainWindow
from ui.widgets.comparison import ComparisonView

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))
TWO_DAYS = demo_request(days=2)
QUARTER = demo_request(days=91)


def save(widget: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    assert widget.grab().save(str(path))
    return path


def colour_pixels(image: QImage, colour: str) -> int:
    """Count the pixels painted exactly in ``colour``."""
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(bytes(converted.constBits()), dtype=np.uint8).reshape(converted.height(), -1)
    rgb = raw[:, : converted.width() * 3].reshape(converted.height(), converted.width(), 3)
    wanted = QColor(colour)
    return int(np.all(rgb == (wanted.red(), wanted.green(), wanted.blue()), axis=2).sum())


# ---------------------------------------------------------------------------------------------------------------
# Runs


def test_a_run_shows_exactly_the_engine_s_trades_and_one_entry_marker_per_trade(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    """Two demo days of sma-cross-market: the tab's table holds the engine's 23 trades, in order, field for field."""
    tab = run_to_end(qloop, window, TWO_DAYS)

    assert tab.state == "Finished"
    shown = shown_trades(tab)
    expected = qloop.run_until_complete(engine_trades(TWO_DAYS))
    assert len(expected) == 23
    assert shown == expected
    assert tab.chart.entry_marker_count() == 23
    assert tab.chart.exit_marker_count() == 23
    assert tab.status.text() == "Finished · 23 closed signals"
    assert window.tabs.tabText(window.tabs.indexOf(tab)) == "sma-cross-market · BTCUSDT"


def test_the_demo_run_shows_its_request_in_the_backtest_form(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    """--run-demo: the form shows the demo's period and strategy, not last month's defaults, so Run repeats it."""
    tab = start_demo(window)
    shown = window.backtest_form.request()
    assert shown is not None
    assert shown.model_dump(exclude={"params"}) == demo_request().model_dump(exclude={"params"})
    defaults = ws.strategy_params_model("sma-cross-market")
    assert defaults is not None
    assert shown.params == defaults().model_dump()  # the form spells out the defaults the demo leaves implicit
    tab.request_stop()
    task = window.runs.task_of(tab)
    assert task is not None
    qloop.run_until_complete(task)
    assert tab.state == "Stopped"


def test_clicking_a_trade_centres_the_chart_on_it_keeping_the_zoom(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """A finished run shows the whole period; the trader zooms in (+ four times), then clicks the 11th trade."""
    tab = run_to_end(qloop, window, TWO_DAYS)
    first, last = tab.chart.visible_time_range()
    assert last - first >= 2 * 1440 * 60_000 - 60_000  # the overview: both days in view
    for _ in range(4):
        qtbot.keyClick(tab.chart, Qt.Key.Key_Plus)
    first, last = tab.chart.visible_time_range()
    span = last - first
    assert span < 1440 * 60_000
    view = tab.trades.table
    row_rect = view.visualRect(view.model().index(10, 1, QModelIndex()))

    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=row_rect.center())

    trade = shown_trades(tab)[10]
    assert trade.signal.pending_at is not None
    middle = (trade.signal.pending_at + trade.close_timestamp) // 2
    first, last = tab.chart.visible_time_range()
    assert first <= middle <= last
    assert abs((last - first) - span) <= 60_000  # the same number of bars in view, to the bar
    assert abs((first + last) // 2 - middle) <= 60_000


def test_stop_during_a_run_ends_it_gracefully_with_its_partial_results(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    tab = window.runs.start(QUARTER)

    async def stop_after_the_first_trades() -> None:
        # The engine's progress, not the table: a running table shows its trades a few times a second.
        while (progress := ws.Backtest.get_progress("BTCUSDT", "sma-cross-market")) is None or progress.progress < 0.05:
            await asyncio.sleep(0.005)
        window.runs.stop_current()
        assert tab.state == "Stopping"
        task = window.runs.task_of(tab)
        assert task is not None
        await task

    qloop.run_until_complete(stop_after_the_first_trades())

    assert tab.state == "Stopped"
    trades = shown_trades(tab)
    assert 20 <= len(trades) < 600  # the quarter holds 662 trades, 5 % of it about 33; the stop came soon after
    engine = qloop.run_until_complete(ws.Backtest.get_data("BTCUSDT", "sma-cross-market"))
    assert trades == engine.signal_list
    assert tab.status.text() == f"Stopped · {len(trades)} closed signals"
    assert [run.state for run in window.history.list_runs()] == ["stopped"]
    assert not window.runs.stop_action.isEnabled()


def test_closing_the_window_during_a_run_cancels_it_cleanly(
    window: MainWindow, qloop: qasync.QEventLoop, qapp: QApplication, capfd: pytest.CaptureFixture[str]
) -> None:
    # Closing the last window would quit the application and stop the loop under the test.
    qapp.setQuitOnLastWindowClosed(False)
    tab = window.runs.start(QUARTER)

    async def close_while_running() -> None:
        while (progress := ws.Backtest.get_progress("BTCUSDT", "sma-cross-market")) is None or progress.progress < 0.05:
            await asyncio.sleep(0.005)
        task = window.runs.task_of(tab)
        assert task is not None
        window.close()
        assert window.isVisible()  # it waits for the run to clean up before it really closes
        await asyncio.gather(task, return_exceptions=True)
        for _ in range(50):
            if not window.isVisible():
                break
            await asyncio.sleep(0.01)

    qloop.run_until_complete(close_while_running())

    assert not window.isVisible()
    assert tab.state == "Stopped"
    assert tab.status.text() == "Cancelled: the window closed during the run"
    assert "Traceback" not in capfd.readouterr().err
    assert window.error_panel.isHidden()
    # The engine let go of the pair: the same run can start again at once.
    assert len(qloop.run_until_complete(engine_trades(TWO_DAYS))) == 23
    qapp.setQuitOnLastWindowClosed(True)


def test_a_failing_run_says_why_and_the_window_lives_on(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    """A period before the demo data begins: the run fails with the exchange's message, shown and logged."""
    early = TWO_DAYS.model_copy(
        update={"start": datetime(2019, 1, 1, tzinfo=UTC), "end": datetime(2019, 1, 2, tzinfo=UTC)}
    )
    tab = run_to_end(qloop, window, early)

    assert tab.state == "Failed"
    assert tab.status.text().startswith("Failed: ")
    assert window.error_panel.isVisible()
    assert "failed" in window.error_panel.message.text()
    assert window.history.list_runs() == []
    # The start is the field at fault: the form says so next to it, with the first start the candles allow.
    assert window.backtest_form.form.error("start") == (
        "2019-01-01 00:00 UTC is too early for the demo exchange: its first candle opens at 2020-01-01 00:00 UTC "
        "and the first tick needs 5 candles before it; the first usable start is 2020-01-01 00:05 UTC"
    )
    assert run_to_end(qloop, window, TWO_DAYS).state == "Finished"


# ---------------------------------------------------------------------------------------------------------------
# History and comparison


def test_a_stored_run_reopens_without_running_again(
    window: MainWindow, qloop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran = run_to_end(qloop, window, TWO_DAYS)
    [stored] = window.history.list_runs()
    wait_until(qloop, lambda: window.stored_runs.panel.table_model.rowCount() == 1)  # the dock lists it in turn

    def no_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("reopening a stored run must not run it")

    monkeypatch.setattr(ws.Backtest, "run", no_run)
    reopened = qloop.run_until_complete(window.stored_runs.open(stored.id))

    assert reopened is not None
    assert shown_trades(reopened) == shown_trades(ran)
    assert reopened.status.text() == f"Finished (from the history, run #{stored.id})"
    qloop.run_until_complete(asyncio.sleep(0.3))  # the candles are read back in the background
    assert len(reopened.chart.candles()) == 2 * 1440
    assert reopened.chart.entry_marker_count() == 23


def test_two_stored_runs_open_side_by_side(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    run_to_end(qloop, window, TWO_DAYS)
    run_to_end(qloop, window, TWO_DAYS.model_copy(update={"params": {"fast": 10, "slow": 30}}))
    older, newer = sorted(run.id for run in window.history.list_runs())

    view = qloop.run_until_complete(window.stored_runs.compare(newer, older))

    assert isinstance(view, ComparisonView)
    assert window.tabs.tabText(window.tabs.currentIndex()) == f"Compare #{newer} / #{older}"
    save(window, "main_window_comparison.png")


# ---------------------------------------------------------------------------------------------------------------
# Errors


def test_a_strategy_file_with_a_syntax_error_is_reported_and_the_window_lives_on(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import workstation as ws\n\ndef get_signal(symbol, when)\n    return None\n", encoding="utf-8")

    assert not window.strategies.load_file(broken)

    assert window.error_panel.isVisible()
    assert window.error_panel.message.text() == f"⚠ {broken}: SyntaxError: expected ':' (line 3)"
    assert "SyntaxError" in window.log.text()
    assert window.strategies.status.text() == "Could not load broken.py: see the log."
    assert run_to_end(qloop, window, TWO_DAYS).state == "Finished"


def test_a_loaded_strategy_file_is_listed_and_runs(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    path = tmp_path / "mine.py"
    path.write_text(
        "import workstation as ws\n"
        "def get_signal(symbol, when):\n    return None\n"
        "ws.add_strategy(strategy_name='never-trades', interval='5m', get_signal=get_signal)\n",
        encoding="utf-8",
    )

    assert window.strategies.load_file(path)

    assert "never-trades" in window.strategies.names()
    tab = run_to_end(qloop, window, TWO_DAYS.model_copy(update={"strategy_name": "never-trades"}))
    assert (tab.state, tab.trades.model.rowCount()) == ("Finished", 0)


def test_a_strategy_raising_is_logged_and_the_run_completes(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    path = tmp_path / "raising.py"
    path.write_text(
        "import workstation as ws\n"
        "def get_signal(symbol, when):\n    raise RuntimeError('boom in the strategy')\n"
        "ws.add_strategy(strategy_name='raising', interval='1h', get_signal=get_signal)\n",
        encoding="utf-8",
    )
    assert window.strategies.load_file(path)

    tab = run_to_end(qloop, window, TWO_DAYS.model_copy(update={"strategy_name": "raising"}))

    assert tab.state == "Finished"
    assert window.error_panel.isVisible()
    assert window.error_panel.message.text().startswith("⚠ get_signal: boom in the strategy (raising, BTCUSDT)")
    assert window.log.text().count("boom in the strategy") >= 48  # one per hourly call over two days


def test_an_exception_escaping_a_slot_goes_to_the_log_not_to_the_floor(window: MainWindow) -> None:
    hook = _report_to(window)
    try:
        raise ValueError("a bug in a slot")
    except ValueError as error:
        hook(ValueError, error, error.__traceback__)

    assert window.error_panel.message.text() == "⚠ ValueError: a bug in a slot"
    assert "Traceback (most recent call last)" in window.log.text()
    assert window.isVisible()


# ---------------------------------------------------------------------------------------------------------------
# Looks: screenshots with pixel facts


@pytest.mark.parametrize(("theme", "palette"), [("dark", DARK_PALETTE), ("light", LIGHT_PALETTE)])
def test_the_window_after_a_demo_run_in_each_theme(
    window: MainWindow, qloop: qasync.QEventLoop, theme: str, palette: Any
) -> None:
    window.apply_theme(theme)  # type: ignore[arg-type]
    tab = run_to_end(qloop, window, demo_request())
    qloop.run_until_complete(asyncio.sleep(0.2))

    chart = QImage(tab.chart.grab().toImage())
    assert colour_pixels(chart, palette.up) > 100
    assert colour_pixels(chart, palette.down) > 100
    assert colour_pixels(chart, palette.background) > chart.width() * chart.height() // 3
    path = save(window, f"main_window_{theme}.png")
    assert QImage(str(path)).width() == window.width()
    assert window.settings.value("theme") == theme


def test_the_screenshot_command_runs_the_demo_and_saves_the_window(tmp_path: Path) -> None:
    png = tmp_path / "window.png"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    completed = run_workstation("--screenshot", str(png), "--run-demo", env=env, timeout=240)
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    image = QImage(str(png))
    assert image.width() >= 800 and image.height() >= 600
    assert colour_pixels(image, DARK_PALETTE.up) > 100


def test_without_a_display_the_window_command_says_what_to_do_instead(tmp_path: Path) -> None:
    env = {
        key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["HOME"] = str(tmp_path)
    completed = run_workstation("--run-demo", env=env)
    assert completed.returncode == 2
    assert completed.stderr.startswith("workstation: no display to open the window on.")


def test_stop_before_the_engine_starts_ends_the_run_with_nothing_saved(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    tab = window.runs.start(TWO_DAYS)
    window.runs.stop_current()  # still drawing the new tab: the engine has not started
    task = window.runs.task_of(tab)
    assert task is not None
    qloop.run_until_complete(task)

    assert (tab.state, tab.engine_started) == ("Stopped", False)
    assert tab.status.text() == "Stopped before the run started"
    assert window.history.list_runs() == []
    assert window.error_panel.isHidden()


def test_ctrl_tab_steps_through_the_tabs_and_ctrl_w_closes_a_run_tab_but_never_live(
    window: MainWindow, qloop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    first = run_to_end(qloop, window, TWO_DAYS)
    second = run_to_end(qloop, window, TWO_DAYS.model_copy(update={"params": {"fast": 10, "slow": 30}}))
    assert window.runs.current_tab() is second

    qtbot.keyClick(window, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.live_panel
    qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.live_panel
    qtbot.keyClick(window, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert window.runs.current_tab() is first
    qtbot.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert window.runs.run_tabs() == [second]


def test_the_dock_layout_and_theme_are_remembered(qtbot: QtBot, qloop: qasync.QEventLoop, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    history = ws.RunHistory(tmp_path / "history.sqlite3")
    first = MainWindow(settings=settings, history=history, theme="dark")
    qtbot.addWidget(first)
    first.show()
    first.docks["log"].hide()
    first.apply_theme("light")
    first.close()

    second = MainWindow(settings=settings, history=history, theme=str(settings.value("theme")))  # type: ignore[arg-type]
    qtbot.addWidget(second)
    second.show()
    assert second.docks["log"].isHidden()
    assert second.docks["history"].isVisible()
    assert second.theme == "light"
    history.close()


CLOSE_DURING_THE_DEMO = """
import sys
from PySide6.QtCore import QTimer
import ui.main_window

shown = ui.main_window.MainWindow.show

def show_then_close_soon(self):
    shown(self)
    QTimer.singleShot(200, self.close)  # the demo run is still loading or running then

ui.main_window.MainWindow.show = show_then_close_soon
from ui.cli import main
raise SystemExit(main(["--run-demo"]))
"""


def test_the_application_closed_during_a_run_exits_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    completed = run_python("-c", CLOSE_DURING_THE_DEMO, env=env)
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "Error" not in completed.stderr


def test_runs_started_together_each_use_their_own_costs_and_leave_the_config_alone(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    """Two tabs at once, one without fees and slippage, one with costs of 0.2 %: each trade list equals the
    engine's for its own request alone, and the application's config is still the default afterwards."""
    free = TWO_DAYS.model_copy(update={"percent_fee": 0.0, "percent_slippage": 0.0})
    costly = TWO_DAYS.model_copy(
        update={"percent_fee": 0.2, "percent_slippage": 0.2, "params": {"fast": 10, "slow": 30}}
    )
    tabs = run_together(qloop, window, free, costly)

    assert ws.get_config() == ws.Config()
    for tab, request in zip(tabs, (free, costly), strict=True):
        assert shown_trades(tab) == qloop.run_until_complete(engine_trades(request))
    assert shown_trades(tabs[0])[0].pnl.fee_cost == 0.0
    assert shown_trades(tabs[1])[0].pnl.fee_cost > 0.39


def test_the_status_bar_shows_progress_with_an_eta_during_a_run(window: MainWindow, qloop: qasync.QEventLoop) -> None:
    tab = window.runs.start(QUARTER)
    seen: list[tuple[int, str]] = []

    async def watch() -> None:
        task = window.runs.task_of(tab)
        assert task is not None
        while not task.done():
            if window.runs.progress.isVisible():
                seen.append((window.runs.progress.value(), window.runs.eta.text()))
            await asyncio.sleep(0.01)

    qloop.run_until_complete(watch())

    assert tab.state == "Finished"
    values = [value for value, _ in seen]
    assert values == sorted(values)
    assert any(0 < value < 1000 for value in values)
    assert any(re.fullmatch(r"ETA \d+ s", eta) for _, eta in seen), seen[-5:]
    assert window.runs.progress.isHidden()
    assert window.runs.eta.text() == ""


def test_open_strategy_file_uses_a_non_modal_dialog_that_loads_the_chosen_file(
    window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "chosen.py"
    path.write_text(
        "import workstation as ws\n"
        "ws.add_strategy(strategy_name='chosen', interval='5m', get_signal=lambda symbol, when: None)\n",
        encoding="utf-8",
    )
    dialog = window._open_strategy_file()  # returns at once: no nested event loop under the running tasks
    assert dialog.isVisible()
    assert dialog.windowModality() == Qt.WindowModality.WindowModal

    dialog.fileSelected.emit(str(path))

    assert "chosen" in window.strategies.names()
    dialog.reject()


@pytest.mark.parametrize(
    ("target", "code", "message"),
    [
        ("missing/inside-a-file/window.png", 2, "workstation: --screenshot: cannot create "),
        ("a-folder.png", 1, "workstation: --screenshot: could not write "),
    ],
    ids=["folder-cannot-be-created", "path-is-a-folder"],
)
def test_a_screenshot_path_that_cannot_be_written_says_so_and_leaves_nothing(
    tmp_path: Path, target: str, code: int, message: str
) -> None:
    (tmp_path / "missing").write_text("a file where a folder would have to be", encoding="utf-8")
    (tmp_path / "a-folder.png").mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    completed = run_workstation("--screenshot", str(tmp_path / target), env=env)
    assert completed.returncode == code
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not [path.name for path in tmp_path.iterdir() if "partial" in path.name]


def test_the_live_strategies_are_docked_and_the_live_chart_is_the_first_tab_that_never_closes(
    window: MainWindow, qtbot: QtBot
) -> None:
    assert window.docks["live"].widget() is window.live_panel.strategies_view
    assert window.live_panel.table.isVisibleTo(window)
    assert window.tabs.widget(0) is window.live_panel
    assert window.tabs.tabText(0) == "Live"
    window._close_tab_at(0)
    assert window.tabs.widget(0) is window.live_panel
    live_menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Live")
    assert [action.text() for action in live_menu.actions()] == [
        "Start",
        "Stop",
        "Stop all",
        "Start paper trading…",
        "Start live…",
        "",
        "Close now",
        "Close part…",
        "Move stop to breakeven",
        "Trail stop…",
        "Trail take profit…",
        "Add to position…",
        "",
        "Cancel order",
        "Fill now",
        "",
        "Pause",
        "Resume",
    ]


def test_the_compare_menu_opens_each_view_once_as_a_tab_that_keeps_its_results_when_closed(
    window: MainWindow,
) -> None:
    compare_menu = next(action.menu() for action in window.menuBar().actions() if action.text() == "&Compare")
    texts = [action.text() for action in compare_menu.actions()]
    assert texts == ["Compare strategies…", "Optimize parameters…", "Portfolio heatmap…"]
    compare_menu.actions()[1].trigger()
    assert window.tabs.currentWidget() is window.comparisons.optimizer_view
    compare_menu.actions()[1].trigger()
    assert [window.tabs.tabText(index) for index in range(window.tabs.count())] == ["Live", "Optimizer"]
    window._close_tab_at(1)
    assert window.tabs.count() == 1
    assert window.comparisons.open("Optimizer") is window.comparisons.optimizer_view
    assert window.tabs.currentWidget() is window.comparisons.optimizer_view

"""Theme switch with many run tabs open: how long the window takes to change theme, both ways.

Run ``python -m benchmarks.theme_switch`` from the repository root. It opens the main window offscreen (throwaway
settings and data folders), runs 14 two-day demo backtests of sma-cross-market into 14 run tabs, then switches the
theme from dark to light and back ``REPEATS`` times, exactly as the View menu does. Each switch is timed from the
menu's call to the end of the repaint it causes (the events it posted processed, which draws the window again).
Target: ``switch_ms`` (the median of the slower direction) ≤ 200.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio
import statistics
import time

from PySide6.QtWidgets import QApplication

from benchmarks.window import benchmark_window
from ui.app import demo_request
from ui.main_window import MainWindow
from ui.themes import ThemeName

TABS = 14
REPEATS = 5
TWO_DAYS = demo_request(days=2)


async def fill_tabs(window: MainWindow) -> None:
    """Run ``TABS`` backtests, each in its own tab, one after another; raise if one does not finish."""
    for fast in range(5, 5 + TABS):
        tab = window.runs.start(TWO_DAYS.model_copy(update={"params": {"fast": fast, "slow": 30}}))
        task = window.runs.task_of(tab)
        assert task is not None
        await task
        if tab.state != "Finished":
            raise RuntimeError(f"run {fast} ended {tab.state}: {tab.error_message}")


def switch_ms(app: QApplication, window: MainWindow, theme: ThemeName) -> float:
    """Switch to ``theme`` and return the ms until the window has processed and painted what that caused.

    The switch posts the repaints of every widget it changed; processing the posted events paints them.
    """
    started = time.perf_counter()
    window.apply_theme(theme)
    app.processEvents()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    with benchmark_window("workstation-theme-", size=(1500, 950)) as (app, loop, window, _home):
        loop.run_until_complete(fill_tabs(window))
        loop.run_until_complete(asyncio.sleep(0.3))
        to_light: list[float] = []
        to_dark: list[float] = []
        for _ in range(REPEATS):
            to_light.append(switch_ms(app, window, "light"))
            to_dark.append(switch_ms(app, window, "dark"))
        tabs = len(window.runs.run_tabs())
    light, dark = statistics.median(to_light), statistics.median(to_dark)
    print(f"theme switch with {tabs} run tabs open, median of {REPEATS}:")
    print(f"  dark -> light {light:.0f} ms (worst {max(to_light):.0f} ms)")
    print(f"  light -> dark {dark:.0f} ms (worst {max(to_dark):.0f} ms)")
    print(f"switch_ms={max(light, dark):.0f} to_light_ms={light:.0f} to_dark_ms={dark:.0f} tabs={tabs}")


if __name__ == "__main__":
    main()

"""Startup time: from process start to an interactive main window.

Run ``python -m benchmarks.startup`` from the repository root. Each measurement starts a fresh Python process
(offscreen Qt, a throwaway settings and data folder) and times it from the moment it is spawned to the moment the
main window has been shown and the event loop has turned once, i.e. the window answers input. The baseline is the
same measurement for a bare ``QMainWindow`` in the same run, so the ratio shows what the workstation adds on top
of Python and Qt themselves. The best of 5 runs counts (as ``timeit`` does); the median is printed beside it.
Target: ``startup_s`` ≤ 1.5.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

REPEATS = 5

_WORKSTATION_CHILD = """
import asyncio, sys
from PySide6.QtCore import QCoreApplication, QSettings, QTimer
from PySide6.QtWidgets import QApplication
import qasync
import workstation as ws
from ui.main_window import MainWindow
app = QApplication([sys.argv[0]])
QCoreApplication.setOrganizationName("workstation-benchmark")
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
window = MainWindow(settings=QSettings(), history=ws.RunHistory())
window.show()
QTimer.singleShot(0, lambda: (print("ready", flush=True), app.quit()))
app.exec()
"""

_BARE_QT_CHILD = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([sys.argv[0]])
window = QMainWindow()
window.show()
QTimer.singleShot(0, lambda: (print("ready", flush=True), app.quit()))
app.exec()
"""


def _time_child(code: str, home: str) -> float:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": home,
        "XDG_CONFIG_HOME": home,
        "XDG_DATA_HOME": home,
    }
    started = time.perf_counter()
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env) as child:
        assert child.stdout is not None
        line = child.stdout.readline()
        elapsed = time.perf_counter() - started
        child.wait(timeout=60)
    if line.strip() != "ready" or child.returncode != 0:
        raise RuntimeError(f"the child did not start its window (exit {child.returncode}, said {line!r})")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="workstation-startup-") as home:
        _time_child(_WORKSTATION_CHILD, home)  # warm the file cache and compile the bytecode once
        ours = [_time_child(_WORKSTATION_CHILD, home) for _ in range(REPEATS)]
        bare = [_time_child(_BARE_QT_CHILD, home) for _ in range(REPEATS)]
    best, bare_best = min(ours), min(bare)
    print(f"process start to an interactive window, offscreen, best of {REPEATS}")
    print(f"  workstation main window  {best:.3f} s (median {statistics.median(ours):.3f} s)")
    print(f"  bare QMainWindow         {bare_best:.3f} s (median {statistics.median(bare):.3f} s)")
    median = statistics.median(ours)
    print(f"startup_s={best:.3f} median_s={median:.3f} bare_qt_s={bare_best:.3f} ratio={best / bare_best:.2f}")


if __name__ == "__main__":
    main()

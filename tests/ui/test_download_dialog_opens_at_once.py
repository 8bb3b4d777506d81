"""Fault 12 (Download dialog): the dialog is shown before ccxt is imported; the exchange list follows.

Importing ccxt took seconds on the GUI thread (3.9 s from the menu click to the dialog). The dialog now opens at
once saying the list is loading, ccxt is imported in a worker thread, and the list is filled when it is there. A
fresh process is the only place where ccxt is not imported yet, so the window runs in one.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

from child_python import run_python

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys
    import qasync
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    import workstation as ws
    from ui.main_window import MainWindow

    folder = sys.argv[1]
    app = QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(
        settings=QSettings(os.path.join(folder, "settings.ini"), QSettings.Format.IniFormat),
        history=ws.RunHistory(os.path.join(folder, "history.sqlite3")),
        theme="dark",
    )
    window.show()
    dialog = window.open_download_dialog()
    facts = {
        "ccxt imported before": "ccxt" in sys.modules,
        "shown": dialog.isVisible(),
        "status when shown": dialog.status_label.text(),
        "download enabled when shown": dialog.download_button.isEnabled(),
        "ccxt imported when shown": "ccxt.async_support" in sys.modules,
    }

    async def list_filled() -> None:
        while dialog.status_label.text() == "Loading the list of exchanges…":
            await asyncio.sleep(0.02)

    loop.run_until_complete(asyncio.wait_for(list_filled(), 120))
    facts["status when filled"] = dialog.status_label.text()
    facts["exchanges"] = ws.ccxt_exchange_names()
    facts["exchange chosen"] = dialog.form.values()["exchange_name"]
    facts["download enabled when filled"] = dialog.download_button.isEnabled()
    print(json.dumps(facts), flush=True)
    os._exit(0)
    """
)


def test_the_download_dialog_is_shown_before_ccxt_is_imported_and_the_list_follows(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    completed = run_python("-c", SCRIPT, str(tmp_path), env=env, timeout=180)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == {
        "ccxt imported before": False,
        "shown": True,
        "status when shown": "Loading the list of exchanges…",
        "download enabled when shown": False,
        "ccxt imported when shown": False,
        "status when filled": "",
        "exchanges": ["binance", "bybit", "okx", "kraken", "coinbase"],
        "exchange chosen": "binance",
        "download enabled when filled": True,
    }

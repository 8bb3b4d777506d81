"""Fault 3 of issue 13: a stored live position of a strategy loaded from a file could not be resumed after a restart
(``strategy "…" not found``) and the banner vanished.

The strategy files a trader opened are remembered and loaded again at start; a missing or broken one is named in the
restore banner and the log, and the others still load. A resume that fails keeps its line in the banner with the
reason.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest
import qasync
from loop_helpers import on_loop, wait_until
from signal_factory import signal_row

import workstation as ws
from ui.main_window import MainWindow

SYMBOL = "BTCUSDT"
SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui_shots"))


def shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / name


GOOD = """
import workstation as ws

ws.add_strategy(strategy_name="from-file", interval="1m", get_signal=lambda symbol, when: None)
"""
BROKEN = """
import workstation as ws

raise RuntimeError("half edited")
"""


def write_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    good, broken, missing = tmp_path / "good.py", tmp_path / "broken.py", tmp_path / "moved_away.py"
    good.write_text(GOOD)
    broken.write_text(BROKEN)
    missing.write_text(GOOD.replace("from-file", "moved"))
    return good, broken, missing


def remember(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Load the three files as a trader did in an earlier session, then break one and move one away."""
    good, broken, missing = write_files(tmp_path)
    broken.write_text(GOOD.replace("from-file", "was-fine"))
    earlier = ws.StrategyFiles(remembered=ws.remembered_files_path())
    for path in (good, broken, missing):
        earlier.load(path)
    broken.write_text(BROKEN)
    missing.unlink()
    ws.reset()
    return good.resolve(), broken.resolve(), missing.resolve()


def store_position(qloop: qasync.QEventLoop, strategy_name: str) -> None:
    pending = int(time.time() * 1000) - 10 * 60_000
    row = signal_row(
        f"stored-{strategy_name}", pending_at=pending, strategy_name=strategy_name, minute_estimated_time=24 * 60
    )
    qloop.run_until_complete(ws.persist.adapter("signal").write_value(f"{SYMBOL}:{strategy_name}", row.model_dump()))


def test_loaded_files_are_remembered_and_loaded_again_the_failing_ones_named(tmp_path: Path) -> None:
    good, broken, missing = remember(tmp_path)
    assert ws.StrategyFiles(remembered=ws.remembered_files_path()).remembered() == [good, broken, missing]
    again = ws.StrategyFiles(remembered=ws.remembered_files_path())
    names, failures = again.load_remembered()
    assert names == ["from-file"]
    assert [(error.path, error.problem) for error in failures] == [(broken, "raised"), (missing, "missing")]
    assert str(failures[0]) == f"{broken}: RuntimeError: half edited (line 4)"
    assert [schema.strategy_name for schema in ws.list_strategies()] == ["from-file"]
    # A file that failed stays remembered: fixed, it loads at the next start.
    assert again.remembered() == [good, broken, missing]


def test_without_a_list_nothing_is_remembered(tmp_path: Path) -> None:
    good, _broken, _missing = write_files(tmp_path)
    files = ws.StrategyFiles()
    files.load(good)
    assert files.remembered() == []
    assert not ws.remembered_files_path().exists()


def test_the_window_reloads_remembered_files_names_the_failures_and_resumes_the_file_strategy(
    window: MainWindow, qloop: qasync.QEventLoop, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _good, broken, missing = remember(tmp_path)
    store_position(qloop, "from-file")
    with caplog.at_level(logging.ERROR, logger="workstation.strategy_files"):
        window.offer_restored_live_state()
    banner = window.live_panel.banner
    wait_until(qloop, lambda: banner.model.rowCount() == 1)
    assert "from-file" in window.strategies.names()
    assert banner.note_texts() == [
        f"Strategy file not loaded: {broken}: RuntimeError: half edited (line 4)",
        f"Strategy file not loaded: {missing}: not a file",
    ]
    log = window.log.view.toPlainText()
    assert f"Strategy file not reloaded: {broken}: RuntimeError: half edited (line 4)" in log
    assert f"Strategy file not reloaded: {missing}: not a file" in log
    assert [record.getMessage() for record in caplog.records if record.name == "workstation.strategy_files"] == [
        f"strategy file not reloaded: {broken}: RuntimeError: half edited (line 4)",
        f"strategy file not reloaded: {missing}: not a file",
    ]

    on_loop(qloop, banner.resume)
    try:
        assert window.live_panel.strategies.run((SYMBOL, "from-file")) is not None
        assert banner.model.rowCount() == 0
        assert not banner.isHidden()  # the file notes stay until dismissed
    finally:
        qloop.run_until_complete(window.live_panel.shutdown(grace_seconds=0.5))


def test_a_failed_resume_keeps_its_line_in_the_banner_with_the_reason(
    window: MainWindow, qloop: qasync.QEventLoop
) -> None:
    store_position(qloop, "gone")
    window.offer_restored_live_state()
    banner = window.live_panel.banner
    wait_until(qloop, lambda: banner.model.rowCount() == 1)
    on_loop(qloop, banner.resume)
    assert not banner.isHidden()
    assert [line[2] for line in banner.model.texts()] == ["gone"]
    assert banner.note_texts() == [
        'The open position of gone on BTCUSDT (demo) did not resume: strategy "gone" is not loaded: open its '
        "strategy file, then resume"
    ]

    # Its strategy loaded, the line resumes on the next try: the line and its old note go, and with them the banner.
    async def nothing(symbol: str, when: object) -> None:
        return None

    ws.add_strategy(strategy_name="gone", interval="1m", get_signal=nothing)
    assert banner.grab().save(str(shot("restore_banner_did_not_resume.png")))
    on_loop(qloop, banner.resume)
    try:
        assert window.live_panel.strategies.run((SYMBOL, "gone")) is not None
        assert banner.model.rowCount() == 0
        assert banner.note_texts() == []
        assert banner.isHidden()
        assert window.live_panel.grab().save(str(shot("restore_banner_resumed_later.png")))
    finally:
        qloop.run_until_complete(window.live_panel.shutdown(grace_seconds=0.5))

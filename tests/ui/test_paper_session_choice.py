"""Fault 9 of issue 13 in the window: starting paper trading with the settings of a stored session asks whether to
resume it or start a new one, and does what the trader answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import qasync
from loop_helpers import on_loop, wait_until
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

import workstation as ws
from ui.live.panel import LivePanel
from ui.live.session_question import PaperSessionQuestion

SYMBOL = "BTCUSDT"
STRATEGY = "quiet"
START = datetime(2024, 1, 1, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
SESSION = "paper-demo-BTCUSDT-20240101T0000-600x"
#: Where the stored session had got to: 03:00 on its first day.
REACHED = START_MS + 3 * 3_600_000


async def stored_progress() -> Any:
    adapter = ws.persist.adapter("progress")
    key = f"{SYMBOL}:{STRATEGY}"
    return await adapter.read_value(key) if await adapter.has_value(key) else None


def progress(qloop: qasync.QEventLoop) -> Any:
    return qloop.run_until_complete(stored_progress())


def wait_for_tick(qloop: qasync.QEventLoop, condition: Callable[[int], bool]) -> int:
    """Wait until the stored progress's last tick satisfies ``condition``; return that tick."""

    async def poll() -> int:
        while True:
            value = await stored_progress()
            if value is not None and value.get("exchange_name") == SESSION and condition(value["last_tick"]):
                return int(value["last_tick"])
            await asyncio.sleep(0.01)

    return qloop.run_until_complete(asyncio.wait_for(poll(), 20))


@pytest.fixture
def question(panel: LivePanel, qloop: qasync.QEventLoop, qtbot: QtBot) -> PaperSessionQuestion:
    """The panel's question once a session stopped at 03:00 is stored and the dialog starts one with its settings."""
    ws.add_strategy(strategy_name=STRATEGY, interval="1m", get_signal=lambda symbol, when: None)
    stored = {"last_tick": REACHED, "last_bucket": None, "last_signal_id": None, "exchange_name": SESSION}
    qloop.run_until_complete(ws.persist.adapter("progress").write_value(f"{SYMBOL}:{STRATEGY}", stored))
    dialog = panel.open_paper_dialog()
    dialog.form.set_values({"strategy_name": STRATEGY, "symbol": SYMBOL, "source": "demo", "start": START, "days": 1})
    on_loop(qloop, lambda: qtbot.mouseClick(dialog.speed_buttons[600], Qt.MouseButton.LeftButton))
    on_loop(qloop, lambda: qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton))
    wait_until(qloop, lambda: panel.session_question is not None and panel.session_question.isVisible())
    question = panel.session_question
    assert question is not None
    assert question.text() == f"A paper session of {STRATEGY} on {SYMBOL} with these settings is stored."
    assert question.informativeText() == (
        "It reached 2024-01-01 03:00 UTC, 0 closed trades. Resume it where it stopped, or start a new session from "
        "the start (the stored one is forgotten)?"
    )
    assert question.defaultButton() is question.new_button
    return question


def test_resume_continues_the_stored_session_where_it_stopped(
    panel: LivePanel, question: PaperSessionQuestion, qloop: qasync.QEventLoop
) -> None:
    on_loop(qloop, question.resume_button.click)
    wait_until(qloop, lambda: panel.strategies.rowCount() == 1)
    wait_for_tick(qloop, lambda tick: tick > REACHED)
    assert panel.session_question is None
    (run,) = panel.strategies.runs()
    assert (run.mode, run.exchange_name) == ("paper", SESSION)


def test_start_new_forgets_the_stored_session_and_starts_at_the_start(
    panel: LivePanel, question: PaperSessionQuestion, qloop: qasync.QEventLoop
) -> None:
    on_loop(qloop, question.new_button.click)
    wait_until(qloop, lambda: panel.strategies.rowCount() == 1)
    assert START_MS <= wait_for_tick(qloop, lambda tick: tick != REACHED) < REACHED


def test_cancel_starts_nothing_and_keeps_the_stored_session(
    panel: LivePanel, question: PaperSessionQuestion, qloop: qasync.QEventLoop
) -> None:
    on_loop(qloop, question.cancel_button.click)
    wait_until(qloop, lambda: panel.session_question is None)
    assert panel.strategies.rowCount() == 0
    assert progress(qloop)["last_tick"] == REACHED

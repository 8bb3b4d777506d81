"""Driving the qasync loop from a test: wait for a condition, or call something from inside the running loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import qasync


def wait_until(qloop: qasync.QEventLoop, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run the loop until ``condition()`` holds; fail the test after ``timeout`` seconds."""

    async def poll() -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.01)

    qloop.run_until_complete(poll())


def on_loop(qloop: qasync.QEventLoop, action: Callable[[], Any]) -> Any:
    """Call ``action`` from inside the running loop, as a slot of the window is called."""

    async def call() -> Any:
        return action()

    return qloop.run_until_complete(call())


def pause(qloop: qasync.QEventLoop, seconds: float) -> None:
    """Let ``seconds`` pass with the loop running (paints and queued signals happen meanwhile).

    Not ``qtbot.wait``: that spins Qt's events outside the asyncio loop, so a run's coroutine woken meanwhile runs with
    no running loop and its next ``await`` on an asyncio primitive fails ("bound to a different event loop").
    """
    qloop.run_until_complete(asyncio.sleep(seconds))

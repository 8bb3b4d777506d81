"""A trader's command is written ahead like a tick's commands (SPEC §15.6): a paper run killed with SIGKILL right
after the store wrote a manual partial close (before anyone heard of it) and restarted holds that partial close
once, and ends with the same closed position as a run never killed.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("manual_crash_child.py")
HOLD_MS = 1709251200000 + 100 * 60_000


def run_child(state: Path, log: Path, mode: str) -> int:
    errors = log.with_suffix(".stderr")
    with errors.open("a", encoding="utf-8") as stderr:
        child = subprocess.run(
            [sys.executable, str(CHILD), str(state), str(log), mode],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            timeout=240,
            check=False,
        )
    assert child.stdout.startswith("READY"), errors.read_text(encoding="utf-8")[-3000:]
    return child.returncode


def closed(state: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT value FROM records WHERE entity = 'closed'").fetchall()
    return [json.loads(value) for (value,) in rows]


def logged(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_run_killed_right_after_storing_a_manual_partial_close_resumes_with_it_once(tmp_path: Path) -> None:
    reference_state, reference_log = tmp_path / "reference.sqlite3", tmp_path / "reference.log"
    assert run_child(reference_state, reference_log, "reference") == 0
    (reference,) = closed(reference_state)
    assert logged(reference_log) == [
        {"kind": "commit", "action": "partial-profit", "when": HOLD_MS + 1},
        {"kind": "outcome", "action": "close_part", "applied": True, "reason": None, "timestamp": HOLD_MS + 1},
    ]
    assert [(partial["percent"], partial["timestamp"]) for partial in reference["signal"]["partials"]] == [
        (40.0, HOLD_MS + 1)
    ]

    state, log = tmp_path / "state.sqlite3", tmp_path / "events.log"
    assert run_child(state, log, "kill") == -signal.SIGKILL
    # Killed after the write and before the event: nobody heard of the command, yet the store holds it.
    assert logged(log) == []
    assert run_child(state, log, "resume") == 0
    (resumed,) = closed(state)
    assert resumed == reference
    assert logged(log) == []

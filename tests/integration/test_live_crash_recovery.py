"""Acceptance 3 of issue 5: a live paper run on SQLite, killed with SIGKILL at 20 random moments and restarted.

The closed signals must equal those of an uninterrupted run, no signal may open twice, no partial level may fire
twice, and the store must never be corrupt.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("live_crash_child.py")
KILLS = 20


def start_child(state: Path, log: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(state), str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "READY"
    return child


def run_to_end(state: Path, log: Path) -> None:
    child = start_child(state, log)
    out, _ = child.communicate(timeout=240)
    assert child.returncode == 0
    assert out.strip() == "DONE"


def records(state: Path, entity: str) -> dict[str, Any]:
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT key, value FROM records WHERE entity = ?", (entity,)).fetchall()
    return {key: json.loads(value) for key, value in rows}


def closed_signals(state: Path) -> list[tuple[Any, ...]]:
    ended = records(state, "closed").values()
    return sorted(
        (
            item["signal"]["id"],
            item["action"],
            item.get("close_reason") or item.get("reason"),
            item["close_timestamp"],
            item["current_price"],
            item["pnl"]["pnl_percentage"] if item["action"] == "closed" else None,
        )
        for item in ended
    )


def assert_store_sound(state: Path) -> None:
    with sqlite3.connect(state) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        keys = [key for (key,) in db.execute("SELECT key FROM records")]
    assert not [key for key in keys if "#corrupt-" in key]


def logged(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_run_killed_twenty_times_ends_as_if_never_killed(tmp_path: Path) -> None:
    reference_state, reference_log = tmp_path / "reference.sqlite3", tmp_path / "reference.log"
    run_to_end(reference_state, reference_log)
    expected = closed_signals(reference_state)
    assert len(expected) >= 30
    reference_events = logged(reference_log)

    state, log = tmp_path / "state.sqlite3", tmp_path / "events.log"
    moments = random.Random(20261201)
    kills = 0
    while kills < KILLS:
        child = start_child(state, log)
        time.sleep(moments.uniform(0.02, 0.25))
        if child.poll() is not None:
            break
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        kills += 1
        assert_store_sound(state)
    assert kills == KILLS, "the run ended before it could be killed 20 times; lengthen it"
    run_to_end(state, log)
    assert_store_sound(state)

    assert closed_signals(state) == expected
    assert records(state, "signal") == {}
    assert records(state, "schedule") == {}
    events = logged(log)
    opened = [event["id"] for event in events if event["kind"] == "opened"]
    assert len(opened) == len(set(opened))
    assert set(opened) <= {event["id"] for event in reference_events if event["kind"] == "opened"}
    levels = [(event["id"], event["kind"], event["level"]) for event in events if event["kind"] != "opened"]
    assert len(levels) == len(set(levels))
    reference_levels = {(e["id"], e["kind"], e["level"]) for e in reference_events if e["kind"] != "opened"}
    assert set(levels) <= reference_levels

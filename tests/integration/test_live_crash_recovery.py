"""The live crash test (acceptance 3 of issue 5, acceptance 2 of issue 13, acceptance 4 of issue 14): a live paper
run on SQLite, killed with SIGKILL again and again and restarted, ends as if it had never been killed.

Some kills land at random moments of the run (``READY`` comes once the store is open, so none is wasted on the
start-up), some right after a fill is saved (between the position's write and the limit order's removal when those
are two writes) and some right after a close is saved, before it is announced. The closed signals must equal those
of an uninterrupted run, no signal may open twice, no partial level may fire twice, every saved close is announced
exactly once, and nothing is ever moved aside as corrupt.

The managed strategy (the peer's, its positions managed with every command) is killed at random moments, right
after a tick's commands changed the stored position (before their events), after a close is saved and after a pause
flip is saved: its closed positions must have the reference's entries and partial closes exactly (no command applied
twice, no partial close lost) and no command may be announced twice.
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
#: Every fourth kill lands at a random moment, then inside a fill, then at random, then between a close's save and
#: its announcement.
PLAN = ("random", "fill:1", "random", "close:1")
#: The managed strategy places no limit orders; its kills land inside commands and pauses instead.
MANAGED_PLAN = ("random", "command:1", "close:1", "random", "pause:1", "command:1")
#: Commands a restart must neither lose nor repeat (a breakeven already in place is accepted again, unchanged).
COUNTED_COMMANDS = ("partial-profit", "partial-loss", "average-buy")


def start_child(
    state: Path, log: Path, moment: str | None = None, days: int = 4, strategy: str = "mean-reversion"
) -> subprocess.Popen[str]:
    # The child's errors go to a file beside its log, so a child that fails says why.
    with errors_of(log).open("a", encoding="utf-8") as errors:
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(state), str(log), *([] if moment is None else [moment])],
            env={**os.environ, "CRASH_TEST_DAYS": str(days), "CRASH_TEST_STRATEGY": strategy},
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "READY"
    return child


def errors_of(log: Path) -> Path:
    return log.with_suffix(".stderr")


def last_errors(log: Path) -> str:
    """The end of what the children of ``log`` wrote to stderr."""
    return errors_of(log).read_text(encoding="utf-8")[-3000:]


def run_to_end(state: Path, log: Path, days: int, strategy: str) -> None:
    child = start_child(state, log, days=days, strategy=strategy)
    out, _ = child.communicate(timeout=240)
    assert child.returncode == 0, last_errors(log)
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
            json.dumps(item["signal"].get("entries")),
            json.dumps(item["signal"].get("partials")),
            item["signal"]["price_stop_loss"],
            item["signal"]["price_take_profit"],
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


def kill_again_and_again(
    tmp_path: Path, kills: int, days: int, strategy: str = "mean-reversion"
) -> list[tuple[Any, ...]]:
    plan = MANAGED_PLAN if strategy == "managed" else PLAN
    reference_state, reference_log = tmp_path / "reference.sqlite3", tmp_path / "reference.log"
    run_to_end(reference_state, reference_log, days, strategy)
    expected = closed_signals(reference_state)
    assert len(expected) >= 30
    reference_events = logged(reference_log)

    state, log = tmp_path / "state.sqlite3", tmp_path / "events.log"
    moments = random.Random(20261201)
    for kill in range(kills):
        planned = plan[kill % len(plan)]
        # Leaving each ``with`` waits for the child and closes its pipe (else it is left to the collector).
        if planned == "random":
            with start_child(state, log, days=days, strategy=strategy) as child:
                time.sleep(moments.uniform(0.02, 0.25))
                assert child.poll() is None, f"the run ended before kill {kill + 1} of {kills}; lengthen it"
                os.kill(child.pid, signal.SIGKILL)
        else:
            with start_child(state, log, planned, days, strategy) as child:
                child.wait(timeout=240)
            assert child.returncode == -signal.SIGKILL, (
                f"kill {kill + 1} of {kills} ({planned}) never came: {last_errors(log)}"
            )
        assert_store_sound(state)
    run_to_end(state, log, days, strategy)
    assert_store_sound(state)

    assert closed_signals(state) == expected
    assert records(state, "signal") == {}
    assert records(state, "schedule") == {}
    assert all(item["announced"] for item in records(state, "closed").values())
    events = logged(log)
    opened = [event["id"] for event in events if event["kind"] == "opened"]
    assert len(opened) == len(set(opened))
    assert set(opened) <= {event["id"] for event in reference_events if event["kind"] == "opened"}
    announced = sorted(event["id"] for event in events if event["kind"] in ("closed", "cancelled"))
    assert announced == sorted(records(state, "closed"))
    levels = [(event["id"], event["kind"], event["level"]) for event in events if event["kind"] in ("profit", "loss")]
    assert len(levels) == len(set(levels))
    reference_levels = {(e["id"], e["kind"], e["level"]) for e in reference_events if e["kind"] in ("profit", "loss")}
    assert set(levels) <= reference_levels
    commands = [
        (event["id"], event["action"], event["when"])
        for event in events
        if event["kind"] == "commit" and event["action"] in COUNTED_COMMANDS
    ]
    assert len(commands) == len(set(commands))
    reference_commands = {
        (event["id"], event["action"], event["when"]) for event in reference_events if event["kind"] == "commit"
    }
    assert set(commands) <= reference_commands
    return expected


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_run_killed_twelve_times_some_inside_fills_ends_as_if_never_killed(tmp_path: Path) -> None:
    kill_again_and_again(tmp_path, 12, days=4)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_storm_of_a_hundred_kills_moves_nothing_aside(tmp_path: Path) -> None:
    # 25 of the kills wait for a fill and 25 for a close: the replay must hold more of each than the kills use up.
    kill_again_and_again(tmp_path, 100, days=16)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_managed_run_killed_inside_its_commands_ends_as_if_never_killed(tmp_path: Path) -> None:
    closed = kill_again_and_again(tmp_path, 6, days=4, strategy="managed")
    assert sum(partials != "[]" for *_, partials, _, _ in closed) >= 10
    assert sum(reason == "closed" for _, _, reason, *_ in closed) >= 5


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_storm_of_a_hundred_kills_on_the_managed_strategy(tmp_path: Path) -> None:
    # A command or pause kill waits for the next one to come: the managed storm needs more market than the other.
    kill_again_and_again(tmp_path, 100, days=24, strategy="managed")

"""The README's 10-minute tour works as written: every command that needs no display, network or keyring is run.

Python blocks starting with ``# file: <name>`` are saved under that name first, as the reader is told to; bash blocks
marked ``# tour: not run`` (they touch the keyring) are skipped. Commands run from a scratch folder with the
repository's ``.venv`` and throwaway user folders, one after another, as a reader would type them.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOUR = (ROOT / "README.md").read_text(encoding="utf-8").split("## A 10-minute tour", 1)[1].split("\n## ", 1)[0]
BLOCKS = re.findall(r"```(bash|python)\n(.*?)\n```", TOUR, flags=re.DOTALL)
VENV_BIN = ROOT / ".venv" / "bin"


def test_the_tour_covers_the_six_steps() -> None:
    steps = re.findall(r"^\*\*(\d)\. (.+?)\*\*", TOUR, flags=re.MULTILINE)
    assert [title for _, title in steps] == [
        "Run a demo backtest.",
        "Read the chart.",
        "Write your own strategy file.",
        "Compare two strategies.",
        "Paper trade.",
        "Connect an exchange.",
    ]


@pytest.mark.skipif(not (VENV_BIN / "workstation").exists(), reason="needs the set-up command's .venv")
def test_every_headless_command_of_the_tour_works_as_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    environment = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    work = tmp_path / "tour"
    work.mkdir()
    ran: list[str] = []
    for kind, text in BLOCKS:
        if kind == "python":
            first, _, _ = text.partition("\n")
            if first.startswith("# file: "):
                (work / first.removeprefix("# file: ").strip()).write_text(text + "\n", encoding="utf-8")
            continue
        if "# tour: not run" in text:
            continue
        command = text.replace(".venv/bin/", f"{VENV_BIN}/")
        done = subprocess.run(
            ["bash", "-c", command], cwd=work, env=environment, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"{text}\n{done.stderr[-3000:]}"
        ran.append(text.split()[0].rsplit("/", 1)[-1] + " " + text.split()[1])
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert ran == [
        "workstation backtest",
        "workstation --screenshot",
        "workstation backtest",
        "python compare.py",
        "python paper.py",
    ]
    assert (work / "demo.html").stat().st_size > 10_000
    assert (work / "tour.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A reader follows the tour in the repository folder: nothing it leaves there may show up as a change to commit.
    made = sorted(str(path.relative_to(work)) for path in work.rglob("*") if path.is_file())
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *made], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    assert [name for name in made if name not in ignored] == []

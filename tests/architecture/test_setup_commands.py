"""README holds exactly two set-up commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)


def test_readme_has_one_install_and_run_command_and_one_test_command() -> None:
    commands = _setup_commands()
    assert len(commands) == 2
    install_and_run, run_tests = commands
    assert "pip install -e ." in install_and_run
    assert install_and_run.rstrip().endswith(".venv/bin/workstation --run-demo")
    assert run_tests.rstrip().endswith("pytest -n 2")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _setup_commands()[1] in ci_script.splitlines()

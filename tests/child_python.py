"""Running the workstation, or a snippet of Python, in a child interpreter: a fresh process as a user starts it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

#: The repository: the child imports ``workstation`` and ``ui`` from here, wherever pytest was started.
REPO = Path(__file__).resolve().parents[1]
#: What the ``workstation`` command runs.
WORKSTATION = "from ui.cli import main; raise SystemExit(main())"


def run_python(*args: str, env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` in the repository with ``env``; return its exit status and what it printed, as text.

    A non-zero exit is returned, not raised: the test asserts on it.
    """
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=dict(env), cwd=REPO, check=False
    )


def run_workstation(*args: str, env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the ``workstation`` command with ``args`` (see :func:`run_python`)."""
    return run_python("-c", WORKSTATION, *args, env=env, timeout=timeout)

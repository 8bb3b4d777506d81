"""The layer rule (DESIGN §3.1) and no import-time side effects (DESIGN §3.8), checked from outside the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import workstation

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Imports every workstation.* module with a sys.meta_path blocker in front of the widget and chart libraries;
# indirect imports (a dependency importing QtGui) are caught too, because the blocker sees every import.
LAYER_PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys

    BLOCKED = ("PySide6.QtWidgets", "PySide6.QtGui")

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "pyqtgraph" or name in BLOCKED or name.startswith(tuple(b + "." for b in BLOCKED)):
                raise ImportError(f"workstation/ must not import {name}")
            return None

    sys.meta_path.insert(0, Block())
    for extra in sys.argv[1:]:
        importlib.import_module(extra)
    import workstation
    names = ["workstation"]
    for module in pkgutil.walk_packages(workstation.__path__, "workstation."):
        importlib.import_module(module.name)
        names.append(module.name)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] == "pyqtgraph" or m.startswith(BLOCKED))
    print(json.dumps({"modules": names, "leaked": leaked}))
    """
)


def _run_probe(*extra_imports: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", LAYER_PROBE, *extra_imports],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_model_layer_imports_without_widgets() -> None:
    result = _run_probe()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["leaked"] == []
    modules = set(report["modules"])
    # The walk really covered the package (a vacuous walk would pass the check above).
    for expected in (
        "workstation.events",
        "workstation.config",
        "workstation.registry",
        "workstation.clients.exchange",
        "workstation.clients.strategy",
        "workstation.engine.backtest",
    ):
        assert expected in modules
    on_disk = {
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (PROJECT_ROOT / "workstation").rglob("*.py")
    }
    assert on_disk <= modules, sorted(on_disk - modules)


def test_the_blocker_catches_a_forbidden_import() -> None:
    # Proof that the probe can fail: importing a blocked module before the walk must make it exit non-zero.
    for forbidden in ("PySide6.QtWidgets", "PySide6.QtGui", "pyqtgraph"):
        result = _run_probe(forbidden)
        assert result.returncode != 0
        assert f"workstation/ must not import {forbidden}" in result.stderr


def test_ruff_banned_api_rule_passes_on_the_model_layer() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251", "workstation"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_banned_api_rule_is_configured_for_the_three_libraries(tmp_path: Path) -> None:
    # The rule only protects us if pyproject.toml bans the three modules: a file importing them must be flagged.
    offender = tmp_path / "workstation_offender.py"
    offender.write_text(
        "from PySide6.QtWidgets import QWidget\nfrom PySide6.QtGui import QColor\nimport pyqtgraph\n"
        "__all__ = ['QColor', 'QWidget', 'pyqtgraph']\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--config",
            str(PROJECT_ROOT / "pyproject.toml"),
            "--select",
            "TID251",
            "--output-format",
            "concise",
            str(offender),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    flagged = [line for line in result.stdout.splitlines() if "TID251" in line]
    assert len(flagged) == 3, result.stdout
    for name in ("PySide6.QtWidgets", "PySide6.QtGui", "pyqtgraph"):
        assert any(f"`{name}` is banned" in line for line in flagged), result.stdout


SIDE_EFFECT_PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, threading
    import workstation
    names = []
    for module in pkgutil.walk_packages(workstation.__path__, "workstation."):
        importlib.import_module(module.name)
        names.append(module.name)
    print(json.dumps({
        "threads": threading.active_count(),
        "thread_names": [t.name for t in threading.enumerate()],
        "modules": len(names),
    }))
    """
)


def test_importing_workstation_has_no_side_effects(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("XDG_") and key not in ("HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA")
    }
    env.update(
        {
            "HOME": str(home),
            "USERPROFILE": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_STATE_HOME": str(home / ".local" / "state"),
            "XDG_RUNTIME_DIR": str(home / "runtime"),
            "TMPDIR": str(home / "tmp"),
            "QT_QPA_PLATFORM": "offscreen",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", SIDE_EFFECT_PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["modules"] >= 20
    assert report["threads"] == 1, report["thread_names"]
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["cwd", "home"]


def test_workstation_is_imported_from_this_checkout() -> None:
    # The subprocess probes import the installed package: make sure that is the code under test.
    assert Path(workstation.__file__).resolve().parent == PROJECT_ROOT / "workstation"

"""The PyInstaller one-folder build: packaging/build.sh freezes the app, and the frozen binary runs the demo."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from workstation.cli import package_version

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "packaging" / "build.sh"
PYINSTALLER = ROOT / ".venv" / "bin" / "pyinstaller"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PYINSTALLER.exists(),
        reason=f"pyinstaller is not installed at {PYINSTALLER}: `.venv/bin/pip install 'pyinstaller>=6.5'`",
    ),
]


@pytest.fixture(scope="module")
def frozen_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the app with packaging/build.sh into a temporary dist directory; return the bundle's folder."""
    out = tmp_path_factory.mktemp("pyinstaller")
    env = {**os.environ, "DIST_DIR": str(out / "dist"), "WORK_DIR": str(out / "build")}
    built = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert built.returncode == 0, built.stderr[-4000:]
    bundle = out / "dist" / "workstation"
    # build.sh's last line is du's "<size>\t<bundle>".
    assert built.stdout.strip().splitlines()[-1].endswith(f"\t{bundle}")
    return bundle


def frozen_env(home: Path) -> dict[str, str]:
    """Return an environment whose platformdirs and QSettings paths all lie under ``home``, offscreen Qt."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XDG_", "PYTHON", "VIRTUAL_ENV"))}
    return {
        **env,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_STATE_HOME": str(home / "state"),
    }


def test_the_bundle_holds_the_binary_and_the_resources(frozen_app: Path) -> None:
    assert os.access(frozen_app / "workstation", os.X_OK)
    icon = frozen_app / "_internal" / "resources" / "workstation.svg"
    assert icon.read_bytes() == (ROOT / "resources" / "workstation.svg").read_bytes()


def test_the_frozen_binary_reports_the_installed_version(frozen_app: Path, tmp_path: Path) -> None:
    shown = subprocess.run(
        [str(frozen_app / "workstation"), "--version"],
        env=frozen_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"workstation {package_version()}"
    assert package_version() != "unknown"


def test_the_frozen_binary_runs_the_demo_and_saves_a_screenshot(frozen_app: Path, tmp_path: Path) -> None:
    shot = tmp_path / "out.png"

    ran = subprocess.run(
        [str(frozen_app / "workstation"), "--screenshot", str(shot), "--run-demo"],
        env=frozen_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    png = shot.read_bytes()
    assert png[:8] == PNG_SIGNATURE
    assert len(png) > 10_000
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 800
    assert height >= 600
    # A screenshot run leaves the user's state alone (issue 13, fault 10): its history and settings are scratch
    # ones, so nothing at all is written under the user's (here redirected) folders.
    assert not (tmp_path / "home").exists()

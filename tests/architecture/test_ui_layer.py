"""The view talks to the model only through its public API: ``import workstation as ws`` (DESIGN.md §1).

The one other public entry is the command line, ``workstation.cli``, which the composition root (``ui/app.py``)
hands the window to.
"""

from __future__ import annotations

import ast
from pathlib import Path

UI = Path(__file__).resolve().parents[2] / "ui"
PUBLIC_ENTRIES = frozenset({"workstation.cli"})


def deep_model_imports(source: str) -> list[str]:
    """Return every import of a ``workstation`` sub-module (``workstation.x``) in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("workstation.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("workstation."):
            found.append(str(node.module))
    return [name for name in found if name not in PUBLIC_ENTRIES]


def test_ui_imports_only_the_public_workstation_package() -> None:
    offenders = {
        str(path.relative_to(UI.parent)): imports
        for path in sorted(UI.rglob("*.py"))
        if (imports := deep_model_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_check_sees_both_import_forms() -> None:
    source = (
        "import workstation as ws\nfrom workstation import Backtest\n"
        "import workstation.events\nfrom workstation.reports import html\nfrom workstation.cli import main\n"
    )
    assert deep_model_imports(source) == ["workstation.events", "workstation.reports"]


def test_the_command_line_entry_loads_no_widgets() -> None:
    """``workstation backtest`` must run on a server without display libraries: widgets load with the window only."""
    import subprocess
    import sys

    probe = (
        "import sys, ui.cli; print(sorted(m for m in sys.modules if m.startswith(('PySide6.QtWidgets', 'pyqtgraph'))))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"

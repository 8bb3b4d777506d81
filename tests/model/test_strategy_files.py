"""Strategy files: load, reload, and all-or-nothing failures that keep the working version."""

from __future__ import annotations

from pathlib import Path

import pytest

import workstation as ws

GOOD = """
import workstation as ws

def get_signal(symbol, when):
    return None

ws.add_strategy(strategy_name="file-a", interval="5m", get_signal=get_signal, note="{note}")
ws.add_strategy(strategy_name="file-b", interval="15m", get_signal=get_signal)
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_returns_the_strategies_the_file_registered(tmp_path: Path) -> None:
    files = ws.StrategyFiles()
    path = write(tmp_path / "mine.py", GOOD.format(note="v1"))

    assert files.load(path) == ["file-a", "file-b"]
    assert [schema.strategy_name for schema in ws.list_strategies()] == ["file-a", "file-b"]
    assert files.registered_by(path) == ["file-a", "file-b"]


def test_reload_replaces_the_file_s_strategies_with_the_edited_ones(tmp_path: Path) -> None:
    files = ws.StrategyFiles()
    path = write(tmp_path / "mine.py", GOOD.format(note="v1"))
    files.load(path)
    write(path, GOOD.format(note="v2"))

    assert files.load(path) == ["file-a", "file-b"]
    assert [(s.strategy_name, s.note) for s in ws.list_strategies()] == [("file-a", "v2"), ("file-b", "")]


def test_a_syntax_error_names_file_and_line_and_keeps_the_working_version(tmp_path: Path) -> None:
    files = ws.StrategyFiles()
    path = write(tmp_path / "mine.py", GOOD.format(note="v1"))
    files.load(path)
    write(path, "import workstation as ws\n\ndef get_signal(symbol, when)\n    return None\n")

    with pytest.raises(ws.StrategyFileError) as raised:
        files.load(path)
    assert str(raised.value) == f"{path}: SyntaxError: expected ':' (line 3)"
    assert "SyntaxError" in raised.value.details
    assert [(s.strategy_name, s.note) for s in ws.list_strategies()] == [("file-a", "v1"), ("file-b", "")]
    assert files.registered_by(path) == ["file-a", "file-b"]


def test_an_exception_after_a_registration_undoes_that_registration(tmp_path: Path) -> None:
    files = ws.StrategyFiles()
    path = write(
        tmp_path / "half.py",
        "import workstation as ws\n"
        "ws.add_exchange(ws.make_demo_exchange())\n"
        "ws.add_strategy(strategy_name='half', interval='5m', get_signal=lambda s, w: None)\n"
        "raise RuntimeError('boom')\n",
    )

    with pytest.raises(ws.StrategyFileError, match=r"half\.py: RuntimeError: boom \(line 4\)$"):
        files.load(path)
    assert ws.list_strategies() == []
    assert ws.list_exchanges() == []


def test_a_file_that_registers_nothing_or_is_missing_is_refused(tmp_path: Path) -> None:
    files = ws.StrategyFiles()
    empty = write(tmp_path / "empty.py", "x = 1\n")
    with pytest.raises(ws.StrategyFileError, match=r"empty\.py: registered no strategy \(call ws.add_strategy in it\)"):
        files.load(empty)
    with pytest.raises(ws.StrategyFileError, match=r"nope\.py: not a file"):
        files.load(tmp_path / "nope.py")


def test_a_duplicate_name_of_another_source_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    ws.add_strategy(strategy_name="file-a", interval="1m", get_signal=lambda s, w: None, note="built-in")
    path = write(tmp_path / "mine.py", GOOD.format(note="v1"))

    with pytest.raises(ws.StrategyFileError, match='DuplicateSchemaError: strategy "file-a" already exists'):
        ws.StrategyFiles().load(path)
    assert [(s.strategy_name, s.note) for s in ws.list_strategies()] == [("file-a", "built-in")]

"""L11, JSON half: an interrupted write leaves the previous record and no temp file (SPEC §15.6)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fsync_recorder import record_fsyncs

from workstation import persist

KEY = "BTCUSDT:one-shot"
RECORD = "BTCUSDT%3Aone-shot.json"
REPO = Path(__file__).resolve().parents[2]


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_l11_a_write_interrupted_before_the_replace_keeps_the_previous_value_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = persist.JsonFileAdapter("signal", tmp_path)
    folder = tmp_path / "signal"
    asyncio.run(adapter.write_value(KEY, {"price_open": 42000.0}))
    interrupted: list[tuple[str, str, str]] = []
    real_replace = os.replace

    def crash_instead_of_replacing(source: Any, target: Any) -> None:
        interrupted.append((Path(source).name, Path(source).read_text(encoding="utf-8"), Path(target).name))
        raise OSError("power lost")

    monkeypatch.setattr(os, "replace", crash_instead_of_replacing)
    with pytest.raises(OSError, match=r"^power lost$"):
        asyncio.run(adapter.write_value(KEY, {"price_open": 41000.0}))

    assert len(interrupted) == 1
    temp_name, temp_text, target_name = interrupted[0]
    assert temp_name.startswith(f".{RECORD}.")
    assert temp_name.endswith(".tmp")
    assert temp_text == '{"price_open": 41000.0}'
    assert target_name == RECORD
    assert names(folder) == [RECORD]
    assert (folder / RECORD).read_text(encoding="utf-8") == '{"price_open": 42000.0}'
    assert asyncio.run(adapter.read_value(KEY)) == {"price_open": 42000.0}

    monkeypatch.setattr(os, "replace", real_replace)
    asyncio.run(adapter.write_value(KEY, {"price_open": 41000.0}))
    assert names(folder) == [RECORD]
    assert asyncio.run(adapter.read_value(KEY)) == {"price_open": 41000.0}


def test_a_write_whose_fsync_fails_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = persist.JsonFileAdapter("partial", tmp_path)
    asyncio.run(adapter.wait_for_init())

    def failing_fsync(handle: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    target = tmp_path / "partial" / "sig-1.json"
    with pytest.raises(OSError) as caught:
        asyncio.run(adapter.write_value("sig-1", {"profit_levels": [10]}))
    assert str(caught.value) == f"[Errno 5] Input/output error: '{target}'"
    assert names(tmp_path / "partial") == []


def test_l11_a_process_killed_between_fsync_and_replace_leaves_the_old_record_and_its_temp_is_cleaned(
    tmp_path: Path,
) -> None:
    script = textwrap.dedent(
        """
        import asyncio, os, sys
        from pathlib import Path
        from workstation.persist import JsonFileAdapter

        adapter = JsonFileAdapter("signal", Path(sys.argv[1]))

        async def main() -> None:
            await adapter.write_value("BTCUSDT:one-shot", {"v": 1})
            os.replace = lambda *args, **kwargs: os._exit(9)
            await adapter.write_value("BTCUSDT:one-shot", {"v": 2})

        asyncio.run(main())
        """
    )
    killed = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == 9, killed.stderr
    folder = tmp_path / "signal"
    left = names(folder)
    assert len(left) == 2
    assert left[1] == RECORD
    assert left[0].startswith(f".{RECORD}.")
    assert left[0].endswith(".tmp")
    assert (folder / left[0]).read_text(encoding="utf-8") == '{"v": 2}'

    adapter = persist.JsonFileAdapter("signal", tmp_path)

    async def restart() -> tuple[list[str], Any]:
        await adapter.wait_for_init()
        return await adapter.keys(), await adapter.read_value(KEY)

    assert asyncio.run(restart()) == ([KEY], {"v": 1})
    assert names(folder) == [RECORD]


@pytest.mark.skipif(os.name == "nt", reason="Windows cannot fsync a folder")
def test_writes_removals_and_moves_fsync_the_file_and_then_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = persist.JsonFileAdapter("signal", tmp_path)
    asyncio.run(adapter.wait_for_init())
    synced = record_fsyncs(monkeypatch)
    asyncio.run(adapter.write_value(KEY, {"v": 1}))
    assert synced == ["file", "folder"]
    asyncio.run(adapter.remove_value(KEY))
    assert synced == ["file", "folder", "folder"]
    (tmp_path / "signal" / RECORD).write_text("{", encoding="utf-8")
    with pytest.raises(KeyError):
        asyncio.run(adapter.read_value(KEY))
    assert synced == ["file", "folder", "folder", "folder"]

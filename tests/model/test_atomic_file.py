"""ws.write_text_atomically: the one way a file is replaced; a failure leaves the old file whole and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fsync_recorder import record_fsyncs

import workstation as ws
from workstation.atomic_file import open_text_atomically

OLD = "timestamp,close\r\n1,2.5\r\n"
REPO = Path(__file__).resolve().parents[2]


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "trades.csv"
    path.write_bytes(OLD.encode())
    return path


def test_the_text_replaces_the_file_exactly_as_given(target: Path) -> None:
    ws.write_text_atomically(target, "prix,€\r\nline two\n")
    assert target.read_bytes() == "prix,€\r\nline two\n".encode()
    assert names(target.parent) == ["trades.csv"]


def test_bytes_replace_the_file(target: Path) -> None:
    ws.write_bytes_atomically(target, b"\x89PNG\r\n\x1a\n")
    assert target.read_bytes() == b"\x89PNG\r\n\x1a\n"
    assert names(target.parent) == ["trades.csv"]


def test_a_failure_mid_write_leaves_the_old_file_whole_and_no_temporary_file(target: Path) -> None:
    # A lone surrogate cannot be encoded as UTF-8: the write fails after the first 200 kB went to the temporary file.
    with pytest.raises(UnicodeEncodeError):
        ws.write_text_atomically(target, "x" * 200_000 + "\ud800")
    assert target.read_bytes() == OLD.encode()
    assert names(target.parent) == ["trades.csv"]


def test_an_error_inside_a_streamed_write_leaves_the_old_file_whole_and_no_temporary_file(target: Path) -> None:
    with pytest.raises(RuntimeError, match=r"^export stopped$"), open_text_atomically(target) as stream:
        stream.write("timestamp,close\n" * 10_000)
        stream.flush()
        raise RuntimeError("export stopped")
    assert target.read_bytes() == OLD.encode()
    assert names(target.parent) == ["trades.csv"]


@pytest.mark.skipif(os.name == "nt", reason="RLIMIT_FSIZE is POSIX")
def test_a_disk_that_fills_mid_write_leaves_the_old_file_whole_and_names_it(target: Path) -> None:
    # The file size limit makes the kernel refuse a write past 64 kB, as a full disk would (EFBIG instead of ENOSPC).
    script = textwrap.dedent(
        """
        import resource, signal, sys
        from workstation.atomic_file import write_text_atomically

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        try:
            write_text_atomically(sys.argv[1], "1,2.5\\n" * 100_000)
        except OSError as error:
            print(type(error).__name__, error.errno, error.filename)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(target)], capture_output=True, text=True, timeout=120, cwd=REPO, check=False
    )
    assert (completed.returncode, completed.stderr) == (0, "")
    assert completed.stdout == f"OSError 27 {target}\n"
    assert target.read_bytes() == OLD.encode()
    assert names(target.parent) == ["trades.csv"]


def test_a_kill_before_the_rename_leaves_the_old_file_whole_and_only_a_hidden_temporary_file(target: Path) -> None:
    script = textwrap.dedent(
        """
        import os, sys
        from workstation.atomic_file import write_text_atomically

        os.replace = lambda *args, **kwargs: os._exit(9)
        write_text_atomically(sys.argv[1], "new")
        """
    )
    killed = subprocess.run(
        [sys.executable, "-c", script, str(target)], capture_output=True, text=True, timeout=120, cwd=REPO, check=False
    )
    assert killed.returncode == 9, killed.stderr
    temporary, kept = names(target.parent)
    assert kept == "trades.csv"
    assert temporary.startswith(".trades.csv.")
    assert temporary.endswith(".tmp")
    assert (target.parent / temporary).read_text(encoding="utf-8") == "new"
    assert target.read_bytes() == OLD.encode()


def test_a_failed_rename_names_the_target_not_the_temporary_file(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: object, _target: object) -> None:
        raise PermissionError(13, "Permission denied", str(source))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as caught:
        ws.write_text_atomically(target, "new")
    assert str(caught.value) == f"[Errno 13] Permission denied: '{target}'"
    assert target.read_bytes() == OLD.encode()
    assert names(target.parent) == ["trades.csv"]


def test_a_folder_is_refused_by_name_and_left_empty(tmp_path: Path) -> None:
    folder = tmp_path / "taken.csv"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as caught:
        ws.write_text_atomically(folder, "new")
    assert caught.value.filename == str(folder)
    assert names(tmp_path) == ["taken.csv"]
    assert names(folder) == []


def test_a_missing_folder_is_an_error_naming_the_file_unless_folders_are_to_be_made(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "backtest" / "r.md"
    with pytest.raises(FileNotFoundError) as caught:
        ws.write_text_atomically(target, "# Report")
    assert caught.value.filename == str(target)
    assert names(tmp_path) == []

    ws.write_text_atomically(target, "# Report", make_folders=True)
    assert target.read_text(encoding="utf-8") == "# Report"
    assert names(target.parent) == ["r.md"]


@pytest.mark.skipif(os.name == "nt", reason="Windows cannot fsync a folder")
def test_the_file_then_its_folder_are_synced_to_disk(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced = record_fsyncs(monkeypatch)
    ws.write_text_atomically(target, "new")
    assert synced == ["file", "folder"]

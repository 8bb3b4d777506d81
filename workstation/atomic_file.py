"""Replace a file atomically: a crash, a kill or a full disk leaves the old file or the new one, never half of one.

Every file the workstation writes for the user or for itself (reports, CSV exports, JSON state records,
screenshots) goes through here. The new content is written to a hidden temporary file beside the target (the same
filesystem, so the rename is atomic), flushed and fsynced, renamed over the target with ``os.replace``, and then the
folder is fsynced (POSIX) so the rename itself survives a power cut. On any failure the temporary file is removed
and the target is untouched. A process killed mid-write can leave its temporary file (``.<name>.<hex>.tmp``)
behind, never a damaged target.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TextIO

__all__ = ["open_text_atomically", "sync_folder", "write_bytes_atomically", "write_text_atomically"]

TEMPORARY_SUFFIX = ".tmp"


def write_text_atomically(path: str | os.PathLike[str], text: str, *, make_folders: bool = False) -> None:
    """Replace ``path`` with ``text`` (UTF-8, written exactly as given: no newline translation), atomically.

    Parameters
    ----------
    path
        The file to create or replace.
    text
        The whole new content.
    make_folders
        Create the missing parent folders first; otherwise a missing folder is an error.

    Raises
    ------
    OSError
        If the file cannot be written (``IsADirectoryError`` when ``path`` is a folder, ``FileNotFoundError`` for a
        missing folder, ``PermissionError``, a full disk, ...); the error names ``path``, which is left as it was.
    """
    with open_text_atomically(path, make_folders=make_folders) as stream:
        stream.write(text)


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes, *, make_folders: bool = False) -> None:
    """Replace ``path`` with ``data``, atomically; see :func:`write_text_atomically` for the parameters and errors."""
    with _replacing(Path(path), make_folders) as temporary, temporary.open("xb") as stream:
        stream.write(data)
        _flush_to_disk(stream)


@contextmanager
def open_text_atomically(path: str | os.PathLike[str], *, make_folders: bool = False) -> Iterator[TextIO]:
    """Yield a UTF-8 text stream whose content replaces ``path`` atomically when the block ends without an error.

    For content written piece by piece (a large export); :func:`write_text_atomically` for a string at hand. An
    exception inside the block leaves ``path`` untouched and no temporary file.
    """
    with _replacing(Path(path), make_folders) as temporary, temporary.open("x", encoding="utf-8", newline="") as stream:
        yield stream
        _flush_to_disk(stream)


def sync_folder(folder: Path) -> None:
    """Make a rename, creation or removal in ``folder`` durable; Windows has no folder handles to fsync."""
    if os.name == "nt":
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _flush_to_disk(stream: IO[Any]) -> None:
    stream.flush()
    os.fsync(stream.fileno())


@contextmanager
def _replacing(target: Path, make_folders: bool) -> Iterator[Path]:
    try:
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        if make_folders:
            target.parent.mkdir(parents=True, exist_ok=True)
        # open("x") rather than mkstemp: the file gets the user's usual permissions, like any file they save.
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}")
        try:
            yield temporary
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        sync_folder(target.parent)
    except OSError as exc:
        if exc.errno is None or exc.filename == str(target):
            raise
        # The failing call may name the temporary file, a parent folder or nothing; the caller asked for ``target``.
        raise type(exc)(exc.errno, exc.strerror, str(target)) from exc

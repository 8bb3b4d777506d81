"""JSON-file storage: one file per record, written atomically (SPEC §15.6).

A record lives in ``<base>/<entity>/<percent-encoded key>.json``, written with ``write_text_atomically`` (a crash
leaves the old file or the new one, never a partial one); the temporary file a killed write leaves behind is removed
at the next start. Files are touched only on the base folder's worker thread.

A change of several records (:func:`workstation.persist.commit`) is first written whole to a journal in
``<base>/.changes/``, then applied file by file, then the journal is deleted. The writer holds an OS lock on its
journal meanwhile; a journal nobody holds was left by a killed process and is applied again when the folder is
first used, so a kill leaves all of the change or none of it.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import quote, unquote

from workstation.atomic_file import TEMPORARY_SUFFIX, sync_folder, write_text_atomically
from workstation.persist.adapter import InitOnce, Operation, check_entity_name, decode, encode, path_error
from workstation.persist.corrupt import CORRUPT_MARK, CorruptRecordError, aside_name, report_corrupt
from workstation.persist.os_lock import try_lock, unlock
from workstation.persist.worker import SerialWorker

__all__ = ["JsonFileAdapter", "JsonFolder", "close_json_workers", "close_json_workers_now", "record_file_name"]

T = TypeVar("T")

_RECORD_SUFFIX = ".json"
_ASIDE_MARK = ".corrupt-"
_CHANGES = ".changes"

_folders: dict[Path, JsonFolder] = {}

logger = logging.getLogger("workstation.persist")


def record_file_name(key: str) -> str:
    """Return the file name of the record under ``key``."""
    return quote(key, safe="") + _RECORD_SUFFIX


def _record_key(file_name: str) -> str | None:
    """Return the key stored in ``file_name``, or None when the file is not a record this storage wrote."""
    if not file_name.endswith(_RECORD_SUFFIX):
        return None
    key = unquote(file_name[: -len(_RECORD_SUFFIX)])
    return key if record_file_name(key) == file_name else None


class JsonFolder:
    """One JSON state folder: the thread its files are touched on and its journal of multi-record changes."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.worker = SerialWorker("workstation-json-state")
        self._recovery = InitOnce()

    def __repr__(self) -> str:
        return f"JsonFolder({str(self.base_dir)!r})"

    @property
    def location(self) -> Path:
        """Return the state folder."""
        return self.base_dir

    @property
    def locks_folder(self) -> Path:
        """Return the folder of the pairs' lock files: ``.locks`` inside the state folder."""
        return self.base_dir / ".locks"

    async def recover(self) -> None:
        """Finish, once, every change a killed process journalled but did not finish applying."""
        await self._recovery.run(lambda: self.worker.run(self._finish_left_changes))

    async def apply(self, operations: Sequence[tuple[JsonFileAdapter, Operation]]) -> None:
        """Apply the operations of several entities' adapters of this folder as one journalled change."""
        await self.worker.run(lambda: self._apply([operation for _, operation in operations]))

    # Everything below runs on the worker thread.

    def _apply(self, operations: list[Operation]) -> None:
        changes = self.base_dir / _CHANGES
        changes.mkdir(exist_ok=True)
        journal = changes / f"{uuid.uuid4().hex}{_RECORD_SUFFIX}"
        with open(journal, "x", encoding="utf-8") as file:
            if not try_lock(file):
                raise OSError(f"cannot lock the new change journal {journal}")
            before: list[Operation] = []
            try:
                file.write(json.dumps([[item.entity, item.key, item.text] for item in operations]))
                file.flush()
                os.fsync(file.fileno())
                sync_folder(changes)
                before.extend(self._current(operation) for operation in operations)
                _apply_operations(self.base_dir, operations)
            except BaseException:
                # The caller keeps its state as before and tries again: undo what was applied, and a later recovery
                # must not replay it.
                with suppress(OSError):
                    _apply_operations(self.base_dir, before[::-1])
                _delete_journal(journal, file)
                raise
            _delete_journal(journal, file)
        sync_folder(changes)

    def _current(self, operation: Operation) -> Operation:
        """Return the operation that puts back what ``operation`` replaces."""
        path = self.base_dir / operation.entity / record_file_name(operation.key)
        try:
            return Operation(operation.entity, operation.key, path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Operation(operation.entity, operation.key, None)

    def _finish_left_changes(self) -> None:
        changes = self.base_dir / _CHANGES
        if not changes.is_dir():
            return
        for journal in sorted(changes.iterdir()):
            if not journal.is_file():
                continue
            with open(journal, "rb") as file:
                if not try_lock(file):
                    continue  # a live process is applying it
                operations = _journalled_operations(file.read())
                if operations is not None:
                    _apply_operations(self.base_dir, operations)
                _delete_journal(journal, file)
        sync_folder(changes)


def _delete_journal(journal: Path, file: IO[Any]) -> None:
    """Delete ``journal`` and release its lock; deleted while still locked where the system allows it (POSIX)."""
    if os.name == "nt":
        unlock(file)
        file.close()
        journal.unlink(missing_ok=True)
    else:
        journal.unlink(missing_ok=True)
        unlock(file)


def _journalled_operations(raw: bytes) -> list[Operation] | None:
    """Return a journal's operations, or None when the journal is incomplete (its writer died writing it)."""
    try:
        items = json.loads(raw.decode("utf-8"))
        return [Operation(check_entity_name(entity), str(key), text) for entity, key, text in items]
    except (ValueError, TypeError):
        return None


def _apply_operations(base_dir: Path, operations: list[Operation]) -> None:
    for operation in operations:
        folder = base_dir / operation.entity
        folder.mkdir(exist_ok=True)
        if operation.text is None:
            _remove_files(folder, [operation.key])
        else:
            _write_file(folder, operation.key, operation.text)


def json_folder(base_dir: Path) -> JsonFolder:
    """Return the shared :class:`JsonFolder` of ``base_dir``."""
    folder = _folders.get(base_dir)
    if folder is None:
        folder = _folders[base_dir] = JsonFolder(base_dir)
    return folder


async def close_json_workers() -> None:
    """Stop every JSON storage thread after its queued work; the next call on an adapter starts a new one."""
    while _folders:
        _, folder = _folders.popitem()
        await folder.worker.close()


def close_json_workers_now() -> None:
    """Stop every JSON storage thread like :func:`close_json_workers`, blocking instead of awaiting."""
    while _folders:
        _, folder = _folders.popitem()
        folder.worker.shutdown()


@dataclass(frozen=True)
class _Moved:
    """An undecodable record file that was renamed aside."""

    key: str
    aside: Path
    cause: ValueError


@dataclass(frozen=True)
class _Read:
    found: bool
    value: Any = None
    moved: _Moved | None = None


class JsonFileAdapter:
    """Store one entity's records as JSON files under ``<base_dir>/<entity>/``.

    Parameters
    ----------
    entity
        The kind of record (``"signal"``, ``"schedule"``, ``"risk"``, ``"partial"``); names the folder.
    base_dir
        The folder holding one sub-folder per entity; created at :meth:`wait_for_init`.
    """

    def __init__(self, entity: str, base_dir: str | Path) -> None:
        self.entity = check_entity_name(entity)
        self.base_dir = Path(base_dir).expanduser().absolute()
        self.folder = self.base_dir / self.entity
        self._init = InitOnce()
        #: Names in the folder that are not records (a folder, a name that is not UTF-8), reported once each.
        self._skipped: set[str] = set()

    def __repr__(self) -> str:
        return f"JsonFileAdapter({self.entity!r}, {str(self.base_dir)!r})"

    @property
    def store(self) -> JsonFolder:
        """Return where :func:`workstation.persist.commit` applies this adapter's part of a change: its folder."""
        return json_folder(self.base_dir)

    async def wait_for_init(self) -> None:
        """Create the folder, delete temp files a killed process left and move undecodable records aside."""
        await self._init.run(self._initialise)

    async def read_value(self, key: str) -> Any:
        """Return the value under ``key``; raise ``KeyError(key)`` when there is none or it was undecodable."""
        await self.wait_for_init()
        read = await self._run(lambda: self._read(key))
        if read.moved is not None:
            self._report(read.moved)
        if not read.found:
            raise KeyError(key)
        return read.value

    async def has_value(self, key: str) -> bool:
        """Tell whether a record file exists for ``key``."""
        await self.wait_for_init()
        return await self._run((self.folder / record_file_name(key)).is_file)

    async def write_value(self, key: str, value: Any) -> None:
        """Replace the record under ``key`` atomically; raise ``TypeError`` and write nothing for non-JSON."""
        text = encode(self.entity, key, value)
        await self.wait_for_init()
        await self._run(lambda: _write_file(self.folder, key, text))

    def write_value_now(self, key: str, value: Any) -> None:
        """Replace the record under ``key`` on the calling thread, after :meth:`wait_for_init`; blocks until written."""
        _write_file(self.folder, key, encode(self.entity, key, value))

    async def remove_value(self, key: str) -> None:
        """Delete the record file of ``key``; a missing one is fine."""
        await self.wait_for_init()
        await self._run(lambda: _remove_files(self.folder, [key]))

    async def remove_all(self) -> None:
        """Delete every record file except the moved-aside ones."""
        await self.wait_for_init()
        await self._run(lambda: _remove_files(self.folder, self._keys()))

    async def keys(self) -> list[str]:
        """Return every key except the moved-aside ones, sorted."""
        await self.wait_for_init()
        return await self._run(self._keys)

    async def values(self) -> list[Any]:
        """Return every value in key order, moving undecodable ones aside instead."""
        await self.wait_for_init()
        reads = await self._run(lambda: [self._read(key) for key in self._keys()])
        for read in reads:
            if read.moved is not None:
                self._report(read.moved)
        return [read.value for read in reads if read.found]

    async def corrupt_keys(self) -> list[str]:
        """Return the moved-aside records as ``<key>#corrupt-<stamp>``, sorted (renamed files included)."""
        await self.wait_for_init()
        return await self._run(self._corrupt_keys)

    async def _initialise(self) -> None:
        await self.store.recover()
        for moved in await self._run(self._prepare):
            self._report(moved)

    async def _run(self, job: Callable[[], T]) -> T:
        return await self.store.worker.run(job)

    def _report(self, moved: _Moved) -> None:
        error = CorruptRecordError(
            f'{self.entity} record "{moved.key}" in {self.folder} is not valid JSON ({moved.cause}); '
            f"the file was renamed {moved.aside.name}"
        )
        error.__cause__ = moved.cause
        report_corrupt(error)

    # Everything below runs on the worker thread.

    def _prepare(self) -> list[_Moved]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise path_error(f"create the {self.entity} state folder", self.folder, exc) from exc
        for name in self._file_names():
            if name.endswith(TEMPORARY_SUFFIX) and _RECORD_SUFFIX + "." in name:
                (self.folder / name).unlink(missing_ok=True)
        reads = [self._read(key) for key in self._record_keys()]
        return [read.moved for read in reads if read.moved is not None]

    def _file_names(self) -> list[str]:
        """Return the names of the folder's files, skipping (and reporting once) what this storage never writes."""
        names = []
        for path in self.folder.iterdir():
            name = path.name
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                self._skip(path, "its name is not UTF-8")
                continue
            if not path.is_file():
                self._skip(path, "it is a folder" if path.is_dir() else "it is not a regular file")
                continue
            names.append(name)
        return names

    def _skip(self, path: Path, why: str) -> None:
        if path.name in self._skipped:
            return
        self._skipped.add(path.name)
        shown = repr(os.fsencode(path))[2:-1]
        logger.warning("the %s state folder holds %s, not a record: %s; it is left alone", self.entity, shown, why)

    def _record_keys(self) -> list[str]:
        keys = (_record_key(name) for name in self._file_names())
        return sorted(key for key in keys if key is not None)

    def _keys(self) -> list[str]:
        return [key for key in self._record_keys() if CORRUPT_MARK not in key]

    def _corrupt_keys(self) -> list[str]:
        keys = [key for key in self._record_keys() if CORRUPT_MARK in key]
        for file_name in self._file_names():
            name, mark, stamp = file_name.rpartition(_ASIDE_MARK)
            key = _record_key(name) if mark else None
            if key is not None:
                keys.append(f"{key}{CORRUPT_MARK}{stamp}")
        return sorted(keys)

    def _read(self, key: str) -> _Read:
        path = self.folder / record_file_name(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return _Read(found=False)
        except IsADirectoryError:
            self._skip(path, "it is a folder")
            return _Read(found=False)
        try:
            return _Read(found=True, value=decode(raw))
        except ValueError as exc:
            return _Read(found=False, moved=self._move_aside(key, path, exc))

    def _move_aside(self, key: str, path: Path, cause: ValueError) -> _Moved:
        aside = self.folder / aside_name(path.name, _ASIDE_MARK, lambda name: (self.folder / name).exists())
        os.replace(path, aside)
        sync_folder(self.folder)
        return _Moved(key, aside, cause)


def _write_file(folder: Path, key: str, text: str) -> None:
    write_text_atomically(folder / record_file_name(key), text)


def _remove_files(folder: Path, keys: list[str]) -> None:
    for key in keys:
        (folder / record_file_name(key)).unlink(missing_ok=True)
    sync_folder(folder)

"""Strategy files: Python files that register strategies (and what they need) with ``ws.add_*`` calls.

Loading runs the file. Reloading first forgets the strategies the file registered last time, so the edited
versions can take their names. Either way it is all or nothing: a file that raises, or registers no strategy,
leaves every registry exactly as it was, so a broken edit never costs the trader the working version.

Given a list file (the window uses :func:`remembered_files_path`), the files a trader loaded are remembered there
and :meth:`StrategyFiles.load_remembered` loads them again at the next start: a strategy a stored live position
belongs to is then there to resume it.
"""

from __future__ import annotations

import json
import logging
import runpy
import traceback
from pathlib import Path
from typing import Any, Literal

import platformdirs

from workstation import registry
from workstation.atomic_file import write_text_atomically
from workstation.errors import WorkstationError

logger = logging.getLogger("workstation.strategy_files")

_REGISTRIES: tuple[registry.SchemaRegistry[Any], ...] = (
    registry.exchanges,
    registry.strategies,
    registry.frames,
    registry.risks,
    registry.sizings,
    registry.walkers,
    registry.optimizers,
)


StrategyFileProblem = Literal["missing", "raised", "empty"]


class StrategyFileError(WorkstationError):
    """A strategy file could not be loaded.

    ``problem`` says how: the file is ``missing``, it ``raised`` (``cause`` is the exception and the line in the
    file, ``details`` the traceback as text), or it registered no strategy (``empty``).
    """

    def __init__(self, path: Path, problem: StrategyFileProblem, cause: str = "", details: str = "") -> None:
        what = {
            "missing": "not a file",
            "raised": cause,
            "empty": "registered no strategy (call ws.add_strategy in it)",
        }
        super().__init__(f"{path}: {what[problem]}")
        self.path = path
        self.problem: StrategyFileProblem = problem
        self.cause = cause
        self.details = details


def remembered_files_path() -> Path:
    """Return the list of strategy files the window loads at start: ``<user data dir>/strategy_files.json``."""
    return Path(platformdirs.user_data_dir("workstation")) / "strategy_files.json"


class StrategyFiles:
    """Load and reload strategy files, remembering which strategies each one registered.

    Parameters
    ----------
    remembered
        A JSON file listing the files loaded so far, kept up to date by :meth:`load` and read by
        :meth:`load_remembered`; None (the default) remembers nothing across processes.
    """

    def __init__(self, remembered: Path | None = None) -> None:
        self._registered: dict[Path, list[str]] = {}
        self._remembered = remembered

    def remembered(self) -> list[Path]:
        """Return the files the list remembers, in the order they were first loaded ([] without a list)."""
        if self._remembered is None:
            return []
        try:
            paths = json.loads(self._remembered.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            logger.error(
                "the list of strategy files %s cannot be read (%s); no file is reloaded", self._remembered, exc
            )
            return []
        if not isinstance(paths, list) or not all(isinstance(path, str) for path in paths):
            logger.error("the strategy files list %s is not a list of paths; no file is reloaded", self._remembered)
            return []
        return [Path(path) for path in paths]

    def load_remembered(self) -> tuple[list[str], list[StrategyFileError]]:
        """Load every remembered file; return the strategies registered and the files that failed, each logged.

        A missing or broken file stays remembered (it may be fixed) and does not stop the others loading.
        """
        names: list[str] = []
        failures: list[StrategyFileError] = []
        for path in self.remembered():
            try:
                names.extend(self.load(path))
            except StrategyFileError as error:
                logger.error("strategy file not reloaded: %s", error)
                failures.append(error)
        return names, failures

    def registered_by(self, path: str | Path) -> list[str]:
        """Return the strategy names ``path`` registered when it was last loaded ([] if never)."""
        return list(self._registered.get(Path(path).resolve(), []))

    def load(self, path: str | Path) -> list[str]:
        """Run the file at ``path`` (again, if loaded before) and return the strategy names it registered.

        Parameters
        ----------
        path
            A Python file calling ``ws.add_strategy`` (and maybe ``ws.add_exchange``, ``ws.add_risk``, ...).

        Returns
        -------
        list of str
            The names of the strategies the file registered, in registration order.

        Raises
        ------
        StrategyFileError
            If the file is missing, raises (a syntax error included; the message names the file, the exception
            and the line), or registers no strategy. The registries are then as they were before the call.
        """
        resolved = Path(path).resolve()
        if not resolved.is_file():
            raise StrategyFileError(resolved, "missing")
        before: list[dict[str, Any]] = [kind.snapshot() for kind in _REGISTRIES]
        for name in self._registered.get(resolved, []):
            registry.strategies.remove(name)
        known = set(registry.strategies.snapshot())
        try:
            runpy.run_path(str(resolved), run_name=f"strategy_file_{resolved.stem}")
        except BaseException as exc:
            # sys.exit() or any BaseException in the file is the file's failure: it must not end the application.
            self._restore(before)
            raise StrategyFileError(resolved, "raised", _describe(resolved, exc), _traceback_text(exc)) from exc
        added = [name for name in registry.strategies.snapshot() if name not in known]
        if not added:
            self._restore(before)
            raise StrategyFileError(resolved, "empty")
        self._registered[resolved] = added
        self._remember(resolved)
        return added

    def _remember(self, path: Path) -> None:
        if self._remembered is None:
            return
        paths = self.remembered()
        if path in paths:
            return
        try:
            write_text_atomically(
                self._remembered, json.dumps([str(each) for each in [*paths, path]], indent=1), make_folders=True
            )
        except OSError as exc:
            logger.error("%s is loaded but cannot be remembered for the next start: %s", path, exc)

    @staticmethod
    def _restore(snapshots: list[dict[str, Any]]) -> None:
        for kind, snapshot in zip(_REGISTRIES, snapshots, strict=True):
            kind.restore(snapshot)


def _describe(path: Path, exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        # str() of a SyntaxError already carries "(file, line n)"; say it once, like the other errors.
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    # The innermost frame in the user's file, not in runpy or in the engine it called.
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if Path(frame.filename) == path]
    where = f" (line {lines[-1]})" if lines else ""
    return f"{type(exc).__name__}: {exc}{where}" if str(exc) else f"{type(exc).__name__}{where}"


def _traceback_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))

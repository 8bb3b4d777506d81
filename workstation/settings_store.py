"""The engine settings (``ws.Config``) and the desks' risk limits (``ws.RiskLimits``) kept across restarts.

They live in one JSON file in the user's config folder: the engine fields at the top, the risk limits under
``"risk_limits"``. Only the fields that differ from their defaults are written, so a default changed by a newer
version reaches the user unless they chose that field themselves. The file is replaced atomically
(``write_text_atomically``): a crash while saving leaves the previous settings, never half of a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypeVar

import platformdirs
from pydantic import BaseModel, ValidationError

from workstation.atomic_file import write_text_atomically
from workstation.config import Config, get_config
from workstation.desk.limits import RiskLimits
from workstation.json_object import json_object

_SETTINGS_FILE_NAME = "settings.json"
_Model = TypeVar("_Model", bound=BaseModel)
#: The key of the risk limits in the settings file (every other key is a field of ``Config``).
_RISK_LIMITS_KEY = "risk_limits"


class SettingsFileError(ValueError):
    """The settings file cannot be read or holds settings that do not validate; the message names the file."""


def settings_path() -> Path:
    """Return the file the settings are kept in (``settings.json`` in the user's config folder)."""
    return Path(platformdirs.user_config_dir("workstation")) / _SETTINGS_FILE_NAME


def load_settings(path: str | os.PathLike[str] | None = None) -> Config:
    """Return the settings saved in ``path`` (default :func:`settings_path`); the defaults when there is none.

    Raises
    ------
    SettingsFileError
        If the file cannot be read, is not a JSON object, or a setting in it is invalid (the message names the file,
        the field and the value).
    """
    target = settings_path() if path is None else Path(path)
    fields = _saved_fields(target)
    fields.pop(_RISK_LIMITS_KEY, None)
    return _validated(Config, fields, target)


def load_risk_limits(path: str | os.PathLike[str] | None = None) -> RiskLimits:
    """Return the risk limits saved in ``path`` (default :func:`settings_path`); no limits when there are none.

    Raises
    ------
    SettingsFileError
        If the file cannot be read, is not a JSON object, or a limit in it is invalid (the message names the file,
        the field and the value).
    """
    target = settings_path() if path is None else Path(path)
    limits = _saved_fields(target).get(_RISK_LIMITS_KEY, {})
    if not isinstance(limits, dict):
        raise SettingsFileError(f"settings file {str(target)!r}: {_RISK_LIMITS_KEY} = {limits!r} is not an object")
    return _validated(RiskLimits, limits, target, prefix=f"{_RISK_LIMITS_KEY}.")


def save_settings(config: Config | None = None, path: str | os.PathLike[str] | None = None) -> Path:
    """Save ``config`` (default: the settings in force) to ``path`` (default :func:`settings_path`); return the path.

    The risk limits saved in the file are kept.

    Raises
    ------
    OSError
        If the file cannot be written; the settings saved before stay as they were.
    """
    target = settings_path() if path is None else Path(path)
    chosen = (get_config() if config is None else config).model_dump(mode="json", exclude_defaults=True)
    limits = _kept_fields(target).get(_RISK_LIMITS_KEY)
    if limits:
        chosen[_RISK_LIMITS_KEY] = limits
    _write(target, chosen)
    return target


def save_risk_limits(limits: RiskLimits, path: str | os.PathLike[str] | None = None) -> Path:
    """Save ``limits`` to ``path`` (default :func:`settings_path`), keeping the engine settings saved there.

    Raises
    ------
    OSError
        If the file cannot be written; the settings saved before stay as they were.
    """
    target = settings_path() if path is None else Path(path)
    chosen = {key: value for key, value in _kept_fields(target).items() if key != _RISK_LIMITS_KEY}
    kept_limits = limits.model_dump(mode="json", exclude_defaults=True)
    if kept_limits:
        chosen[_RISK_LIMITS_KEY] = kept_limits
    _write(target, chosen)
    return target


def _saved_fields(target: Path) -> dict[str, object]:
    """Return the JSON object in ``target``; an empty one when there is no file."""
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsFileError(f"settings file {str(target)!r} cannot be read: {error}") from error
    try:
        return dict(json_object(text))
    except ValueError as error:
        raise SettingsFileError(f"settings file {str(target)!r} {error}") from error


def _kept_fields(target: Path) -> dict[str, object]:
    """Return what ``target`` holds before a save replaces part of it; nothing when it is unreadable.

    The start already told the user it is unreadable, and the save writes a whole, valid file again.
    """
    try:
        return _saved_fields(target)
    except SettingsFileError:
        return {}


def _validated(model: type[_Model], fields: object, target: Path, prefix: str = "") -> _Model:
    """Return ``fields`` validated as ``model``; a :class:`SettingsFileError` naming the file, field and value."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{prefix}{'.'.join(str(part) for part in problem['loc']) or 'settings'} = {problem.get('input')!r}: "
            f"{problem['msg']}"
            for problem in error.errors()
        )
        raise SettingsFileError(f"settings file {str(target)!r}: {problems}") from error


def _write(target: Path, fields: dict[str, object]) -> None:
    write_text_atomically(target, json.dumps(fields, indent=2, sort_keys=True) + "\n", make_folders=True)

"""The engine settings (``ws.Config``) kept across restarts, in one JSON file in the user's config folder.

Only the fields that differ from their defaults are written, so a default changed by a newer version reaches the
user unless they chose that field themselves. The file is replaced atomically (``write_text_atomically``): a crash
while saving leaves the previous settings, never half of a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs
from pydantic import ValidationError

from workstation.atomic_file import write_text_atomically
from workstation.config import Config, get_config
from workstation.json_object import json_object

_SETTINGS_FILE_NAME = "settings.json"


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
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsFileError(f"settings file {str(target)!r} cannot be read: {error}") from error
    try:
        fields = json_object(text)
    except ValueError as error:
        raise SettingsFileError(f"settings file {str(target)!r} {error}") from error
    try:
        return Config.model_validate(fields)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'settings'} = {problem.get('input')!r}: "
            f"{problem['msg']}"
            for problem in error.errors()
        )
        raise SettingsFileError(f"settings file {str(target)!r}: {problems}") from error


def save_settings(config: Config | None = None, path: str | os.PathLike[str] | None = None) -> Path:
    """Save ``config`` (default: the settings in force) to ``path`` (default :func:`settings_path`); return the path.

    Raises
    ------
    OSError
        If the file cannot be written; the settings saved before stay as they were.
    """
    target = settings_path() if path is None else Path(path)
    chosen = (get_config() if config is None else config).model_dump(mode="json", exclude_defaults=True)
    write_text_atomically(target, json.dumps(chosen, indent=2, sort_keys=True) + "\n", make_folders=True)
    return target

"""costlab's committed configuration: ``costlab.toml`` or ``[tool.costlab]`` in ``pyproject.toml``.

Found upward from the working directory, like ruff and pytest find theirs: in each folder a
``costlab.toml`` wins, then a ``pyproject.toml`` that has a ``[tool.costlab]`` table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costlab.errors import CostlabError, first_line

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["Config", "ConfigError", "find_config", "load_config"]


class ConfigError(CostlabError):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    """The costlab table of a config file, and where it came from (``prefix`` names keys in messages)."""

    path: Path | None
    data: dict[str, Any]
    prefix: str

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self.where(name)}: expected a table")
        return value

    def where(self, key: str) -> str:
        location = str(self.path) if self.path else "config"
        return f"{location}: [{self.prefix}{key}]"


def find_config(start: Path | None = None) -> Path | None:
    """The nearest ``costlab.toml``, or ``pyproject.toml`` with ``[tool.costlab]``, at or above ``start``.

    A ``pyproject.toml`` costlab cannot read (not UTF-8, not TOML, a ``tool`` that is not a table) is
    another tool's business and is passed over on the way up; a broken ``costlab.toml`` is an error.
    """
    folder = (start or Path.cwd()).resolve()
    for directory in (folder, *folder.parents):
        candidate = directory / "costlab.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                tool = _read(pyproject).get("tool", {})
            except ConfigError:
                continue
            if isinstance(tool, dict) and "costlab" in tool:
                return pyproject
    return None


def load_config(path: Path | None = None, start: Path | None = None) -> Config:
    """Load ``path`` (or the one :func:`find_config` finds); an empty Config when there is none."""
    if path is None:
        path = find_config(start)
        if path is None:
            return Config(None, {}, "")
    elif not path.is_file():
        raise ConfigError(f"no such config file: {path}")
    data = _read(path)
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: [tool] must be a table, not {type(tool).__name__}")
        costlab = tool.get("costlab", {})
        if not isinstance(costlab, dict):
            raise ConfigError(f"{path}: [tool.costlab] must be a table, not {type(costlab).__name__}")
        return Config(path, costlab, "tool.costlab.")
    return Config(path, data, "")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({first_line(err)})") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}): TOML files are UTF-8") from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror or err}") from None

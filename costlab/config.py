"""costlab's committed configuration: ``costlab.toml`` or ``[tool.costlab]`` in ``pyproject.toml``.

Found upward from the working directory, like ruff and pytest find theirs: in each folder a
``costlab.toml`` wins, then a ``pyproject.toml`` that has a ``[tool.costlab]`` table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costlab.errors import CostlabError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["ConfigError", "Config", "find_config", "load_config"]


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
    """The nearest ``costlab.toml``, or ``pyproject.toml`` with ``[tool.costlab]``, at or above ``start``."""
    folder = (start or Path.cwd()).resolve()
    for directory in (folder, *folder.parents):
        candidate = directory / "costlab.toml"
        if candidate.is_file():
            return candidate
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file() and "costlab" in _read(pyproject).get("tool", {}):
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
        costlab = data.get("tool", {}).get("costlab", {})
        return Config(path, costlab if isinstance(costlab, dict) else {}, "tool.costlab.")
    return Config(path, data, "")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None

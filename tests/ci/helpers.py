"""Shared by the CI gate's tests: a config written into a temporary folder, and the tiny network's totals."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from costlab.ci.budgets import Budget, load_budgets
from costlab.ci.check import evaluate
from costlab.config import ConfigError, load_config
from tests.conftest import TINY_NET

TINY = TINY_NET
# tests/models/tiny_net.py at 1x3x32x32 (tests/cli/test_cli.py has the arithmetic):
#   params 224 + 1,168 = 1,392;  MACs 221,184 + 1,179,648 = 1,400,832
#   FLOPs 450,560 + 8,192 + 2,375,680 = 2,834,432;  bytes accessed 45,952 + 65,536 + 102,976 = 214,464 B
TINY_TOTALS = {"params": 1_392, "macs": 1_400_832, "flops": 2_834_432, "bytes_accessed": 214_464}


def write_config(folder: Path, body: str, name: str = "costlab.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body).replace("TINY", TINY.as_posix()), encoding="utf-8")
    return path


def budgets_of(folder: Path, body: str, name: str = "costlab.toml") -> list[Budget]:
    return load_budgets(load_config(write_config(folder, body, name)))


def config_error(folder: Path, body: str, name: str = "costlab.toml") -> str:
    with pytest.raises(ConfigError) as caught:
        budgets_of(folder, body, name)
    return str(caught.value)


def check(folder: Path, body: str):
    config = load_config(write_config(folder, body))
    return evaluate(load_budgets(config), config)



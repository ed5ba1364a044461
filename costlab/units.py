"""Every number, shape and duration costlab prints or reads, formatted and parsed in one place.

Decimal (SI) prefixes throughout, as papers and torchvision print them: ``3.50 M`` params,
``300.8 M`` MACs, ``14.2 MB``. Shapes are written two ways: ``1×3×224×224`` in tables and prose,
``1x3x224x224`` where the text is something a user can type back (``--input``, CSV cells).
Quantities read from configs and options carry their unit: ``"350M"``, ``"12 MB"``, ``"8 ms"``, ``"5%"``.

This module imports nothing beyond the standard library, so every layer may use it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from costlab.errors import CostlabError

__all__ = [
    "QUANTITY_KINDS",
    "QuantityError",
    "age",
    "as_number",
    "binary_bytes",
    "compact",
    "compact_duration",
    "duration",
    "exact",
    "finite_number",
    "format_delta",
    "format_quantity",
    "human",
    "parse_quantity",
    "shape",
    "shape_text",
    "shapes_text",
]

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def human(value: float, unit: str = "") -> str:
    """Scale ``value`` to K/M/G/T and keep three significant digits (four from 100 up).

    >>> human(3_504_872), human(300_774_272), human(14_218_000, "B"), human(512)
    ('3.50 M', '300.8 M', '14.2 MB', '512')
    """
    magnitude = abs(value)
    for scale, prefix in _PREFIXES:
        if magnitude >= scale:
            return f"{_digits(value / scale)} {prefix}{unit}"
    if float(value).is_integer():
        return f"{int(value)}{' ' + unit if unit else ''}"
    return f"{_digits(value)}{' ' + unit if unit else ''}"


def binary_bytes(count: float) -> str:
    """A capacity in binary units, as caches are sold: ``32768`` → ``32 KiB``, ``3 · 2**19`` → ``1.5 MiB``.

    >>> binary_bytes(32 * 1024), binary_bytes(512 * 1024), binary_bytes(32 * 2**20), binary_bytes(100)
    ('32 KiB', '512 KiB', '32 MiB', '100 B')
    """
    for power, prefix in ((3, "GiB"), (2, "MiB"), (1, "KiB")):
        scale = 1024**power
        if abs(count) >= scale:
            return f"{count / scale:.3g} {prefix}"
    return f"{count:.0f} B"


def age(seconds: float) -> str:
    """How long ago, roughly: ``30`` → ``under a minute ago``, ``600`` → ``10 min ago``,
    ``3 · 3600`` → ``3 h ago``, ``5 · 86400`` → ``5 days ago`` (a time in the future counts as now)."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "under a minute ago"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600:.0f} h ago"
    return f"{seconds // 86400:.0f} days ago"


def _digits(scaled: float) -> str:
    return f"{scaled:.2f}" if abs(scaled) < 10 else f"{scaled:.1f}"


def shape(dims: Sequence[int] | None) -> str:
    """``(1, 32, 112, 112)`` → ``1×32×112×112`` (for tables and prose); None → ``""``."""
    if dims is None:
        return ""
    return "×".join(str(d) for d in dims)


def shape_text(dims: Sequence[int] | None) -> str:
    """``(1, 3, 224, 224)`` → ``1x3x224x224``: the form ``--input`` takes (and CSV cells hold)."""
    if dims is None:
        return ""
    return "x".join(str(d) for d in dims)


def shapes_text(shapes: Iterable[Sequence[int]], separator: str = ", ") -> str:
    """Several shapes in the ``--input`` form: ``1x3x224x224, 1x10`` (``separator=","``: typeable back)."""
    return separator.join(shape_text(s) for s in shapes)


def duration(ms: float) -> str:
    """A time the way :func:`human` writes a count: three significant digits, four from 100 up.

    >>> duration(0.0123), duration(1.0), duration(11), duration(123.45), duration(1234)
    ('12.3 µs', '1.00 ms', '11.0 ms', '123.5 ms', '1.23 s')
    """
    if abs(ms) >= 1000:
        return f"{_digits(ms / 1000)} s"
    if abs(ms) >= 1 or ms == 0:
        return f"{_digits(ms)} ms"
    return f"{_digits(ms * 1000)} µs"


def compact(value: float, unit: str = "") -> str:
    """A figure's tick label, no trailing zeros: ``5e7`` → ``50 M``, ``2e9, "B"`` → ``2 GB``, ``1e15`` → ``1 P``."""
    for scale, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:g} {prefix}{unit}"
    return f"{value:g} {unit}".strip()


def compact_duration(ms: float) -> str:
    """A figure's tick label for a time: ``50`` → ``50 ms``, ``0.2`` → ``200 µs`` (nothing for 0 or less)."""
    if ms <= 0:
        return ""
    return f"{ms:g} ms" if ms >= 1 else f"{ms * 1000:g} µs"


# ------------------------------------------------------------------------------------------------
# Quantities with units (configs, budgets, --fail-over)
# ------------------------------------------------------------------------------------------------

QUANTITY_KINDS = ("count", "bytes", "ms", "percent")
"""What a number measures. :func:`parse_quantity` returns counts and bytes as they are,
times in milliseconds, and percentages as fractions (``"5%"`` → 0.05)."""

_K, _M, _G, _T = (Decimal(10) ** e for e in (3, 6, 9, 12))
_SCALES: dict[str, dict[str, Decimal]] = {
    "count": {"": Decimal(1), "k": _K, "K": _K, "M": _M, "G": _G, "T": _T},
    "bytes": {"": Decimal(1), "B": Decimal(1), "K": _K, "k": _K, "KB": _K, "kB": _K, "M": _M, "MB": _M,
              "G": _G, "GB": _G, "T": _T, "TB": _T,
              "KiB": Decimal(2) ** 10, "MiB": Decimal(2) ** 20, "GiB": Decimal(2) ** 30, "TiB": Decimal(2) ** 40},
    "ms": {"": Decimal(1), "ms": Decimal(1), "s": Decimal(1000), "us": Decimal("0.001"), "µs": Decimal("0.001"),
           "ns": Decimal("0.000001")},
    "percent": {"": Decimal(1), "%": Decimal(1)},
}
_WHAT = {"count": "a count", "bytes": "a size in bytes", "ms": "a time", "percent": "a percentage"}
_EXAMPLE = {"count": '"350M"', "bytes": '"12 MB"', "ms": '"8 ms"', "percent": '"5%"'}
_QUANTITY = re.compile(r"\s*(?P<number>[+-]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[^\s\d.+-]*)\s*")


_LARGEST = Decimal(10) ** 30
"""Above this no count, size, time or share is meant: ``"1e999"`` would be a limit that never fails."""


class QuantityError(CostlabError):
    """A number with a unit that cannot be read; the message says what to write instead."""


def parse_quantity(text: str | int | float, kind: str) -> float:
    """Read a number with its unit: counts and bytes as they are, times in ms, percentages as fractions.

    ``kind`` is one of :data:`QUANTITY_KINDS`. Prefixes are decimal (SI), as costlab prints them;
    ``KiB``/``MiB``/``GiB`` are binary. A plain number is taken in the kind's base unit (a count,
    bytes, milliseconds, percent).

    >>> parse_quantity("350M", "count"), parse_quantity("12 MB", "bytes"), parse_quantity("1.5 s", "ms")
    (350000000.0, 12000000.0, 1500.0)
    >>> parse_quantity("5%", "percent"), parse_quantity(7, "percent")
    (0.05, 0.07)
    """
    if kind not in _SCALES:
        raise ValueError(f"unknown quantity kind {kind!r}: one of {', '.join(QUANTITY_KINDS)}")
    shown = f'"{text}"' if isinstance(text, str) else repr(text)
    hint = f"{shown} is not {_WHAT[kind]}; write e.g. {_EXAMPLE[kind]}"
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise QuantityError(hint)
    if isinstance(text, (int, float)):
        if isinstance(text, float) and not math.isfinite(text):
            raise QuantityError(hint)
        number, unit = Decimal(str(text)), ""
    else:
        match = _QUANTITY.fullmatch(text)
        if match is None:
            raise QuantityError(hint)
        try:
            number = Decimal(match["number"].replace("_", ""))
        except InvalidOperation:
            raise QuantityError(hint) from None
        unit = match["unit"]
        if unit not in _SCALES[kind]:
            other = next((k for k in QUANTITY_KINDS if k != kind and unit and unit in _SCALES[k]), None)
            if other is not None:
                raise QuantityError(f"{shown} is {_WHAT[other]}, not {_WHAT[kind]}; write e.g. {_EXAMPLE[kind]}")
            raise QuantityError(hint)
    if number < 0:
        raise QuantityError(f"{shown} is negative; a limit is 0 or more, e.g. {_EXAMPLE[kind]}")
    value = number * _SCALES[kind][unit]
    if kind == "percent":
        value /= 100
    if not math.isfinite(float(value)) or value > _LARGEST:
        raise QuantityError(f"{shown} is too large to be {_WHAT[kind]} (a limit that can never be reached checks nothing)")
    return float(value)


def format_quantity(value: float, unit: str = "") -> str:
    """A measured value or a limit, formatted exactly as tables print numbers (one way everywhere):
    ``300e6`` → ``300.0 M``, ``12e6, "B"`` → ``12.0 MB``, ``8.25, "ms"`` → ``8.25 ms``, a count of findings whole."""
    if unit == "ms":
        return duration(value)
    if unit == "findings":
        return f"{value:.0f}"
    return human(value, unit)


def as_number(value: float) -> int | float:
    """An integral float as an int (JSON says ``300774272``, never ``300774272.0``), anything else as it is."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**63 else value


def format_delta(fraction: float) -> str:
    """``0.0613`` → ``+6.1%``, ``-0.03`` → ``-3.0%``, ``0`` → ``+0.0%``."""
    return f"{fraction * 100:+.1f}%"


def finite_number(value: object) -> bool:
    """A real int or float that is finite (not a bool, not NaN or ±inf)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def exact(value: int, sign: bool = False) -> str:
    """A count to the last unit, for arithmetic a reader checks: ``314,193,216``; ``sign``: ``+13,356,224``, ``-1,000``."""
    return f"{value:+,}" if sign else f"{value:,}"

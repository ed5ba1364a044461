"""Human-readable numbers: ``3.50 M``, ``300.8 M``, ``14.2 MB``. Decimal (SI) prefixes throughout."""

from __future__ import annotations

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def human(value: float, unit: str = "") -> str:
    """Scale ``value`` to K/M/G/T and keep three significant digits (four from 100 up).

    >>> human(3_504_872), human(300_774_272), human(14_218_000, "B"), human(512)
    ('3.50 M', '300.8 M', '14.2 MB', '512')
    """
    magnitude = abs(value)
    for scale, prefix in _PREFIXES:
        if magnitude >= scale:
            scaled = value / scale
            return f"{_digits(scaled)} {prefix}{unit}"
    if float(value).is_integer():
        return f"{int(value)}{' ' + unit if unit else ''}"
    return f"{_digits(value)}{' ' + unit if unit else ''}"


def _digits(scaled: float) -> str:
    return f"{scaled:.2f}" if abs(scaled) < 10 else f"{scaled:.1f}"


def shape(dims: tuple[int, ...] | list[int] | None) -> str:
    """``(1, 32, 112, 112)`` → ``1×32×112×112``; several shapes are joined by commas."""
    if dims is None:
        return ""
    return "×".join(str(d) for d in dims)
